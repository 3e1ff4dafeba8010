"""The best row of each size in a comparison group: the leaderboard's "best" badge and the CSV's
`best_in_size`.

Within one (scale, channels) group, the trained runs of one size (e.g. every M4C16 method) compete on
the group's first test set (the paper's column order: Set5 before Set14 ...), in the group's channel
(PSNR-Y; PSNR-RGB in RGB groups, as the Pareto front scores them), by their mean PSNR over seeds.
Floors, the paper's rows and released checkpoints take no part. A size with a single trained run
marks nothing (it has beaten no one), and tied runs are all marked.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from repbench.report.leaderboard.groups import group_title, is_trained
from repbench.results.values import as_int, is_blank, as_float, dataset_label, ordered_datasets

BEST_DEFINITION = (
    "the highest mean PSNR (over its seeds) on its group's first test set, in the group's channel, among the "
    "group's trained runs of the same size; floors, paper rows and released checkpoints take no part, a size "
    "with a single trained run marks nothing, and tied runs are all marked"
)
TIE_DB = 1e-9  # PSNRs this close are one value (float noise of a mean), not a win


def score_column(records: Sequence[dict[str, Any]], members: Sequence[int], channel: str) -> str | None:
    """The PSNR column a group's sizes compete on: its first test set with a score among `members`
    (PSNR-RGB for an RGB group when any member has one, else PSNR-Y)."""
    keys = set(records[0]) if records else set()
    for prefix in (["psnr_rgb", "psnr_y"] if channel == "rgb" else ["psnr_y"]):
        datasets = ordered_datasets(k[len(prefix) + 1:] for k in keys if k.startswith(prefix + "_"))
        for d in datasets:
            if any(as_float(records[i].get(f"{prefix}_{d}")) is not None for i in members):
                return f"{prefix}_{d}"
    return None


def _column_label(column: str) -> str:
    prefix, _, dataset = column.partition("_")[2].partition("_")
    return f"{dataset_label(dataset)} PSNR-{prefix.upper()}"


def _trained_by_group(records: Sequence[dict[str, Any]], memberships: Sequence[Sequence[str]]) -> dict[str, list[int]]:
    by_group: dict[str, list[int]] = {}
    for i, (r, keys) in enumerate(zip(records, memberships)):
        if is_trained(r) and keys:
            by_group.setdefault(keys[0], []).append(i)
    return by_group


def best_in_size(records: Sequence[dict[str, Any]], memberships: Sequence[Sequence[str]]) -> list[str]:
    """Per record (frame records with their group keys, groups.row_groups), the best badge's hover text
    when it is the best of its size in its group, else ""."""
    titles = [""] * len(records)
    for key, members in _trained_by_group(records, memberships).items():
        scale, channel = as_int(key.split("-", 1)[0][1:]), key.split("-", 1)[1]
        column = score_column(records, members, channel)
        if column is None:
            continue
        sizes: dict[str, list[int]] = {}
        for i in members:
            if as_float(records[i].get(column)) is not None and not is_blank(records[i].get("size")):
                sizes.setdefault(str(records[i]["size"]), []).append(i)
        for size, rows in sizes.items():
            if len(rows) < 2:
                continue
            top = max(float(records[i][column]) for i in rows)
            best = [i for i in rows if math.isclose(float(records[i][column]), top, rel_tol=0.0, abs_tol=TIE_DB)]
            tie = f"; tied with {len(best) - 1} other run{'s' if len(best) > 2 else ''}" if len(best) > 1 else ""
            for i in best:
                titles[i] = (f"Best {size}: the highest mean {_column_label(column)} ({top:.2f} dB) of the "
                             f"{len(rows)} trained {size} runs of group {group_title(scale, channel)}{tie}. "
                             "Floors, paper rows and released checkpoints take no part.")
    return titles
