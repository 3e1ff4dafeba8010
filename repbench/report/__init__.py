"""The results records (repbench.results) -> the paper's Markdown tables, figures and a leaderboard page.

The runs are read and checked by repbench.results (typed `Run` records, seeds, checks, membership);
this package renders them. Every step is a plain function, testable on its own:

    context.build_context(runs_root)   the records, their frames and the check: what every renderer reads
    writers.file_writers(ctx, out, t)  chosen target -> what writes its files (the one dispatch table);
                                       writers.markdown_renderers(ctx): the Markdown tables among them
    tables.render_*                    Tables 1-7, `published` and `later`, the paper's numbers and deltas beside ours
    ntire.render_table2/3/5            the NTIRE 2022 companion paper's Tables 2, 3 and 5, over the same records
    sweep.render_sweep                 a budget sweep: ranking per budget, crossings, time to PSNR, and its figure
    figures.figure_*                   matplotlib (Agg), PNG + SVG; Figure 5 from the BN runs' diagnostics (see `bn`)
    leaderboard.render_leaderboard     one self-contained HTML page (jinja2 template) + a raw CSV

Every table shows the nearest and bicubic floors (`nearest-x<s>/`, `bicubic-x<s>/` eval folders) in
the channel of the rows beside them. The other modules hold what these share: `cells` (spread, tie
and † cells), `numbers` (the one place a number becomes text), `references` (the published numbers,
repbench/references/*.yaml), `markdown` / `mdescape` (table layout, inert free text), `plotting` /
`labels` / `hover` (the figures' colours and markers, non-overlapping point labels, SVG hover titles)
and `bn` (the runs with BatchNorm and their `repbench bn-diagnose` results).

Numbers stay raw until a renderer formats them. Every file is written atomically (temp file +
rename), so an interrupted report never leaves a half-written table for the workflow to trust.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from repbench.errors import RepbenchError
from repbench.pipeline.targets import DEFAULT_TARGETS, TARGETS
from repbench.report.bn import bn_runs, fig5_absence, fig5_profiles
from repbench.report.context import ReportContext, build_context
from repbench.report.references import REFERENCES_DIR
from repbench.report.writers import file_writers, markdown_renderers

# What the package means: the report as one call, the context its renderers read, and the dispatch tables.
__all__ = ["ReportContext", "build_context", "build_report", "check_targets", "file_writers", "markdown_renderers"]


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
    if "fig5" in targets and only and not fig5_profiles(bn_runs(ctx)):
        # Named explicitly (the workflow's rule figure_bn): a figure that cannot be drawn is an error,
        # raised before any file is written.
        raise RepbenchError(fig5_absence(ctx, bn_runs(ctx)))
    written: list[Path] = []
    for write in file_writers(ctx, Path(out_dir), targets).values():
        written += write()
    return written
