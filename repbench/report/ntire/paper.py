"""The paper's side of the NTIRE tables, and which of our runs plays each paper row."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from repbench.errors import RepbenchError
from repbench.report.context import ReportContext
from repbench.report.numbers import fmt_float
from repbench.results.values import as_int, as_float
from repbench.report.ntire.runs import NtireRun, PAPER_STAGE2_PATCH, SOURCE, blocks_of


def paper_target(table: str, ctx: ReportContext) -> dict[str, Any]:
    """A table's `target` (the challenge constraints), which references.Reference does not keep."""
    path = ctx.references_dir / f"{SOURCE}.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RepbenchError(f"reference file {path} is not valid YAML: {err}") from err
    spec = (data.get("tables") or {}).get(table) or {}
    target = spec.get("target") if isinstance(spec, dict) else None
    return target if isinstance(target, dict) else {}


_OPS = {">=": "≥", "<=": "≤"}


def fmt_target(entry: Any, digits: int) -> str:
    """{op: '>=', value: 29} -> '≥ 29.00'; a plain number as it is; nothing -> ''."""
    if isinstance(entry, dict):
        op = str(entry.get("op") or "")
        return f"{_OPS.get(op, op)} {fmt_float(entry.get('value'), digits)}".strip()
    return fmt_float(entry, digits) if as_float(entry) is not None else ""


def paper_flops(ctx: ReportContext) -> dict[int, float]:
    """Paper FLOPs (G, 256x256 LR) by B: Table 4's IMDN rows, plus its Target row, which carries the
    B = 8 baseline's FLOPs (see the table's note)."""
    ref = ctx.ref("table4", SOURCE)
    out = {b: v for r in ref.rows if not r.get("external") and r.get("method") == "imdn"
           if (b := blocks_of(r.get("size"))) is not None and (v := as_float(r.get("flops_g"))) is not None}
    base = as_float(paper_target("table4", ctx).get("flops_g"))
    if base is not None:
        out.setdefault(8, base)
    return out


def depth_map(runs: Sequence[NtireRun], paper_base: int, paper_pruned: int) -> dict[int, int | None]:
    """The paper's baseline / pruned depth -> the depth our runs use for that role.

    The pruned depth is the one the IMDN-CLB runs train (the paper's, when present); the baseline is
    the deepest IMDN above it. A preset that trains the paper's depths maps them to themselves."""
    imdn = {r.blocks for r in runs if r.method == "imdn" and r.blocks is not None}
    clb = {r.blocks for r in runs if r.method == "imdn-clb" and r.blocks is not None}
    if paper_pruned in (clb or imdn):
        pruned: int | None = paper_pruned
    elif clb:
        pruned = max(clb)
    else:
        pruned = sorted(imdn)[-2] if len(imdn) >= 2 else None
    deeper = {b for b in imdn if pruned is None or b > pruned}
    base = paper_base if paper_base in deeper else (max(deeper) if deeper else None)
    return {paper_base: base, paper_pruned: pruned}


def pair_stage2(runs: Sequence[NtireRun], paper_patches: Sequence[int]) -> tuple[dict[int, NtireRun], list[NtireRun]]:
    """Two-stage runs -> the paper's stage-2 patch sizes; returns (paired, left over).

    Runs at the paper's own patch sizes pair exactly. A scaled-down preset trains none of them, so its
    runs pair in increasing stage-2 patch order (the smallest plays the paper's 160, the next its 256)."""
    ordered = sorted(runs, key=lambda r: (r.patch_size_stage2, r.name))
    paired: dict[int, NtireRun] = {}
    rest: list[NtireRun] = []
    exact = any(r.patch_size_stage2 in paper_patches for r in ordered)
    free = sorted(paper_patches)
    for run in ordered:
        if exact:
            slot = run.patch_size_stage2 if run.patch_size_stage2 in free else None
        else:
            slot = free[0] if free else None
        if slot is None:
            rest.append(run)
        else:
            paired[slot] = run
            free.remove(slot)
    return paired, rest


def first_run(runs: Iterable[NtireRun]) -> tuple[NtireRun | None, list[NtireRun]]:
    """The first run and the rest (runs are already sorted by name within a role)."""
    found = list(runs)
    return (found[0], found[1:]) if found else (None, [])


def stage2_patches(ctx: ReportContext) -> list[int]:
    ref = ctx.ref("table5", SOURCE)
    patches = [as_int(r.get("patch_size")) for r in ref.rows if as_int(r.get("stage")) == 2]
    return [p for p in patches if p is not None] or [PAPER_STAGE2_PATCH]
