"""The report's dispatch tables: each target's name -> what renders it and writes its files.

`markdown_renderers` maps every Markdown table target to a function returning its text;
`file_writers` maps each chosen target (tables, sweeps, figures, the leaderboard) to a function
that writes its files and returns their paths, in the order `repbench report` writes them. A figure
that two targets use (Figure 5 and Figure 1 are also embedded in the leaderboard) is drawn once per
report, and only the forms the chosen targets need are rendered. Which targets are chosen, and
whether they are valid, is `repbench.report.build_report`'s.
"""
from __future__ import annotations

import sys
from functools import cache, partial
from pathlib import Path
from typing import Any, Callable, Collection

from repbench.pipeline.targets import FIGURE_FORMATS, FIGURE_STEMS, LATER_TABLE, LEADERBOARD, NTIRE_TABLES, PUBLISHED_TABLE, SWEEPS, target_files
from repbench.report import ntire
from repbench.report.bn import bn_runs, fig5_absence
from repbench.report.context import ReportContext
from repbench.report.figures import figure_bn, figure_bytes, figure_curves, figure_svg_text, figure_tradeoff, inline_svg, save_figure, write_atomic
from repbench.report.leaderboard import render_leaderboard
from repbench.report.plotting import matplotlib_pyplot
from repbench.report.tables import ABLATIONS, render_ablation, render_later, render_published, render_table2, render_table3


def markdown_renderers(ctx: ReportContext) -> dict[str, Callable[[], str]]:
    """Every Markdown table target of `ctx` -> its renderer, in the order they are written. The three NTIRE
    tables read one collection of the records (`ntire.collect`), made when the first of them renders."""
    collected = cache(partial(ntire.collect, ctx))
    return {
        "table1": partial(render_ablation, ctx, ABLATIONS["table1"]),
        "table2": partial(render_table2, ctx),
        "table3": partial(render_table3, ctx),
        **{name: partial(render_ablation, ctx, spec) for name, spec in ABLATIONS.items() if name != "table1"},
        PUBLISHED_TABLE: partial(render_published, ctx),
        LATER_TABLE: partial(render_later, ctx),
        **{name: (lambda name=name: ntire.RENDERERS[name](ctx, collected())) for name in NTIRE_TABLES},
    }


def _files(out: Path, stem: str, files: dict[str, bytes]) -> list[Path]:
    return [write_atomic(out / f"{stem}{ext}", files[ext]) for ext in FIGURE_FORMATS]


def _sweep(ctx: ReportContext, out: Path, sweep: str) -> list[Path]:
    from repbench.report.sweep import render_sweep

    text, fig = render_sweep(ctx, sweep)
    written = [write_atomic(out / target_files(sweep)[0], text)]
    written += save_figure(fig, out / sweep)
    matplotlib_pyplot().close(fig)
    return written


def file_writers(ctx: ReportContext, out: Path, targets: Collection[str]) -> dict[str, Callable[[], list[Path]]]:
    """Each chosen target -> a function writing its files into `out` and returning them, in the order they are written."""
    bns = cache(partial(bn_runs, ctx))
    fig5 = cache(lambda: figure_bn(bns()) if bns() else {})

    @cache
    def fig1() -> dict[str, Any]:
        """Figure 1 drawn once: its files where `fig1` is chosen, its inline <svg> where the leaderboard is."""
        fig = figure_tradeoff(ctx)
        drawn = {**(figure_bytes(fig) if "fig1" in targets else {}),
                 "inline": figure_svg_text(fig) if LEADERBOARD in targets else ""}
        matplotlib_pyplot().close(fig)
        return drawn

    def write_fig5() -> list[Path]:
        if not fig5():
            print(f"repbench report: fig5 skipped: {fig5_absence(ctx, bns())}", file=sys.stderr)
            return []
        return _files(out, FIGURE_STEMS["fig5"], fig5())

    def write_leaderboard() -> list[Path]:
        page, csv_text = render_leaderboard(ctx, fig1()["inline"], inline_svg(fig5()[".svg"]) if fig5() else "")
        html_name, csv_name = target_files(LEADERBOARD)
        return [write_atomic(out / html_name, page), write_atomic(out / csv_name, csv_text)]

    def write_table(name: str, render: Callable[[], str]) -> list[Path]:
        return [write_atomic(out / target_files(name)[0], render())]

    def write_fig6() -> list[Path]:
        fig = figure_curves(ctx)
        files = save_figure(fig, out / FIGURE_STEMS["fig6"])
        matplotlib_pyplot().close(fig)
        return files

    writers = {
        **{name: partial(write_table, name, render) for name, render in markdown_renderers(ctx).items()},
        **{sweep: partial(_sweep, ctx, out, sweep) for sweep in SWEEPS},
        "fig5": write_fig5,
        "fig1": lambda: _files(out, FIGURE_STEMS["fig1"], fig1()),
        LEADERBOARD: write_leaderboard,
        "fig6": write_fig6,
    }
    return {name: write for name, write in writers.items() if name in targets}
