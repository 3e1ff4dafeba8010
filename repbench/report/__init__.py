"""Run folders -> one tidy table -> the paper's Markdown tables, figures and a leaderboard page.

Data flow (every step is a plain function, testable on its own):

    runs.load_runs(runs_root)   every run folder: train.json, measure.json, eval/*.json, metrics.csv, bn/
    runs.tidy_frame(runs)       one row per run x test set, raw numbers only (ints, seconds, dB)
    runs.wide_frame(tidy)       one row per run, `psnr_y_<set>` / `ssim_y_<set>` / `psnr_rgb_<set>` columns
    seeds.aggregate(wide)       one row per base run: seed runs `<id>-seed<k>` folded into mean, std, n
    checks.check_results        under-trained runs (below bicubic, size inversions, still improving): the † marks
    tables.render_*             Tables 1-7: Markdown via pandas + tabulate, the paper's numbers and deltas beside ours
    ntire.render                the NTIRE 2022 companion paper's Tables 2, 3 and 5
    tables.render_later         DBB, OREPA and Conv3XC beside Table 2's plain, ECBSR and RepSR runs (later.md)
    sweep.render_sweep          a budget sweep: ranking per budget, crossings, time to PSNR, and its figure
    figures.figure_*            matplotlib (Agg), PNG + SVG; Figure 5 from the BN runs' diagnostics (see `bn`)
    leaderboard.render_leaderboard  one self-contained HTML page (jinja2 template) + a raw CSV

Every table shows the nearest and bicubic floors (`nearest-x<s>/`, `bicubic-x<s>/` eval folders) in
the channel of the rows beside them. The other modules hold what these share: `cells` (spread, tie
and † cells), `values` (number coercion, test-set and method names),
`references` (the published numbers, repbench/references/*.yaml), `markdown` (cell formatting and
table layout), `plotting` / `labels` / `hover` (the figures' colours and markers, non-overlapping point labels,
SVG hover titles), `context` (ReportContext: what every renderer reads) and `bn` (the runs with BatchNorm
and their `repbench bn-diagnose` results, for Table 1, Figure 5 and the leaderboard).

Numbers stay raw until a renderer formats them. Every file is written atomically (temp file +
rename), so an interrupted report never leaves a half-written table for the workflow to trust.
"""
from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from repbench.errors import RepbenchError
from repbench.report import ntire
from repbench.report import checks, seeds
from repbench.report.bn import BnRun, bn_runs, fig5_absence, fig5_profiles
from repbench.report.context import ReportContext, build_context
from repbench.report.figures import (
    save_figure,
    figure_bn,
    figure_curves,
    figure_svg_text,
    figure_tradeoff,
    inline_svg,
    pareto_mask,
)
from repbench.report.leaderboard import (
    INT_COLUMNS,
    Column,
    curve_svg,
    leaderboard_columns,
    leaderboard_csv,
    leaderboard_frame,
    render_leaderboard,
)
from repbench.report.numbers import fmt_delta, fmt_duration, fmt_float, fmt_g, fmt_int, fmt_k
from repbench.report.references import REFERENCES_DIR, Reference, load_reference
from repbench.report.measure_fields import measure_fields
from repbench.report.plotting import matplotlib_pyplot
from repbench.report.membership import TABLES, bn_strategy, large_methods, tables_of
from repbench.report.runs import (
    EVAL_COLUMNS,
    METRICS,
    RUN_COLUMNS,
    Run,
    RunSet,
    artifact_datasets,
    frame_datasets,
    load_bn_diagnostics,
    load_run,
    load_runs,
    members,
    primary_dataset,
    tidy_frame,
    wide_frame,
)
from repbench.training.config import PAPER_ITERATIONS
from repbench.report.tables import ABLATIONS, AblationSpec, render_ablation, render_published, render_table2, render_table3
from repbench.report.values import (
    DATASET_LABELS,
    DATASET_ORDER,
    default_options,
    method_label,
    method_order,
    MISSING,
    dataset_key,
    dataset_label,
    model_label,
    ordered_datasets,
    relevant_options,
    write_atomic,
)
from repbench.pipeline.targets import (DEFAULT_TARGETS, FIGURE_FORMATS, FIGURE_STEMS, FIGURES, LATER_TABLE, NTIRE_TABLES,
                              PUBLISHED_TABLE, SWEEPS, TARGETS, target_files)

