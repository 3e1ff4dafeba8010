"""The NTIRE 2022 companion paper's tables (IMDN + collapsible linear blocks) from run folders.

    ntire_table2.md   baseline -> pruning -> + collapsible linear blocks -> + two-stage training
    ntire_table3.md   the number of IMDBs, B = 8..4
    ntire_table5.md   the second-stage patch size of two-stage training

Runs are the same `repbench.results` records every other table reads; this package adds what only
these tables need: each run's role (its training schedule, `Run.schedule`: `patch_size`,
`patch_size_stage2`, `stage2_start`), the runtime per image (`Score.runtime_s`, or the deployed
network's one timing), and the challenge's conventions (RGB PSNR on the validation set, FLOPs at a
256x256 LR input).

Rows are recognised from what a run is (method, `B{n}` size, one or two training stages), never from
its folder name. Scaled-down presets train other depths and patch sizes than the paper's (e.g. B2 / B1
with 16-pixel patches): each paper row is then filled by the run in the same *role* (the deepest IMDN
is the baseline, the depth of the IMDN-CLB runs is the pruned one, stage-2 patch sizes in increasing
order), and the table shows both our and the paper's depth and patches so the difference stays visible.

Modules: `runs` (one run as these tables see it, `collect`), `paper` (the paper's rows and which run
plays each), `cells` (shared cells and notes), `tables` (the three renderers).
"""
from __future__ import annotations

from repbench.report.ntire.paper import depth_map, fmt_target, pair_stage2, paper_flops
from repbench.report.ntire.runs import (
    COLORS,
    FLOPS_SIDE,
    METHODS,
    PAPER_STAGE2_PATCH,
    PREFERRED_DATASET,
    SCALE,
    SOURCE,
    NtireData,
    NtireRun,
    blocks_of,
    collect,
    macs_at,
    stage2_sec_per_iter,
)
from repbench.report.ntire.tables import RENDERERS, render, render_table2, render_table3, render_table5

# The package's public names: re-exported from its modules.
__all__ = [
    "depth_map", "fmt_target", "pair_stage2", "paper_flops", "COLORS", "FLOPS_SIDE", "METHODS",
    "PAPER_STAGE2_PATCH", "PREFERRED_DATASET", "SCALE", "SOURCE", "NtireData", "NtireRun", "blocks_of", "collect",
    "macs_at", "stage2_sec_per_iter", "RENDERERS", "render", "render_table2", "render_table3",
    "render_table5",
]
