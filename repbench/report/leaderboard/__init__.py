"""The leaderboard: one self-contained HTML page (jinja2 templates, inline style, script and plots)
and a CSV of the same rows with raw numbers.

Rows are our runs and the paper's Table 2 rows. The page opens on one comparison group (scale and
channels, `groups`), hides the columns empty for every shown row, keeps the Model column in view,
marks the report's one Pareto front (front.pareto_flags, shared with Figure 1) and says when and from which commit each
run was trained. Each run gets a detail panel (config, measurements, scores, tiny inline SVG curves).

    frame     the rows as raw numbers (runs and paper rows) and the CSV
    columns   the table's columns and the cells of one row
    groups    the (scale, channels) comparison groups and how each is scored
    detail    per-run detail panels and BN artifact rows
    page      the HTML page (templates/leaderboard.html.j2, .css, .js)
"""
from __future__ import annotations

from repbench.report.leaderboard.columns import Column, leaderboard_columns, row_cells
from repbench.report.leaderboard.detail import artifact_rows, curve_svg, run_detail
from repbench.report.leaderboard.frame import INT_COLUMNS, leaderboard_csv, leaderboard_frame, reference_rows
from repbench.report.leaderboard.groups import Group, default_group, row_groups
from repbench.report.leaderboard.page import page_rows, provenance_summary, render_leaderboard

__all__ = [
    "INT_COLUMNS", "Column", "Group", "artifact_rows", "curve_svg", "default_group", "leaderboard_columns",
    "leaderboard_csv", "leaderboard_frame", "page_rows", "provenance_summary", "reference_rows",
    "render_leaderboard", "row_cells", "row_groups", "run_detail",
]