__all__ = [
    "ABLATIONS", "DATASET_LABELS", "DATASET_ORDER", "DEFAULT_TARGETS", "EVAL_COLUMNS", "FIGURES",
    "INT_COLUMNS", "METRICS", "MISSING", "NTIRE_TABLES", "default_options", "large_methods", "method_label",
    "method_order",
    "PAPER_ITERATIONS", "REFERENCES_DIR", "RUN_COLUMNS", "TABLES", "TARGETS", "AblationSpec", "BnRun", "Column",
    "Reference", "ReportContext", "Run", "RunSet", "artifact_datasets", "bn_runs", "bn_strategy", "build_context",
    "build_report", "check_targets", "checks", "seeds", "curve_svg", "dataset_key", "dataset_label", "figure_bn", "figure_curves",
    "figure_svg_text", "figure_tradeoff", "fmt_delta", "fmt_duration", "fmt_float", "fmt_g", "fmt_int", "fmt_k",
    "frame_datasets", "inline_svg", "leaderboard_columns", "leaderboard_csv", "leaderboard_frame",
    "load_bn_diagnostics", "load_reference", "load_run", "load_runs", "measure_fields", "members", "model_label",
    "ntire", "ordered_datasets", "pareto_mask", "primary_dataset", "relevant_options", "render_ablation",
    "render_leaderboard", "render_published", "render_table2", "render_table3", "tables_of", "tidy_frame", "wide_frame", "write_atomic",
]


def check_targets(only: Iterable[str] | None) -> list[str]:
    chosen = list(only) if only else list(DEFAULT_TARGETS)
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown:
        raise RepbenchError(f"unknown report target(s) {', '.join(unknown)}; valid: {', '.join(TARGETS)}")
    return chosen


def build_report(runs_root: str | os.PathLike, out_dir: str | os.PathLike, preset: str | None = None,
                 only: Iterable[str] | None = None, curves: Sequence[str] | None = None,
                 references_dir: Path = REFERENCES_DIR) -> list[Path]:
    """Render the chosen targets (DEFAULT_TARGETS by default) into out_dir; returns the files written."""
    targets = check_targets(only)
    ctx = build_context(runs_root, preset, curves, references_dir)
    out = Path(out_dir)
    written: list[Path] = []
    bn_list = bn_runs(ctx) if "fig5" in targets or "leaderboard" in targets else []
    if "fig5" in targets and only and not fig5_profiles(bn_list):
        # Named explicitly (the workflow's rule figure_bn): a figure that cannot be drawn is an error.
        raise RepbenchError(fig5_absence(ctx, bn_list))
    renderers = markdown_renderers(ctx)
    for table in (t for t in renderers if t in targets):
        written.append(write_atomic(out / target_files(table)[0], renderers[table]()))
    written += _sweeps(ctx, targets, out)
    fig5 = figure_bn(bn_list) if bn_list else {}
    if "fig5" in targets:
        if fig5:
            written += [write_atomic(out / f"{FIGURE_STEMS['fig5']}{ext}", fig5[ext]) for ext in FIGURE_FORMATS]
        else:
            print(f"repbench report: fig5 skipped: {fig5_absence(ctx, bn_list)}", file=sys.stderr)
    if "fig1" in targets or "leaderboard" in targets:
        plt = matplotlib_pyplot()
        fig = figure_tradeoff(ctx)
        if "fig1" in targets:
            written += save_figure(fig, out / FIGURE_STEMS["fig1"])
        svg = figure_svg_text(fig)
        plt.close(fig)
        if "leaderboard" in targets:
            page, csv_text = render_leaderboard(ctx, svg, inline_svg(fig5[".svg"]) if fig5 else "")
            html_name, csv_name = target_files("leaderboard")
            written.append(write_atomic(out / html_name, page))
            written.append(write_atomic(out / csv_name, csv_text))
    if "fig6" in targets:
        plt = matplotlib_pyplot()
        fig = figure_curves(ctx)
        written += save_figure(fig, out / FIGURE_STEMS["fig6"])
        plt.close(fig)
    return written


def markdown_renderers(ctx: ReportContext) -> dict[str, Callable[[], str]]:
    """Every Markdown table target of `ctx` -> its renderer, in the order they are written. The NTIRE
    tables share one collection of their runs, made when the first of them renders."""
    from repbench.report.tables import render_later

    collected: list[Any] = []

    def ntire_table(name: str) -> str:
        if not collected:
            collected.append(ntire.collect(ctx))
        return ntire.render(ctx, name, collected[0])

    return {
        "table1": partial(render_ablation, ctx, ABLATIONS["table1"]),
        "table2": partial(render_table2, ctx),
        "table3": partial(render_table3, ctx),
        **{name: partial(render_ablation, ctx, spec) for name, spec in ABLATIONS.items() if name != "table1"},
        PUBLISHED_TABLE: partial(render_published, ctx),
        LATER_TABLE: partial(render_later, ctx),
        **{name: partial(ntire_table, name) for name in NTIRE_TABLES},
    }


def _sweeps(ctx: ReportContext, targets: list[str], out: Path) -> list[Path]:
    """Each budget sweep's table and figure, when named."""
    from repbench.report.sweep import render_sweep

    written = []
    for sweep in (s for s in SWEEPS if s in targets):
        text, fig = render_sweep(ctx, sweep)
        written.append(write_atomic(out / target_files(sweep)[0], text))
        written += save_figure(fig, out / sweep)
        matplotlib_pyplot().close(fig)
    return written
