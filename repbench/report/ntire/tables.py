"""The NTIRE 2022 paper's Tables 2, 3 and 5 as Markdown."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


from repbench.report.context import ReportContext
from repbench.report.markdown import fill_hint, header
from repbench.report.numbers import fmt_delta, fmt_float, fmt_int
from repbench.report.references import Reference
from repbench.results.values import difference, as_int, as_float
from repbench.report.numbers import MISSING
from repbench.report.ntire.cells import (Versus, blocks_text, budget_cells, conventions_text, finish_table, floor_notes,
                                         millions, missing_notes, patch_text, percent_change, psnr_cell, ratio_text,
                                         run_cell, runtime_header, table_lines, with_floors)
from repbench.report.ntire.paper import first_run, stage2_patches, paper_target, depth_map, fmt_target, pair_stage2, paper_flops
from repbench.report.ntire.runs import FLOPS_SIDE, NtireData, NtireRun, PAPER_STAGE2_PATCH, SOURCE, blocks_of, collect
from repbench.results.notes import span


def _pick_table2(ctx: ReportContext, runs: list[NtireRun], paper_rows: list[dict[str, Any]]) -> list[NtireRun | None]:
    """The run playing each paper row of Table 2 (in the same role at a scaled-down preset's depths)."""
    paper_b = [blocks_of(p.get("size")) for p in paper_rows]
    paper_base = max((b for b in paper_b if b is not None), default=8)
    paper_pruned = min((b for b in paper_b if b is not None), default=7)
    depths = depth_map(runs, paper_base, paper_pruned)

    def pick(paper: dict[str, Any]) -> NtireRun | None:
        method, b = paper.get("method"), blocks_of(paper.get("size"))
        two_stage = bool((paper.get("training") or {}).get("two_stage"))
        ours_b = depths.get(b, b) if b is not None else None
        same = [r for r in runs if r.method == method and r.blocks == ours_b and r.two_stage == two_stage]
        if two_stage:  # the run playing the paper's 160-pixel second stage, as in ntire_table5
            paired, _ = pair_stage2(same, stage2_patches(ctx))
            return paired.get(PAPER_STAGE2_PATCH) or first_run(same)[0]
        return first_run(same)[0]

    return [pick(p) for p in paper_rows]


def render_table2(ctx: ReportContext, data: NtireData | None = None) -> str:
    data = data or collect(ctx)
    ref = ctx.ref("table2", SOURCE)
    target = paper_target("table2", ctx)
    runs = data.of("ntire_table2")
    picked = list(zip(ref.rows, _pick_table2(ctx, runs, ref.rows)))
    versus = Versus(data, ref.figure(), data.budget("ntire_table2"))
    runtime_name, runtime_cell, runtime_text = runtime_header(r for _, r in picked)
    flops = paper_flops(ctx)
    rows = [_table2_row(i, picked, flops, (runtime_name, runtime_cell), versus) for i in range(len(picked))]
    if target and rows:
        rows.append({k: "" for k in rows[0]} | {
            "Row": "Target (challenge constraints)",
            "PSNR paper": fmt_target(target.get("val_psnr_db"), 2),
            "Params paper": fmt_target(target.get("params_m"), 4),
            "Runtime paper (ms)": fmt_target(target.get("val_time_ms"), 2),
        })
    lines = header(
        "NTIRE 2022 Table 2: effect of each component (IMDN + collapsible linear blocks, x4 RGB)",
        ctx.preset, ctx.runs, ref,
        conventions_text(data, (r for _, r in picked)) + " " + runtime_text + " The paper's runtimes come from the "
        "challenge's GPU server, so compare runtimes as the change vs the baseline row, not in ms. *Step* is the "
        "PSNR change from the row above (what each component adds). *B* and *LR patches* are ours; a scaled-down "
        "preset fills each row with the run in the same role (deepest IMDN = baseline, the IMDN-CLB depth = pruned)."
        + versus.words(),
        shown=[r.name for _, r in picked if r],
    )
    if not any(r for _, r in picked):
        lines += [fill_hint("ntire_table2", "x4 RGB runs of imdn (the baseline depth and the pruned one) and "
                             "imdn-clb at the pruned depth, one-stage and two-stage (config.yaml patch_size_stage2 > 0)"), ""]
    lines += table_lines(with_floors(rows, data, "Row"), ("Row", "Run", "B", "LR patches"))
    return finish_table(lines, _table2_notes(ctx, data, ref, picked, versus))


def _table2_notes(ctx: ReportContext, data: NtireData, ref: Reference,
                  picked: list[tuple[dict[str, Any], NtireRun | None]], versus: Versus) -> list[str]:
    notes = floor_notes(data, (r for _, r in picked)) + list(ref.notes)
    used = {r.name for _, r in picked if r}
    others = [r.name for r in data.of("ntire_table2") if r.two_stage and r.name not in used and r.method == "imdn-clb"]
    if others:
        notes.append("other two-stage runs (see ntire_table5.md): " + ", ".join(span(n) for n in others))
    notes += versus.notes(r for _, r in picked)
    notes += missing_notes(r for _, r in picked) + data.notes + ctx.runs.notes
    if not ref.found:
        notes.append(f"no reference numbers found for table2 in {ctx.references_dir}/{SOURCE}.yaml")
    return notes


def _table2_row(i: int, picked: list[tuple[dict[str, Any], NtireRun | None]], flops: dict[int, float],
                runtime: tuple[str, Callable[[NtireRun | None], str]], versus: Versus) -> dict[str, str]:
    """Row i of ntire_table2: our run beside the paper's row, and the step from the row above."""
    paper, run = picked[i]
    prev_paper, prev_run = picked[i - 1] if i else ({}, None)
    base_paper, base_run = picked[0]
    psnr, paper_psnr = run.psnr if run else None, as_float(paper.get("val_psnr_db"))
    params, paper_params = millions(run.params) if run else None, as_float(paper.get("params_m"))
    b = blocks_of(paper.get("size"))
    return {
        "Row": str(paper.get("label", "")),
        "Run": run_cell(run),
        "B": blocks_text(run.blocks if run else None, b),
        "LR patches": patch_text(run),
        **budget_cells(run),
        "PSNR": psnr_cell(run),
        **versus.cells(run, paper_psnr),
        "Step": fmt_delta(difference(psnr, prev_run.psnr if prev_run else None), 2) if i else "",
        "Step paper": fmt_delta(difference(paper_psnr, (prev_paper or {}).get("val_psnr_db")), 2) if i else "",
        "Params (M)": fmt_float(params, 4),
        "Params paper": fmt_float(paper_params, 4),
        "Δ Params": fmt_delta(difference(params, paper_params), 4),
        f"FLOPs {FLOPS_SIDE}² (G)": fmt_float(run.flops_256 / 1e9 if run and run.flops_256 is not None else None, 2),
        "FLOPs paper": fmt_float(flops.get(b) if b is not None else None, 2),
        runtime[0]: runtime[1](run),
        "Runtime paper (ms)": fmt_float(paper.get("val_time_ms"), 2),
        "Runtime vs baseline": percent_change(run.runtime_s, base_run.runtime_s) if i and run and base_run else "",
        "Paper vs baseline": percent_change(paper.get("val_time_ms"), base_paper.get("val_time_ms")) if i else "",
    }


def _table3_row(b: int | None, run: NtireRun | None, paper: dict[str, Any] | None, flops: dict[int, float],
                versus: Versus) -> dict[str, str]:
    params, paper_params = millions(run.params) if run else None, as_float(paper.get("params_m")) if paper else None
    return {
        "B": str(b) if b is not None else MISSING,
        "Run": run_cell(run) + ("" if paper else " (not in the paper)"),
        **budget_cells(run),
        "Params": fmt_int(run.params) if run else MISSING,
        "Params (M)": fmt_float(params, 4),
        "Params paper (M)": fmt_float(paper_params, 4),
        "Δ Params": fmt_delta(difference(params, paper_params), 4),
        f"FLOPs {FLOPS_SIDE}² (G)": fmt_float(run.flops_256 / 1e9 if run and run.flops_256 is not None else None, 2),
        "FLOPs paper": fmt_float(flops.get(b) if b is not None else None, 2),
        "PSNR": psnr_cell(run),
        **versus.cells(run, as_float(paper.get("val_psnr_db")) if paper else None),
    }


def render_table3(ctx: ReportContext, data: NtireData | None = None) -> str:
    data = data or collect(ctx)
    ref = ctx.ref("table3", SOURCE)
    target = paper_target("table3", ctx)
    runs = [r for r in data.of("ntire_table3") if r.method == "imdn" and not r.two_stage]
    flops = paper_flops(ctx)
    versus = Versus(data, ref.figure(), data.budget("ntire_table3"))
    by_b: dict[int | None, list[NtireRun]] = {}
    for run in runs:
        by_b.setdefault(run.blocks, []).append(run)
    paper_by_b = {blocks_of(p.get("size")): p for p in ref.rows if p.get("method") == "imdn"}
    depths = list(paper_by_b) + sorted((b for b in by_b if b not in paper_by_b), key=lambda b: -(b or 0))
    shown: list[NtireRun | None] = [run for b in depths for run in by_b.get(b) or [None]]
    rows = [_table3_row(b, run, paper_by_b.get(b), flops, versus) for b in depths for run in by_b.get(b) or [None]]
    if target and rows:
        rows.append({k: "" for k in rows[0]} | {
            "B": "Target",
            "Params paper (M)": fmt_target(target.get("params_m"), 4),
            "PSNR paper": fmt_target(target.get("val_psnr_db"), 2),
        })
    lines = header(
        "NTIRE 2022 Table 3: number of IMDBs (IMDN, x4 RGB)", ctx.preset, ctx.runs, ref,
        conventions_text(data, shown) + versus.words(), shown=[r.name for r in shown if r],
    )
    if not runs:
        lines += [fill_hint("ntire_table3", "one-stage x4 RGB imdn runs at sizes B8, B7, B6, B5, B4"), ""]
    lines += table_lines(with_floors(rows, data, "B"), ("B", "Run"))
    notes = (floor_notes(data, shown) + list(ref.notes) + versus.notes(shown) + missing_notes(shown) + data.notes
             + ctx.runs.notes)
    if not ref.found:
        notes.append(f"no reference numbers found for table3 in {ctx.references_dir}/{SOURCE}.yaml")
    return finish_table(lines, notes)


@dataclass
class _Table5:
    """Table 5's runs (the IMDN-CLB runs at the pruned depth) and the paper row each plays."""

    depth: int | None
    clb: list[NtireRun]  # every imdn-clb run the table may use
    runs: list[NtireRun]  # those at `depth`
    stage1: NtireRun | None
    matched: list[tuple[dict[str, Any] | None, NtireRun | None]]


def _match_table5(ctx: ReportContext, data: NtireData, ref: Reference) -> _Table5:
    clb = [r for r in data.of("ntire_table5") if r.method == "imdn-clb"]
    paper_b = next((b for p in ref.rows if (b := blocks_of(p.get("size"))) is not None), 7)
    depth = depth_map(clb, paper_b + 1, paper_b)[paper_b]  # the pruned depth the CLB runs train
    runs = [r for r in clb if r.blocks == depth]
    stage1, extra = first_run(r for r in runs if not r.two_stage)
    paired, rest = pair_stage2([r for r in runs if r.two_stage], stage2_patches(ctx))
    matched: list[tuple[dict[str, Any] | None, NtireRun | None]] = [
        (paper, stage1 if as_int(paper.get("stage")) == 1 else paired.get(as_int(paper.get("patch_size")) or -1))
        for paper in ref.rows]
    return _Table5(depth, clb, runs, stage1, matched + [(None, r) for r in extra + rest])


def _stage_rate(run: NtireRun | None) -> float | None:
    if run is None:
        return None
    return run.stage2_sec_per_iter if run.two_stage else run.sec_per_iter


def _table5_row(paper: dict[str, Any], run: NtireRun | None, stage1: NtireRun | None,
                paper_stage1: dict[str, Any], versus: Versus) -> dict[str, str]:
    psnr, paper_psnr = run.psnr if run else None, as_float(paper.get("val_psnr_db"))
    is_stage1 = (run is not None and not run.two_stage) or (run is None and as_int(paper.get("stage")) == 1)
    return {
        "Row": str(paper.get("label")) if paper else ("Stage 2" if run and run.two_stage else "Stage 1") + " (not in the paper)",
        "Run": run_cell(run),
        "LR patches": patch_text(run),
        **budget_cells(run),
        "Patch paper": str(as_int(paper.get("patch_size")) or MISSING) if paper else MISSING,
        "PSNR": psnr_cell(run),
        **versus.cells(run, paper_psnr),
        "vs stage 1": "" if is_stage1 else fmt_delta(difference(psnr, stage1.psnr if stage1 else None), 2),
        "vs stage 1 paper": "" if is_stage1 or not paper else fmt_delta(difference(paper_psnr, paper_stage1.get("val_psnr_db")), 2),
        "s/iter (whole run)": fmt_float(run.sec_per_iter, 4) if run else MISSING,
        "s/iter (this stage)": fmt_float(_stage_rate(run), 4),
        "× stage 1": "" if is_stage1 else ratio_text(_stage_rate(run), _stage_rate(stage1)),
        "Epoch time paper (s)": fmt_float(paper.get("epoch_time_s"), 0),
        "× stage 1 paper": "" if is_stage1 or not paper else ratio_text(paper.get("epoch_time_s"), paper_stage1.get("epoch_time_s")),
        "GPU memory paper (MB)": fmt_int(paper.get("gpu_memory_mb")),
    }


def render_table5(ctx: ReportContext, data: NtireData | None = None) -> str:
    data = data or collect(ctx)
    ref = ctx.ref("table5", SOURCE)
    t = _match_table5(ctx, data, ref)
    versus = Versus(data, ref.figure(), data.budget("ntire_table5"))
    paper_stage1 = next((p for p in ref.rows if as_int(p.get("stage")) == 1), {})
    rows = [_table5_row(paper or {}, run, t.stage1, paper_stage1, versus) for paper, run in t.matched]
    shown = [r for _, r in t.matched]
    lines = header(
        f"NTIRE 2022 Table 5: second-stage patch size (IMDN-CLB{f' B{t.depth}' if t.depth else ''}, x4 RGB)",
        ctx.preset, ctx.runs, ref,
        conventions_text(data, shown, costs=False) + " *s/iter (whole run)* is train.json's `sec_per_iter` "
        "(training wall time / iterations, both stages); *s/iter (this stage)* is stage 2 alone for two-stage "
        "runs (from metrics.csv's cumulative training seconds) and the whole run for stage 1. The paper gives "
        "seconds per epoch and GPU memory instead (its GPUs, its epochs): compare the *× stage 1* ratios. "
        "GPU memory is not measured here. Our runs pair with the paper's stage-2 patch sizes exactly when a run "
        "trains one of them, else in increasing order." + versus.words(),
        shown=[r.name for r in shown if r],
    )
    if not t.runs:
        lines += [fill_hint("ntire_table5", "x4 RGB imdn-clb runs at one depth: a one-stage run and two-stage runs "
                             "with different config.yaml patch_size_stage2"), ""]
    lines += table_lines(with_floors(rows, data, "Row"), ("Row", "Run", "LR patches"))
    notes = floor_notes(data, shown) + list(ref.notes)
    others = sorted({r.name for r in t.clb} - {r.name for r in t.runs})
    if others:
        notes.append(f"imdn-clb runs at other depths than B{t.depth} (not shown): " + ", ".join(span(n) for n in others))
    notes += versus.notes(shown) + missing_notes(shown) + data.notes + ctx.runs.notes
    if not ref.found:
        notes.append(f"no reference numbers found for table5 in {ctx.references_dir}/{SOURCE}.yaml")
    return finish_table(lines, notes)


RENDERERS: dict[str, Callable[[ReportContext, NtireData | None], str]] = {
    "ntire_table2": render_table2,
    "ntire_table3": render_table3,
    "ntire_table5": render_table5,
}


def render(ctx: ReportContext, table: str, data: NtireData | None = None) -> str:
    return RENDERERS[table](ctx, data)
