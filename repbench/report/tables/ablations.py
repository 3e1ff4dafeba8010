"""The paper's Tables 1 and 4-7, whose rows the paper fixes (see ABLATIONS)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable

import pandas as pd

from repbench.report.bn import ARTIFACT_WORDS, DIAGNOSE_CMD, STRATEGY_LABELS
from repbench.results.checks import typical_spreads
from repbench.results.seeds import spread
from repbench.report.context import ReportContext
from repbench.report.markdown import fill_hint, footer, header, md_table, md_inline, span
from repbench.report.numbers import fmt_delta, fmt_float, fmt_int, fmt_mpx
from repbench.report.cells import TIE, distinct_labels, fmt_spread, legend, mark_notes, run_facts, seeds_in, ties
from repbench.report.cells import label as marked_label
from repbench.report.compare import paper_delta, paper_value
from repbench.report.references import Reference, figure
from repbench.results import artifact_datasets, frame_datasets, members
from repbench.results.values import difference, method_label, REFERENCE_METHODS, as_int, is_blank, as_float, dataset_label
from repbench.report.numbers import MISSING
from repbench.report.tables.floors import budget_words, floor_hint, floor_rows


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
        run_key=lambda r: as_int(r["expand"]), ref_key=lambda row: as_int(_ref_option("expand", 2)(row)),
        key_text=lambda k: f"expand={k}", needs="x4 RGB repsr runs with options.expand 1..4",
    ),
    "table7": AblationSpec(
        "table7", "Table 7: RepSR number of branches (x4)",
        run_key=lambda r: as_int(r["branches"]), ref_key=lambda row: as_int(_ref_option("branches", 2)(row)),
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


@dataclass
class _Ablation:
    """What the rows of one ablation table share."""

    ref: Reference
    metric: str
    sets: list[str]
    run_sets: list[str]
    bn_sets: list[str]
    tied: dict[str, set[str]]
    with_seeds: bool
    marks: dict[str, Any]
    scale: int | None = None  # the runs' scale (what our figures are measured at)


def _bn_cells(row: dict[str, str], a: _Ablation, run: dict[str, Any] | None) -> None:
    """Table 1's BN runs also show what bn-diagnose measured on them."""
    for d in a.bn_sets:
        name = dataset_label(d)
        if run is not None and run.get("method") in REFERENCE_METHODS:
            row[f"{name} artifact score"] = row[f"{name} artifact_db"] = ""
            continue
        if run is not None and run.get("bn_strategy") == "no_bn":
            row[f"{name} artifact score"] = row[f"{name} artifact_db"] = "no BN"
            continue
        row[f"{name} artifact score"] = fmt_delta(run.get(f"artifact_score_{d}") if run else None, 3)
        row[f"{name} artifact_db"] = fmt_float(run.get(f"artifact_db_{d}") if run else None, 3)


def _ablation_row(a: _Ablation, text: str, run: dict[str, Any] | None, paper: dict[str, Any] | None) -> dict[str, str]:
    row = {
        "Row": marked_label(text, run["run"] if run else None, a.marks),
        "Run": span(run['run']) if run else "no run",
        "Size": str(run["size"]) if run and not is_blank(run.get("size")) else MISSING,
        "Iters": fmt_int(run.get("iterations")) if run else MISSING,
        "LR Mpx": fmt_mpx(run.get("lr_pixels")) if run else MISSING,
        "Train s": fmt_float(run.get("train_seconds"), 0) if run else MISSING,
    }
    for d in a.sets:
        name = dataset_label(d)
        mine = run.get(f"{a.metric}_{d}") if run else None
        theirs = a.ref.value(paper, "psnr", d) if paper else None
        if d in a.run_sets:
            row[f"{name} ours"] = fmt_spread(run, f"{a.metric}_{d}") if a.with_seeds else fmt_float(mine, 2)
            if run is not None and run["run"] in a.tied[d]:
                row[f"{name} ours"] += f" {TIE}"
        ours, paper_fig = figure(d, a.metric, a.scale), a.ref.figure(d)  # compare's rule: Δ only on the same data
        if d in a.ref.datasets:
            row[f"{name} paper"] = paper_value(fmt_float(theirs, 2), ours, paper_fig)
        if d in a.run_sets and d in a.ref.datasets:
            row[f"{name} Δ"] = paper_delta(mine, theirs, ours, paper_fig, 2)
    _bn_cells(row, a, run)
    return row


