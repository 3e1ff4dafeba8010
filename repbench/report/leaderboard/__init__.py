"""The leaderboard: one self-contained HTML page (jinja2 templates, inline style, script and plots)
and a CSV of the same rows with raw numbers.

Rows are our runs and the paper's Table 2 rows. The page opens on one comparison group (scale and
channels, `groups`; x4 Y, Table 2's, unless the URL's query string names another), badges the best run
of each size (`best`), says when a group's runs had different budgets, keeps its group, filters and
sort in the URL (templates/leaderboard.js), hides the columns empty for every shown row, keeps the
Model column in view, marks the report's one Pareto front (front.pareto_flags, shared with Figure 1)
and says when and from which commit each run was trained. Each run gets a detail panel (config,
measurements, scores, tiny inline SVG curves).

    frame     the rows as raw numbers (runs and paper rows) and the CSV
    columns   the table's columns and the cells of one row
    groups    the (scale, channels) comparison groups, how each is scored, its budgets
    best      the best trained run of each size in its group
    detail    per-run detail panels and BN artifact rows
    page      the HTML page (templates/leaderboard.html.j2, .css, .js)
"""
from __future__ import annotations

from repbench.report.leaderboard.best import BEST_DEFINITION, best_in_size
from repbench.report.leaderboard.columns import Column, leaderboard_columns, row_cells
from repbench.report.leaderboard.detail import artifact_rows, curve_svg, run_detail
from repbench.report.leaderboard.frame import INT_COLUMNS, leaderboard_csv, leaderboard_frame, reference_rows
from repbench.report.leaderboard.groups import MAIN_GROUP, Group, default_group, row_groups
from repbench.report.leaderboard.page import page_rows, provenance_summary, render_leaderboard

__all__ = [
    "BEST_DEFINITION", "INT_COLUMNS", "MAIN_GROUP", "Column", "Group", "artifact_rows", "best_in_size", "curve_svg",
    "default_group", "leaderboard_columns",
    "leaderboard_csv", "leaderboard_frame", "page_rows", "provenance_summary", "reference_rows",
    "render_leaderboard", "row_cells", "row_groups", "run_detail",
]
