"""The RepSR paper's Tables 1-7 as Markdown: our numbers beside the paper's, with deltas.

    render_table2      tiny SR networks (x4, Y): params, MACs, #conv, PSNR / SSIM per test set
    render_ablation    Tables 1 and 4-7, whose rows are fixed by the paper (see ABLATIONS)
    render_table3      training time, ECBSR vs RepSR
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable

import pandas as pd

from repbench.report.bn import ARTIFACT_WORDS, DIAGNOSE_CMD, STRATEGY_LABELS
from repbench.report.context import ReportContext
from repbench.report.markdown import (
    _delta,
    _fill_hint,
    _footer,
    _header,
    _md_table,
    fmt_delta,
    fmt_duration,
    fmt_float,
    fmt_g,
    fmt_int,
    fmt_k,
)
from repbench.report.cells import TIE, fmt_spread, legend, mark_notes, seeds_in, ties
from repbench.report.cells import label as marked_label
from repbench.report.references import Reference
from repbench.report.seeds import SPREAD_WORDS
from repbench.report.runs import PAPER_ITERATIONS, artifact_datasets, frame_datasets, members
from repbench.report.values import (
    method_label,
    MISSING,
    REFERENCE_METHODS,
    _int,
    _is_blank,
    _method_rank,
    _num,
    _size_rank,
    dataset_label,
)


# --------------------------------------------------------------------------- Table 2


def _paper_match(ref: Reference, method: str, size: Any) -> dict[str, Any] | None:
    for row in ref.rows:
        if row.get("external"):
            continue
        if row.get("method") == method and (row.get("size") == size or method == "bicubic"):
            return row
    return None


def _psnr_ssim(psnr: Any, ssim: Any) -> str:
    if _num(psnr) is None and _num(ssim) is None:
        return MISSING
    return f"{fmt_float(psnr, 2)} / {fmt_float(ssim, 4)}"


def floor_rows(wide: pd.DataFrame, scale: int | None) -> pd.DataFrame:
    """The reference upsamplers (nearest, bicubic) evaluated at `scale`: the floors shown in every table."""
    refs = wide[wide["method"].isin(REFERENCE_METHODS) & (wide["scale"] == scale)]
    return refs.iloc[sorted(range(len(refs)), key=lambda i: _method_rank(refs.iloc[i]["method"]))]


def floor_hint(floors: pd.DataFrame, scale: int | None) -> list[str]:
    have = set(floors["method"])
    return [f"no {m} floor at x{scale}: `repbench eval --model {m} --scale {scale} --dataset SET --out "
            f"RUNS/{m}-x{scale}/eval/SET-x{scale}.json` adds it" for m in REFERENCE_METHODS if m not in have]


def budget_words(rows: pd.DataFrame) -> str:
    """The sentence on training budgets and the validation set (train.json `val_data`)."""
    sets = sorted({str(v) for v in rows.get("val_data", pd.Series(dtype=object)).dropna() if str(v)})
    where = f"validated on {', '.join(sets)}" if sets else "validation set not recorded"
    return (f"*Iters* and *Train s* are each run's training budget (train.json `budget`, else its `iterations` / "
            f"`train_seconds`; the mean over seeds); runs {where}.")


def render_table2(ctx: ReportContext, scale: int = 4) -> str:
    ref = ctx.ref("table2")
    wide = ctx.wide
    marks = ctx.marks()
    ours = members(wide, "table2")
    ours = ours[ours["scale"] == scale]
    floors = floor_rows(wide, scale)
    run_sets = [d for d in frame_datasets(wide) if pd.concat([ours, floors])[f"psnr_y_{d}"].notna().any()]
    ref_sets = [d for d in ref.datasets if d not in run_sets]
    ranks = [(_size_rank(r["size"]), _method_rank(r["method"]), r["run"]) for r in ours.to_dict("records")]
    ours = ours.iloc[sorted(range(len(ours)), key=lambda i: ranks[i])]
    dup = bool(ours.duplicated(["method", "size"], keep=False).any() or ours["tag"].notna().any())
    records = ours.to_dict("records")
    # Ties with the best row of each regime (the paper bolds the best per size): only seeds can tell.
    tied: dict[str, set[str]] = {d: set() for d in run_sets}
    for size in dict.fromkeys(r["size"] for r in records):
        for d in run_sets:
            tied[d] |= ties([r for r in records if r["size"] == size], f"psnr_y_{d}")
    with_seeds = seeds_in(records)

    rows: list[dict[str, str]] = []
    matched_ids: set[int] = set()
    for r in floors.to_dict("records") + records:
        paper = _paper_match(ref, r["method"], r["size"])
        if paper is not None:
            matched_ids.add(id(paper))
        row: dict[str, str] = {"Model": marked_label(r["label"], r["run"], marks)}
        if dup:
            row["Run"] = f"`{r['run']}`"
        row |= {
            "Params (deployed, true)": fmt_int(r["params_deployed"]),
            "Params (paper conv.)": fmt_k(r["params_paper"]),
            "MACs (1280x720)": fmt_g(r["macs"]),
            "FLOPs (paper conv.)": fmt_g(r["flops_paper"]),
            "#Conv": fmt_int(r["n_conv"]),
            "Iters": fmt_int(r.get("iterations")),
            "Train s": fmt_float(r.get("train_seconds"), 0),
            "Paper: Params / FLOPs / #Conv": (
                f"{fmt_float(paper.get('params_k'), 2)}K / {fmt_float(paper.get('flops_g'), 2)}G / {fmt_int(paper.get('n_conv'))}"
                if paper is not None and paper.get("params_k") is not None else MISSING
            ),
        }
        for d in run_sets:
            label_d = dataset_label(d)
            psnr, ssim = r.get(f"psnr_y_{d}"), r.get(f"ssim_y_{d}")
            cell = _psnr_ssim(psnr, ssim)
            if with_seeds and cell != MISSING:
                tie = f" {TIE}" if r["run"] in tied[d] else ""
                cell = f"{fmt_spread(r, f'psnr_y_{d}')}{tie} / {fmt_float(ssim, 4)}"
            row[f"{label_d} PSNR / SSIM"] = cell
            pp = ref.value(paper, "psnr", d) if paper is not None else None
            ps = ref.value(paper, "ssim", d) if paper is not None else None
            if d in ref.datasets:
                row[f"{label_d} paper"] = _psnr_ssim(pp, ps)
                dp, ds = _delta(psnr, pp), _delta(ssim, ps)
                row[f"{label_d} Δ"] = MISSING if dp is None and ds is None else f"{fmt_delta(dp, 2)} / {fmt_delta(ds, 4)}"
        for d in ref_sets:
            row[f"{dataset_label(d)} paper"] = _psnr_ssim(
                ref.value(paper, "psnr", d) if paper is not None else None,
                ref.value(paper, "ssim", d) if paper is not None else None,
            )
        rows.append(row)
    right = {k for k in rows[0] if k not in ("Model", "Run")} if rows else set()

    lines = _header(
        f"Table 2: tiny SR networks (x{scale}, Y channel)",
        ctx.preset,
        ctx.runs.root,
        ref,
        "PSNR / SSIM on the Y channel (border = scale shaved). *Nearest* and *Bicubic* are the floors (fixed "
        "upsamplers of the same LR images, scored the same way): a trained network below them has not learnt "
        "its task. *Params (deployed, true)* is `sum(p.numel())` of the "
        "merged network; *Params (paper conv.)* is the paper's Table 2 convention (conv weights + biases + 2 x PReLU "
        "slopes; SESR: conv weights only), and *FLOPs (paper conv.)* is that count x the LR pixels of a 1280x720 "
        "output. *MACs* are fvcore's count of the deployed network (one multiply-add = 1) for a 1280x720 output. "
        + budget_words(ours) + (" " + legend(records) if with_seeds else ""),
    )
    if len(ours) == 0:
        lines += [_fill_hint("table2", f"x{scale} Y-channel (colors 1) runs of the Table 2 methods"), ""]
    if rows:
        lines += [_md_table(rows, right), ""]
    unmatched = [r for r in ref.rows if id(r) not in matched_ids]
    if unmatched:
        lines += ["## Paper rows without a matching run in this preset", ""]
        paper_rows = []
        for p in unmatched:
            prow = {
                "Id": str(p.get("id", "")),
                "Paper row": str(p.get("label", "")),
                "Params / FLOPs / #Conv": f"{fmt_float(p.get('params_k'), 2)}K / {fmt_float(p.get('flops_g'), 2)}G / {fmt_int(p.get('n_conv'))}",
            }
            for d in ref.datasets:
                prow[f"{dataset_label(d)} PSNR / SSIM"] = _psnr_ssim(ref.value(p, "psnr", d), ref.value(p, "ssim", d))
            paper_rows.append(prow)
        lines += [_md_table(paper_rows, {k for k in paper_rows[0] if k not in ("Id", "Paper row")}), ""]
    notes = mark_notes((r["run"] for r in records), marks)
    notes += list(ref.notes)
    notes += [f"{p.get('label')}: {' '.join(str(p['note']).split())}" for p in ref.rows if p.get("note")]
    missing_measure = [r["run"] for _, r in ours.iterrows() if _is_blank(r["params_deployed"]) and _is_blank(r["macs"])]
    missing_eval = [r["run"] for _, r in ours.iterrows() if not any(_num(r.get(f"psnr_y_{d}")) for d in run_sets)]
    if missing_measure:
        notes.append("no measure.json yet (run `repbench measure`): " + ", ".join(f"`{m}`" for m in missing_measure))
    if missing_eval:
        notes.append("no eval/*.json yet (run `repbench eval`): " + ", ".join(f"`{m}`" for m in missing_eval))
    notes += floor_hint(floors, scale)
    notes += ctx.runs.notes
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"


# --------------------------------------------------------------------------- Tables 1, 4-7 (fixed paper rows)


@dataclass(frozen=True)
class AblationSpec:
    table: str
    title: str
    run_key: Callable[[dict[str, Any]], Hashable]  # a run -> the key of the paper row it reproduces
    ref_key: Callable[[dict[str, Any]], Hashable]  # a paper row -> its key
    key_text: Callable[[Hashable], str]  # a key -> the row name shown for runs the paper lacks
    needs: str  # which runs fill the table (said when none does)


def _ref_bn(row: dict[str, Any]) -> str:
    options, training = row.get("options") or {}, row.get("training") or {}
    if not options.get("bn"):
        return "no_bn"
    return "frozen_bn" if training.get("frozen_bn") else "bn"


def _ref_option(name: str, default: Any) -> Callable[[dict[str, Any]], Hashable]:
    return lambda row: (row.get("options") or {}).get(name, default)


_BN_TEXT = {"no_bn": "w/o BN", "bn": "w/ BN", "frozen_bn": "w/ BN, frozen BN (Proposed)"}

ABLATIONS: dict[str, AblationSpec] = {
    "table1": AblationSpec(
        "table1", "Table 1: BN strategies in EDSR (x2)",
        run_key=lambda r: r["bn_strategy"], ref_key=_ref_bn, key_text=lambda k: _BN_TEXT.get(str(k), str(k)),
        needs="x2 EDSR runs with options.bn false, bn true, and bn true + frozen BN (train.json bn_frozen_at)",
    ),
    "table4": AblationSpec(
        "table4", "Table 4: re-parameterization methods vs EDSR, large models (x4)",
        run_key=lambda r: r["method"], ref_key=lambda row: row.get("method"), key_text=lambda k: method_label(str(k)),
        needs="x4 RGB (colors 3) runs of plain, repvgg, ecbsr, edsr and repsr with default options",
    ),
    "table5": AblationSpec(
        "table5", "Table 5: RepSR block ablations (x4)",
        run_key=lambda r: r["variant"], ref_key=_ref_option("variant", "repsr"), key_text=lambda k: f"variant={k}",
        needs="x4 RGB repsr runs with options.variant in repsr, no_residual, residual_bn, c3bn_c1bn, c3bnc1bn, c1bnc3",
    ),
    "table6": AblationSpec(
        "table6", "Table 6: RepSR width multiplier (x4)",
        run_key=lambda r: _int(r["expand"]), ref_key=lambda row: _int(_ref_option("expand", 2)(row)),
        key_text=lambda k: f"expand={k}", needs="x4 RGB repsr runs with options.expand 1..4",
    ),
    "table7": AblationSpec(
        "table7", "Table 7: RepSR number of branches (x4)",
        run_key=lambda r: _int(r["branches"]), ref_key=lambda row: _int(_ref_option("branches", 2)(row)),
        key_text=lambda k: f"branches={k}", needs="x4 RGB repsr runs with options.branches 1..4",
    ),
}


def _metric_for(ref: Reference) -> tuple[str, str]:
    """(column prefix, words) of the PSNR the paper's table used: RGB where its setting says so, else Y."""
    channel = str(ref.setting.get("channel") or "").upper()
    if channel == "RGB":
        return "psnr_rgb", "PSNR on RGB (as the paper's table)"
    if channel == "Y":
        return "psnr_y", "PSNR on the Y channel (as the paper's table)"
    return "psnr_y", "PSNR on the Y channel (the paper does not state its channel)"