def _ablation_rows(a: _Ablation, spec: AblationSpec, ours: pd.DataFrame, floors: pd.DataFrame) -> list[dict[str, str]]:
    """The floors, then every paper row with the runs that reproduce it, then runs the paper lacks; a label
    several runs share says what tells them apart (cells.distinct_labels)."""
    shown: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = [
        (f"{f['label']} (floor)", f, None) for f in floors.to_dict("records")]
    used: set[str] = set()
    for paper in a.ref.rows:
        key = spec.ref_key(paper)
        matches = [r for r in ours.to_dict("records") if r["_key"] == key]
        used.update(r["run"] for r in matches)
        label = str(paper.get("label", spec.key_text(key)))
        shown += [(label, r, paper) for r in matches] or [(label, None, paper)]
    shown += [(f"{spec.key_text(r['_key'])} (not in the paper)", r, None)
              for r in ours.to_dict("records") if r["run"] not in used]
    labels = distinct_labels([text for text, _, _ in shown],
                             [run_facts(r) if r is not None and r.get("method") not in REFERENCE_METHODS else {}
                              for _, r, _ in shown])
    return [_ablation_row(a, label, r, paper) for label, (_, r, paper) in zip(labels, shown)]


ARTIFACT_MIN_DB = 0.01  # the precision a PSNR is printed to: a smaller loss is not a measured artifact
_THRESHOLD_WORDS = "the larger of 0.01 dB, the precision of a printed PSNR, and the seeds' spread of that PSNR"


def _artifact_loss(r: dict[str, Any], d: str, typical: dict[tuple[Any, Any, str], float]) -> tuple[float, float] | None:
    """(dB lost to BN's population statistics on set d, the loss it takes to count as an artifact), or None
    without scores. The threshold is the run's PSNR seed spread there (its own with several seeds, else the
    typical one of its scale and channels, checks.typical_spreads), at least ARTIFACT_MIN_DB."""
    loss, score = as_float(r.get(f"artifact_db_{d}")), as_float(r.get(f"artifact_score_{d}"))
    if loss is None and score is None:
        return None
    loss = loss if loss is not None else max(0.0, -(score or 0.0))
    _, std, n = spread(r, f"psnr_y_{d}")
    if std is None or n < 2:
        std = typical.get((as_int(r.get("scale")), as_int(r.get("colors")), f"psnr_y_{d}"))
    return loss, max(ARTIFACT_MIN_DB, std or 0.0)


def bn_effect_words(ours: pd.DataFrame, sets: list[str], typical: dict[tuple[Any, Any, str], float]) -> str:
    """Table 1's verdict in words, under the table: whether a BN artifact is measured at this budget
    (a BN run losing more than the threshold to its population statistics on some set), naming each run's loss."""
    bn_runs = [r for r in ours.to_dict("records") if r.get("bn_strategy") in STRATEGY_LABELS]
    if not bn_runs:
        return ""
    losses = [(r, d, *found) for r in bn_runs for d in sets if (found := _artifact_loss(r, d, typical)) is not None]
    unscored = [span(r["run"]) for r in bn_runs if not any(x[0] is r for x in losses)]
    if not losses:
        return ("At this budget no BN artifact is measured: no run with BN has artifact scores yet (run "
                f"{DIAGNOSE_CMD}), so this table cannot say whether BN's population statistics cost quality here.")
    limits = sorted({round(x[3], 3) for x in losses})
    several = len(limits) > 1
    limit = f"its threshold ({_THRESHOLD_WORDS})" if several else f"{limits[0]:.3f} dB ({_THRESHOLD_WORDS})"

    def items(chosen: list[tuple[Any, ...]]) -> str:
        return "; ".join(f"{STRATEGY_LABELS[r['bn_strategy']]} {span(r['run'])} loses {loss:.3f} dB on {dataset_label(d)}"
                         + (f" (threshold {bar:.3f} dB)" if several else "")
                         for r, d, loss, bar in chosen)

    above, below = [x for x in losses if x[2] > x[3]], [x for x in losses if x[2] <= x[3]]
    later = f" Not scored yet: {', '.join(unscored)} (run {DIAGNOSE_CMD})." if unscored else ""
    if not above:
        return (f"At this budget no BN artifact is measured: {items(below)} to BN's population statistics "
                f"(*artifact_db*), none more than {limit}. The paper's BN artifacts, and frozen BN removing them, do "
                "not show here: the PSNR differences between these rows are not BN artifacts." + later)
    return (f"At this budget a BN artifact is measured: {items(above)} to BN's population statistics (*artifact_db*), "
            f"more than {limit}." + (f" No artifact: {items(below)}." if below else "") + later)


