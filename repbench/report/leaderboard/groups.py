"""Comparison groups of the leaderboard: one per (scale, channels).

A PSNR compares only within one scale and one channel count: an x2 model scores several dB above any
x4 model, so a table sorted across scales ranks the task, not the method. The page therefore opens on
one group and its selector lists every group: the x4 Y group (`MAIN_GROUP`, Table 2's runs beside the paper's
rows, the main result) when it has a trained run, else the group with most runs.

A group whose trained runs had different training budgets says so (`budget_note`): its Pareto front
and best-of-size marks then compare runs trained for different lengths.

The fixed upsamplers (bicubic, nearest) take no channel count of their own: they belong to every group
of their scale, where they are the floor a model must clear.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from repbench.report.budgets import budgets_of
from repbench.results.values import REFERENCE_METHODS, as_int, channel_name

ALL_GROUPS_CONVENTION = (
    "All groups: rows of different scales and channels are listed together, but a PSNR compares only "
    "within one scale and channel group."
)
_CHANNEL_ORDER = {"y": 0, "rgb": 1, "unknown": 2}
_CHANNEL_NAMES = {"y": "Y", "rgb": "RGB"}


@dataclass(frozen=True)
class Group:
    key: str  # what rows and the selector carry, e.g. "x4-y"
    scale: int | None
    channel: str  # "y", "rgb" or "unknown"
    n_runs: int  # trained runs (the floors and the paper's rows are not counted)
    n_paper: int
    label: str
    convention: str  # how this group's scores are computed, shown above the table
    budget_note: str = ""  # set when its trained runs had different iteration budgets


def group_key(scale: Any, colors: Any) -> str:
    s = as_int(scale)
    return f"x{s if s else '?'}-{channel_name(colors).lower() or 'unknown'}"


MAIN_GROUP = group_key(4, 1)  # "x4-y": the paper's Table 2 setting (scale 4, one channel), the main result


def group_title(scale: int | None, channel: str) -> str:
    """'x4 · Y', 'x2 · RGB', 'x? · channels unknown'."""
    return f"x{scale if scale else '?'} · {_CHANNEL_NAMES.get(channel, 'channels unknown')}"


def is_trained(r: dict[str, Any]) -> bool:
    """A run trained here: not a floor, a paper row or a released checkpoint (kind "published")."""
    return r.get("kind") == "run" and r.get("method") not in REFERENCE_METHODS


def budget_note(iterations: Sequence[Any]) -> str:
    """What the group's header says when its trained runs had different budgets (iterations per run;
    None where a run records none); "" when they share one."""
    known, unknown = budgets_of(iterations)
    missing = f" {unknown} of its runs record{'s' if unknown == 1 else ''} no iteration count." if unknown else ""
    if len(known) > 1:
        listed = ", ".join(f"{n:,}" for n in known)
        return (f"Mixed budgets: the trained runs of this group span {known[0]:,}-{known[-1]:,} iterations ({listed}). "
                "Its Pareto front and best-of-size marks compare runs trained for different lengths, and a run "
                "trained longer may lead for that alone (see the Iters column)." + missing)
    if known and unknown:
        return (f"Budgets unknown in part: {unknown} of this group's trained runs record no iteration count "
                f"(the others trained {known[0]:,} iterations), so its Pareto front may mix budgets.")
    return ""


def convention(scale: int | None, channel: str) -> str:
    """How a group's PSNR and SSIM are computed (docs/conventions.md section 4)."""
    where = f"x{scale}" if scale else "Unknown scale"
    border = f"{scale} px" if scale else "the scale in pixels"
    if channel == "y":
        return (f"{where}, Y models (one channel): PSNR-Y and SSIM-Y on the BT.601 luma channel with {border} "
                "shaved from every border, the RepSR paper's convention (its Table 2 rows). No PSNR-RGB: a Y "
                "model's colour comes from bicubic upsampling, not from the model.")
    if channel == "rgb":
        return (f"{where}, RGB models (three channels): PSNR-Y and SSIM-Y on the luma of the RGB output ({border} "
                "border), comparable with the paper and the Y groups; PSNR-RGB over all three channels, the NTIRE "
                "tables' convention, beside them. PSNR-RGB usually reads lower than PSNR-Y for the same run.")
    return (f"{where}, channels unknown (no colors in train.json or the eval files): PSNR-Y and SSIM-Y on the "
            f"luma channel, {border} border.")


def _label(scale: int | None, channel: str, n_runs: int, n_paper: int, mixed: bool) -> str:
    counts = f"{n_runs} run{'s' if n_runs != 1 else ''}" + (f", {n_paper} paper rows" if n_paper else "")
    return f"{group_title(scale, channel)} ({counts}{'; mixed budgets' if mixed else ''})"


def _is_floor(r: dict[str, Any]) -> bool:
    return r.get("method") in REFERENCE_METHODS and not channel_name(r.get("colors"))


def row_groups(records: Sequence[dict[str, Any]]) -> tuple[list[Group], list[list[str]]]:
    """(every group in scale then channel order, the group keys of each record)."""
    own = {i: group_key(r.get("scale"), r.get("colors")) for i, r in enumerate(records) if not _is_floor(r)}
    scales = {key: as_int(records[i].get("scale")) for i, key in own.items()}
    memberships: list[list[str]] = []
    for i, r in enumerate(records):
        if i in own:
            memberships.append([own[i]])
            continue
        same_scale = sorted({k for k, s in scales.items() if s == as_int(r.get("scale"))})
        memberships.append(same_scale or [group_key(r.get("scale"), None)])
        for key in memberships[-1]:
            scales.setdefault(key, as_int(r.get("scale")))
    groups = []
    for key, scale in scales.items():
        members = [r for r, keys in zip(records, memberships) if key in keys]
        trained = [r for r in members if is_trained(r)]
        n_paper = sum(r.get("kind") == "paper" for r in members)
        channel = key.split("-", 1)[1]
        budgets = [r.get("iterations") for r in trained]
        mixed = len({as_int(i) for i in budgets} - {None, 0}) > 1
        groups.append(Group(key, scale, channel, len(trained), n_paper, _label(scale, channel, len(trained), n_paper, mixed),
                            convention(scale, channel), budget_note(budgets)))
    groups.sort(key=lambda g: (g.scale if g.scale is not None else 10**6, _CHANNEL_ORDER.get(g.channel, 3)))
    return groups, memberships


def default_group(groups: Sequence[Group], main: str = MAIN_GROUP) -> Group | None:
    """The group the page opens on: `main` (x4 Y, Table 2's group) when it holds a trained run, else the
    group with most runs (ties: most paper rows, then the first in order)."""
    if not groups:
        return None
    first = next((g for g in groups if g.key == main and g.n_runs), None)
    return first or max(groups, key=lambda g: (g.n_runs, g.n_paper, -groups.index(g)))