def render_ablation(ctx: ReportContext, spec: AblationSpec) -> str:
    ref = ctx.ref(spec.table)
    metric, metric_words = _metric_for(ref)
    ours = members(ctx.wide, spec.table)
    ours = ours.assign(_key=[spec.run_key(r) for r in ours.to_dict("records")])
    run_sets = [d for d in frame_datasets(ctx.wide) if ours[f"{metric}_{d}"].notna().any()] if len(ours) else []
    sets = run_sets + [d for d in ref.datasets if d not in run_sets]
    # Table 1 is the BN experiment: its BN runs also show what bn-diagnose measured on them.
    bn_sets = (
        [d for d in artifact_datasets(ctx.wide) if ours[f"artifact_score_{d}"].notna().any()]
        if spec.table == "table1" and len(ours) else []
    )

    marks = ctx.marks()
    scales = sorted({_int(s) for s in ours["scale"] if _int(s) is not None})
    scale = scales[0] if scales else (_int(ref.setting.get("scale")) or (2 if spec.table == "table1" else 4))
    floors = floor_rows(ctx.wide, scale)
    if len(ours) == 0:
        run_sets = [d for d in frame_datasets(ctx.wide) if floors[f"{metric}_{d}"].notna().any()] if len(floors) else []
        sets = run_sets + [d for d in ref.datasets if d not in run_sets]
    records = ours.to_dict("records")
    tied = {d: ties(records, f"{metric}_{d}") for d in run_sets}
    with_seeds = seeds_in(records)

    def cells(text: str, run: dict[str, Any] | None, paper: dict[str, Any] | None) -> dict[str, str]:
        row = {
            "Row": marked_label(text, run["run"] if run else None, marks),
            "Run": f"`{run['run']}`" if run else "no run",
            "Size": str(run["size"]) if run and not _is_blank(run.get("size")) else MISSING,
            "Iters": fmt_int(run.get("iterations")) if run else MISSING,
            "Train s": fmt_float(run.get("train_seconds"), 0) if run else MISSING,
        }
        for d in sets:
            name = dataset_label(d)
            mine = run.get(f"{metric}_{d}") if run else None
            theirs = ref.value(paper, "psnr", d) if paper else None
            if d in run_sets:
                row[f"{name} ours"] = fmt_spread(run, f"{metric}_{d}") if with_seeds else fmt_float(mine, 2)
                if run is not None and run["run"] in tied[d]:
                    row[f"{name} ours"] += f" {TIE}"
            if d in ref.datasets:
                row[f"{name} paper"] = fmt_float(theirs, 2)
            if d in run_sets and d in ref.datasets:
                row[f"{name} Δ"] = fmt_delta(_delta(mine, theirs), 2)
        for d in bn_sets:
            name = dataset_label(d)
            if run is not None and run.get("method") in REFERENCE_METHODS:
                row[f"{name} artifact score"] = row[f"{name} artifact_db"] = ""
                continue
            if run is not None and run.get("bn_strategy") == "no_bn":
                row[f"{name} artifact score"] = row[f"{name} artifact_db"] = "no BN"
                continue
            row[f"{name} artifact score"] = fmt_delta(run.get(f"artifact_score_{d}") if run else None, 3)
            row[f"{name} artifact_db"] = fmt_float(run.get(f"artifact_db_{d}") if run else None, 3)
        return row

    rows: list[dict[str, str]] = [cells(f"{f['label']} (floor)", f, None) for f in floors.to_dict("records")]
    used: set[str] = set()
    for paper in ref.rows:
        key = spec.ref_key(paper)
        matches = [r for r in ours.to_dict("records") if r["_key"] == key]
        used.update(r["run"] for r in matches)
        label = str(paper.get("label", spec.key_text(key)))
        rows += [cells(label, r, paper) for r in matches] or [cells(label, None, paper)]
    for r in ours.to_dict("records"):
        if r["run"] not in used:
            rows.append(cells(f"{spec.key_text(r['_key'])} (not in the paper)", r, None))

    extra = (f"{metric_words}, border = scale shaved. The *(floor)* rows are fixed upsamplers (nearest, bicubic) "
             f"of the same x{scale} LR images, scored the same way: a trained network below them has not learnt its task."
             + (f" {ARTIFACT_WORDS}" if bn_sets else "") + " " + budget_words(ours) + (" " + legend(records) if with_seeds else ""))
    lines = _header(spec.title, ctx.preset, ctx.runs.root, ref, extra)
    if len(ours) == 0:
        lines += [_fill_hint(spec.table, spec.needs), ""]
    if rows:
        lines += [_md_table(rows, {k for k in rows[0] if k not in ("Row", "Run", "Size")}), ""]
    if spec.table == "table1":
        lines += _bn_drop_section(ours, run_sets, metric)
    notes = mark_notes((r["run"] for r in records), marks) + list(ref.notes) + floor_hint(floors, scale)
    if spec.table == "table1":
        unscored = [r["run"] for r in ours.to_dict("records") if r.get("bn_strategy") in STRATEGY_LABELS
                    and not any(_num(r.get(f"artifact_score_{d}")) is not None for d in bn_sets)]
        if unscored:
            notes.append(f"no BN artifact scores yet (run {DIAGNOSE_CMD}): " + ", ".join(f"`{n}`" for n in unscored))
    if not ref.found:
        notes.append(f"no reference numbers found for {spec.table} in {ctx.references_dir}/repsr2022.yaml")
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"