def _ablation_notes(ctx: ReportContext, spec: AblationSpec, a: _Ablation, ours: pd.DataFrame,
                    floors: pd.DataFrame, scale: int) -> list[str]:
    notes = mark_notes((r["run"] for r in ours.to_dict("records")), a.marks, ctx.restarts()) + list(a.ref.notes) + floor_hint(floors, scale)
    if spec.table == "table1":
        unscored = [r["run"] for r in ours.to_dict("records") if r.get("bn_strategy") in STRATEGY_LABELS
                    and not any(as_float(r.get(f"artifact_score_{d}")) is not None for d in a.bn_sets)]
        if unscored:
            notes.append(f"no BN artifact scores yet (run {DIAGNOSE_CMD}): " + ", ".join(span(n) for n in unscored))
    if not a.ref.found:
        notes.append(f"no reference numbers found for {spec.table} in {ctx.references_dir}/repsr2022.yaml")
    return notes


def render_ablation(ctx: ReportContext, spec: AblationSpec) -> str:
    ref = ctx.ref(spec.table)
    metric, metric_words = _metric_for(ref)
    ours = members(ctx.wide, spec.table)
    ours = ours.assign(_key=[spec.run_key(r) for r in ours.to_dict("records")])
    scales = sorted({as_int(s) for s in ours["scale"] if as_int(s) is not None})
    scale = scales[0] if scales else (as_int(ref.setting.get("scale")) or (2 if spec.table == "table1" else 4))
    floors = floor_rows(ctx.wide, scale)
    shown = ours if len(ours) else floors  # without runs, the test sets are the floors'
    run_sets = [d for d in frame_datasets(ctx.wide) if shown[f"{metric}_{d}"].notna().any()] if len(shown) else []
    records = ours.to_dict("records")
    a = _Ablation(
        ref, metric, sets=run_sets + [d for d in ref.datasets if d not in run_sets], run_sets=run_sets,
        # Table 1 is the BN experiment: its BN runs also show what bn-diagnose measured on them.
        bn_sets=([d for d in artifact_datasets(ctx.wide) if ours[f"artifact_score_{d}"].notna().any()]
                 if spec.table == "table1" and len(ours) else []),
        tied={d: ties(records, f"{metric}_{d}") for d in run_sets}, with_seeds=seeds_in(records), marks=ctx.marks(),
        scale=scale,
    )
    rows = _ablation_rows(a, spec, ours, floors)
    extra = (f"{metric_words}, border = scale shaved. The *(floor)* rows are fixed upsamplers (nearest, bicubic) "
             f"of the same x{scale} LR images, scored the same way: a trained network below them has not learnt its task."
             + (f" {ARTIFACT_WORDS}" if a.bn_sets else "") + " " + budget_words(ours)
             + (" " + legend(records) if a.with_seeds else ""))
    lines = header(spec.title, ctx.preset, ctx.runs, ref, extra, shown=ours["run"])
    if len(ours) == 0:
        lines += [fill_hint(spec.table, spec.needs), ""]
    if rows:
        lines += [md_table(rows, {k for k in rows[0] if k not in ("Row", "Run", "Size")}), ""]
    if spec.table == "table1":
        verdict = bn_effect_words(ours, artifact_datasets(ctx.wide), typical_spreads(ctx.wide))
        lines += ([verdict, ""] if verdict else []) + _bn_drop_section(ours, run_sets, metric)
    return "\n".join(lines + footer(_ablation_notes(ctx, spec, a, ours, floors, scale))).rstrip() + "\n"


def _bn_drop_section(ours: pd.DataFrame, sets: list[str], metric: str) -> list[str]:
    """The paper's point in Table 1: how far each BN strategy moves PSNR from the run without BN."""
    base = ours[ours["_key"] == "no_bn"]
    if len(base) == 0 or len(ours) < 2 or not sets:
        return []
    ref_run = base.iloc[0]
    others = [r for r in ours.to_dict("records") if r["run"] != ref_run["run"]]
    texts = distinct_labels([_BN_TEXT.get(str(r["_key"]), str(r["_key"])) for r in others], [run_facts(r) for r in others])
    rows = []
    for r, text in zip(others, texts):
        row = {"Strategy": text, "Run": span(r['run'])}
        for d in sets:
            row[f"{dataset_label(d)} Δ vs w/o BN"] = fmt_delta(difference(r.get(f"{metric}_{d}"), ref_run.get(f"{metric}_{d}")), 2)
        rows.append(row)
    if not rows:
        return []
    return [md_inline(f"## Ours: PSNR change vs our run without BN ({span(ref_run['run'])})"), "",
            md_table(rows, {k for k in rows[0] if k not in ("Strategy", "Run")}), ""]
