"""The RepSR paper's Tables 1-7 as Markdown: our numbers beside the paper's, with deltas.

    render_table2      tiny SR networks (x4, Y): params, MACs, #conv, PSNR / SSIM per test set
    render_ablation    Tables 1 and 4-7, whose rows are fixed by the paper (see ABLATIONS)
    render_table3      training time, ECBSR vs RepSR
    render_published   released checkpoints measured here, beside their authors' figures
    render_later       DBB, OREPA and Conv3XC beside Table 2's plain, ECBSR and RepSR runs, per size

Modules: `table2`, `ablations` (Tables 1, 4-7), `table3`, and `floors` (the floor rows every table shows).
"""
from __future__ import annotations

from repbench.report.tables.ablations import ABLATIONS, AblationSpec, render_ablation
from repbench.report.tables.floors import budget_words, floor_hint, floor_rows
from repbench.report.tables.later import render_later
from repbench.report.tables.published import render_published
from repbench.report.tables.table2 import render_table2
from repbench.report.tables.table3 import render_table3

# The package's public names: re-exported from its modules.
__all__ = [
    "ABLATIONS", "AblationSpec", "render_ablation", "budget_words", "floor_hint", "floor_rows", "render_published",
    "render_table2", "render_table3", "render_later",
]