def _bn_drop_section(ours: pd.DataFrame, sets: list[str], metric: str) -> list[str]:
    """The paper's point in Table 1: how far each BN strategy moves PSNR from the run without BN."""
    base = ours[ours["_key"] == "no_bn"]
    if len(base) == 0 or len(ours) < 2 or not sets:
        return []
    ref_run = base.iloc[0]
    rows = []
    for r in ours.to_dict("records"):
        if r["run"] == ref_run["run"]:
            continue
        row = {"Strategy": _BN_TEXT.get(str(r["_key"]), str(r["_key"])), "Run": f"`{r['run']}`"}
        for d in sets:
            row[f"{dataset_label(d)} Δ vs w/o BN"] = fmt_delta(_delta(r.get(f"{metric}_{d}"), ref_run.get(f"{metric}_{d}")), 2)
        rows.append(row)
    if not rows:
        return []
    return [f"## Ours: PSNR change vs our run without BN (`{ref_run['run']}`)", "",
            _md_table(rows, {k for k in rows[0] if k not in ("Strategy", "Run")}), ""]


# --------------------------------------------------------------------------- Table 3 (training time)


def render_table3(ctx: ReportContext) -> str:
    """Training time per iteration, from the training runs themselves (runs.budget_fields: train.json
    `sec_per_iter`, else budget seconds / iterations; the mean over seeds). The ratio RepSR vs ECBSR and the
    projection to the paper's 1000K iterations use only that. measure.json's synthetic step time
    (`repbench measure --train-speed`) is shown apart and feeds nothing."""
    ref = ctx.ref("table3")
    ours = members(ctx.wide, "table3").to_dict("records")
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in ours:
        by_key.setdefault((r["method"], str(r["size"])), []).append(r)
    keys = [(str(p.get("method")), str(p.get("size"))) for p in ref.rows]
    for r in sorted(ours, key=lambda r: (_size_rank(r["size"]), _method_rank(r["method"]))):
        if (r["method"], str(r["size"])) not in keys:
            keys.append((r["method"], str(r["size"])))
    paper_of = {(str(p.get("method")), str(p.get("size"))): p for p in ref.rows}

    def hours(r: dict[str, Any] | None) -> float | None:
        spi = _num(r.get("sec_per_iter")) if r else None
        return spi * PAPER_ITERATIONS / 3600 if spi is not None else None

    def reduction(size: str, mine: float | None, get: Callable[[str], float | None]) -> str:
        ecb = get(size)
        return fmt_delta(100 * (mine / ecb - 1), 0) + "%" if mine is not None and ecb else MISSING

    def ours_spi(method: str, size: str) -> float | None:
        runs = by_key.get((method, size), [])
        return _num(runs[0].get("sec_per_iter")) if runs else None

    def paper_hours(method: str, size: str) -> float | None:
        p = paper_of.get((method, size))
        minutes = _num(p.get("train_minutes")) if p else None
        return minutes / 60 if minutes is not None else None

    with_seeds = seeds_in(ours)
    rows = []
    mixed: list[str] = []
    seen: set[tuple[str, str]] = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        method, size = key
        paper = paper_of.get(key)
        if method == "repsr" and by_key.get(key) and by_key.get(("ecbsr", size)):
            devices = {by_key[key][0].get("train_device"), by_key[("ecbsr", size)][0].get("train_device")}
            if len(devices) > 1:
                mixed.append(size)
        for r in by_key.get(key, [None]):  # type: ignore[list-item]
            synthetic = _num(r.get("train_speed_sec_per_iter")) if r else None
            row = {
                "Method": method_label(method) if paper is None else str(paper.get("label", method)),
                "Size": size,
                "Run": f"`{r['run']}`" if r else "no run",
                "s/iter (training run)": (fmt_spread(r, "sec_per_iter", 4) if with_seeds else fmt_float(r.get("sec_per_iter"), 4)) if r else MISSING,
                "Training run: iterations / time / device": (
                    f"{fmt_int(r.get('iterations'))} / {fmt_duration(r.get('train_seconds'))} / {r.get('train_device') or MISSING}"
                    if r else MISSING
                ),
                "Projected 1000K it. (h)": fmt_float(hours(r), 1),
                "Ours vs ECBSR": reduction(size, ours_spi(method, size), lambda s: ours_spi("ecbsr", s)) if method == "repsr" else "",
                "Paper time": str(paper.get("train_time")) if paper else MISSING,
                "Paper (h)": fmt_float(paper_hours(method, size), 1),
                "Paper vs ECBSR": reduction(size, paper_hours(method, size), lambda s: paper_hours("ecbsr", s)) if method == "repsr" else "",
                "Synthetic step s (not in ratio)": fmt_float(synthetic, 4),
                "Synthetic: batch / LR patch / device": (
                    f"{fmt_int(r.get('train_speed_batch'))} / {fmt_int(r.get('train_speed_patch'))} / {r.get('train_speed_device') or MISSING}"
                    if synthetic is not None else MISSING
                ),
            }
            rows.append(row)
    lines = _header(
        "Table 3: training time, ECBSR vs RepSR (x4, Y channel)",
        ctx.preset,
        ctx.runs.root,
        ref,
        "*s/iter (training run)* is the one definition of training time used here: the training run's own "
        "train.json `sec_per_iter` (its training wall time / iterations; else `budget.train_seconds / "
        "budget.iterations`)" + (", the mean over seeds" if with_seeds else "") + ". *Projected 1000K it.* is it "
        f"times {PAPER_ITERATIONS:,} iterations, and *Ours vs ECBSR* is RepSR's s/iter vs ECBSR's at the same size. "
        "*Synthetic step s* is a separate, synthetic figure (`repbench measure --train-speed`: forward + backward + "
        "Adam step on random batches, no data loading, at the batch and patch shown); it feeds neither the projection "
        f"nor the ratio. The paper measured its times on {ref.setting.get('hardware', 'its GPU cluster')}; "
        "compare ratios (*vs ECBSR*), not hours, across machines." + (f" {SPREAD_WORDS}." if with_seeds else ""),
    )
    if not ours:
        lines += [_fill_hint("table3", "x4 Y-channel ecbsr and repsr runs (ideally at M4C16, M10C16, M10C32, M16C64)"), ""]
    left = ("Method", "Size", "Run", "Training run: iterations / time / device", "Synthetic: batch / LR patch / device", "Paper time")
    right = {k for k in (rows[0] if rows else {}) if k not in left}
    lines += [_md_table(rows, right), ""]
    notes = list(ref.notes)
    if mixed:
        notes.append("ECBSR and RepSR trained on different devices at " + ", ".join(mixed) + ": their ratio mixes machines")
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"
