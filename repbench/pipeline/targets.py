"""The report's targets, one list for the pipeline, the CLI and the report.

A target is a name (`repbench report --only NAME`) that renders one or two files into the
results folder. Nothing here imports anything heavy: `repbench --help` and the Snakefile read it.
"""
from __future__ import annotations

# The RepSR paper's Tables 1-7.
PAPER_TABLES: tuple[str, ...] = ("table1", "table2", "table3", "table4", "table5", "table6", "table7")
# The NTIRE 2022 companion paper's Tables 2, 3 and 5: rendered only when named, so that a preset
# without IMDN runs does not get three tables of paper rows by default.
NTIRE_TABLES: tuple[str, ...] = ("ntire_table2", "ntire_table3", "ntire_table5")
# Released checkpoints (data/published.yaml) measured the same way as the runs trained here: only
# when named, since it needs the released files (the cache, a local copy, or a download).
PUBLISHED_TABLE = "published"
# The parameterizations after RepSR (DBB, OREPA, Conv3XC) on Table 2's backbone, beside Table 2's plain, ECBSR
# and RepSR runs (the same runs: the experiment names them too, so nothing trains twice). Only when named.
LATER_TABLE = "later"
TABLES: tuple[str, ...] = PAPER_TABLES + NTIRE_TABLES + (PUBLISHED_TABLE, LATER_TABLE)
# Budget sweeps (workflow/presets/sweep.yaml): PSNR against iterations, training seconds and training FLOPs.
# Each is an experiment of its own and renders a table and a figure, `<name>.md/.png/.svg`. Only when named.
SWEEPS: tuple[str, ...] = ("sweep", "sweep_m10c32")
SWEEP_FORMATS: tuple[str, ...] = (".md", ".png", ".svg")
# What a preset's `experiments` may name: every table, and the sweeps.
EXPERIMENTS: tuple[str, ...] = TABLES + SWEEPS
# fig5 (BN statistics) needs a BN run with its diagnostics: skipped with a message by default, an error when named.
FIGURE_STEMS: dict[str, str] = {"fig1": "fig1_tradeoff", "fig5": "fig5_bn_stats", "fig6": "fig6_curves"}
FIGURES: tuple[str, ...] = tuple(FIGURE_STEMS)
FIGURE_FORMATS: tuple[str, ...] = (".png", ".svg")
LEADERBOARD = "leaderboard"
LEADERBOARD_FILES: tuple[str, ...] = ("leaderboard.html", "leaderboard.csv")

# Targets that show clocks (throughput, the synthetic training step): they need each run's
# measure.json, a timing job that takes every core. The others read counts.json (exact counts only).
TIMED: tuple[str, ...] = ("table3", "fig1", LEADERBOARD, PUBLISHED_TABLE)

DEFAULT_TARGETS: tuple[str, ...] = PAPER_TABLES + FIGURES + (LEADERBOARD,)
TARGETS: tuple[str, ...] = TABLES + SWEEPS + FIGURES + (LEADERBOARD,)


def target_files(target: str) -> list[str]:
    """The file names one target writes into the results folder."""
    if target in TABLES:
        return [f"{target}.md"]
    if target in SWEEPS:
        return [target + ext for ext in SWEEP_FORMATS]
    if target in FIGURE_STEMS:
        return [FIGURE_STEMS[target] + ext for ext in FIGURE_FORMATS]
    if target == LEADERBOARD:
        return list(LEADERBOARD_FILES)
    raise ValueError(f"unknown report target {target!r}; valid: {', '.join(TARGETS)}")
