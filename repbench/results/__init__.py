"""The results model: one typed record per run folder, and what is computed on the records.

    load.load_runs(root)       run folders -> `Run` records (record.py), each file read once; older file
                               layouts upgraded in one place (upgrade.py); each run placed in its experiments
                               (membership.py: the preset's plan, else the one named fallback)
    frames.tidy_frame(runs)    the records as pandas rows (one per run x test set), raw numbers only
    frames.wide_frame(tidy)    one row per run
    seeds.aggregate(wide)      seed runs `<id>-seed<k>` folded into one row per base run: mean, std, n
    checks.check_results(...)  under-trained runs (below bicubic, size inversions, still improving)

Nothing here formats a number or writes a file: repbench.report renders these records.
"""
from __future__ import annotations

from repbench.results.frames import (EVAL_COLUMNS, METRICS, RUN_COLUMNS, artifact_datasets, frame_datasets, members,
                                     primary_dataset, tidy_frame, wide_frame)
from repbench.results.load import load_bn_diagnostics, load_run, load_runs
from repbench.results.membership import TABLES, bn_strategy, inferred_experiments, large_methods, tables_of
from repbench.results.record import Budget, Restart, Run, RunSet, Schedule, Score

__all__ = [
    "EVAL_COLUMNS", "METRICS", "RUN_COLUMNS", "TABLES", "Budget", "Restart", "Run", "RunSet", "Schedule", "Score",
    "artifact_datasets", "bn_strategy", "frame_datasets", "inferred_experiments", "large_methods",
    "load_bn_diagnostics", "load_run", "load_runs", "members", "primary_dataset", "tables_of", "tidy_frame",
    "wide_frame",
]
