"""The report's one Pareto front, shared by Figure 1 and the leaderboard's badge.

Runs compare only within one (scale, channels) group: x2 and x4, Y and RGB PSNRs are different
quantities. Each group is scored in its own channel (Y for one-channel networks, RGB for three, as the
tables do) on one test set (Urban100, the paper's Figure 1 set, when a run of the group has it, else the
first scored), against the throughput of the deployed network. A run is on the front when no other run
of its group is at least as fast and as good, and better in one. Runs `repbench check` marks
under-trained are left out of the contest (unless every run of the group is marked), so that a
diverged run can never be "on the front" by being fast.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from repbench.report.plotting import channel_words
from repbench.results import frame_datasets
from repbench.report.tables.floors import floor_rows
from repbench.results.values import REFERENCE_METHODS, as_int, as_float, dataset_label, is_published

PARETO_DEFINITION = (
    "on the Pareto front of its scale and channels group (the panel of Figure 1): scored in the group's "
    "channel on the group's test set, no other run of the group is as good (PSNR) and clearly faster, or "
    "clearly better and at least as fast; 'faster' counts only where the two throughput ranges (the spread "
    "between timing processes) do not overlap, 'better' only where the PSNRs differ by more than their seed "
    "deviations together; otherwise the two are tied; under-trained runs take no part"
)


def pareto_mask(
    cost: Sequence[float], gain: Sequence[float], cost_range: Sequence[tuple[float, float]] | None = None,
    gain_range: Sequence[tuple[float, float]] | None = None,
) -> list[bool]:
    """True where no other point dominates: gain not clearly lower and cost clearly lower, or gain clearly
    higher and cost not clearly higher. A range (low, high) per point is its measured spread (throughput:
    between timing processes; PSNR: mean +- the seed std); two values are told apart only where their
    ranges do not overlap, otherwise they are a tie. Without ranges every value is its own exact range."""
    costs = list(cost_range) if cost_range is not None else [(c, c) for c in cost]
    gains = list(gain_range) if gain_range is not None else [(g, g) for g in gain]

    def dominates(j: int, i: int) -> bool:
        (clo2, chi2), (clo, chi) = costs[j], costs[i]
        (glo2, ghi2), (glo, ghi) = gains[j], gains[i]
        cheaper, not_dearer = chi2 < clo, clo2 <= chi
        better, not_worse = glo2 > ghi, ghi2 >= glo
        return (not_worse and cheaper) or (better and not_dearer)

    return [not any(dominates(j, i) for j in range(len(costs)) if j != i) for i in range(len(costs))]


def psnr_range(row: dict | pd.Series, column: str) -> tuple[float, float]:
    """A row's score +- its seed standard deviation (the tables' '≈' rule: two means are apart only when they
    differ by more than the two deviations together); the score itself for one seed."""
    value = float(row[column])
    std = as_float(row.get(f"std_{column}"))
    return (value - std, value + std) if std else (value, value)


def speed_range(row: dict | pd.Series) -> tuple[float, float]:
    """A run's throughput spread (images/s): between timing processes, or of one process's repeats;
    the figure itself where no spread was recorded."""
    value = float(row["throughput"])
    lo, hi = as_float(row.get("throughput_min")), as_float(row.get("throughput_max"))
    return (lo if lo is not None else value, hi if hi is not None else value)


@dataclass
class Panel:
    """One (scale, channels) group: its runs with a throughput and a score, and its floors."""

    scale: int | None
    channel: str  # "Y" or "RGB"
    column: str  # the PSNR column plotted, e.g. psnr_y_set5
    dataset: str  # its test set key
    rows: pd.DataFrame
    floors: dict[str, tuple[float, str]] = field(default_factory=dict)  # method -> (PSNR, floor run)

    @property
    def title(self) -> str:
        return f"x{self.scale}, {'Y channel' if self.channel == 'Y' else 'RGB'}"

    @property
    def ylabel(self) -> str:
        return f"{dataset_label(self.dataset)} PSNR-{self.channel} (dB)"


def _panel_dataset(group: pd.DataFrame, prefix: str, datasets: list[str]) -> str | None:
    """Urban100 (the paper's Figure 1 set) when a run of the group has it, else the first test set scored."""
    present = [d for d in datasets if f"{prefix}_{d}" in group and group[f"{prefix}_{d}"].notna().any()]
    return "urban100" if "urban100" in present else (present[0] if present else None)


def tradeoff_panels(wide: pd.DataFrame) -> list[Panel]:
    """The panels of Figure 1: Y before RGB, then by scale."""
    if "throughput" not in wide or len(wide) == 0:
        return []
    # A released checkpoint (trained by its authors at a full budget) is not on the fronts of runs trained here.
    runs = wide[~wide["method"].isin(REFERENCE_METHODS) & wide["throughput"].notna() & ~is_published(wide)]
    datasets = frame_datasets(wide)
    keys = list(zip(runs["colors"].map(lambda c: 3 if as_int(c) == 3 else 1), runs["scale"].map(as_int)))
    keyed = {key: runs[[k == key for k in keys]] for key in sorted(set(keys), key=lambda k: (k[0], k[1] or 0))}
    panels = []
    for (colors, scale), group in keyed.items():
        prefix, channel = channel_words(colors)
        dataset = _panel_dataset(group, prefix, datasets)
        if dataset is None:
            continue
        column = f"{prefix}_{dataset}"
        floors = {}
        for r in floor_rows(wide, scale).to_dict("records"):
            value = as_float(r.get(column))
            if value is not None:
                floors[r["method"]] = (value, r["run"])
        panels.append(Panel(scale, channel, column, dataset, group[group[column].notna()], floors))
    return panels


def front_runs(rows: pd.DataFrame, column: str, flagged: set[str]) -> pd.DataFrame:
    """The non-dominated runs (pareto_mask, speed ties within the measured spread) among the unmarked runs; among all runs
    when every run is marked, so that an all-† preset still shows its trade-off. Empty for a lone run."""
    pool = rows[~rows["run"].isin(flagged)]
    pool = pool if len(pool) else rows
    if len(pool) < 2:
        return pool.iloc[0:0]  # a lone run is trivially on its own front: nothing to mark
    # cost = -throughput, so a speed range (lo, hi) becomes the cost range (-hi, -lo)
    ranges = [(-hi, -lo) for lo, hi in (speed_range(r) for _, r in pool.iterrows())]
    gains = [psnr_range(r, column) for _, r in pool.iterrows()]
    mask = pareto_mask([-float(t) for t in pool["throughput"]], [float(p) for p in pool[column]], ranges, gains)
    return pool[mask].sort_values("throughput")



def pareto_flags(frame: pd.DataFrame, marks: dict[str, list[str]] | set[str]) -> pd.Series:
    """True for the rows of `frame` (runs and reference rows alike) on their group's front; reference rows
    and runs without a throughput or a score are never on it."""
    flags = pd.Series(False, index=frame.index)
    for panel in tradeoff_panels(frame):
        flags.loc[front_runs(panel.rows, panel.column, set(marks)).index] = True
    return flags
