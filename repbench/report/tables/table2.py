"""The paper's Table 2: tiny SR networks (x4, Y), our numbers beside the paper's."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from repbench.report.context import ReportContext
from repbench.report.markdown import fill_hint, footer, header, md_table
from repbench.report.numbers import fmt_delta, fmt_float, fmt_g, fmt_int, fmt_k, fmt_mpx
from repbench.report.cells import (BEST_WORDS, TIE_BEST_WORDS, best_runs, distinct_labels, fmt_marked, mark_notes,
                                   run_facts, seeds_in, ties)
from repbench.report.cells import label as marked_label
from repbench.results.seeds import SPREAD_WORDS
from repbench.report.compare import paper_value, why_no_delta
from repbench.report.references import Reference, figure
from repbench.results import frame_datasets, members
from repbench.results.values import difference, REFERENCE_METHODS, is_blank, method_rank, as_float, size_rank, dataset_label
from repbench.report.numbers import MISSING
from repbench.report.tables.floors import budget_words, floor_hint, floor_rows
from repbench.results.notes import span


def _paper_match(ref: Reference, method: str, size: Any) -> dict[str, Any] | None:
    for row in ref.rows:
        if row.get("external"):
            continue
        if row.get("method") == method and (row.get("size") == size or method == "bicubic"):
            return row
    return None


def _psnr_ssim(psnr: Any, ssim: Any) -> str:
    if as_float(psnr) is None and as_float(ssim) is None:
        return MISSING
    return f"{fmt_float(psnr, 2)} / {fmt_float(ssim, 4)}"


@dataclass
class _Table2:
    """What the rows of Table 2 share: the paper's numbers, the test sets, the marks and the row labels."""

    ref: Reference
    run_sets: list[str]
    dup: bool
    tied: dict[str, set[str]]
    with_seeds: bool
    marks: dict[str, Any]
    best: dict[str, set[str]] = field(default_factory=dict)  # test set -> runs with the best mean of their size
    labels: dict[str, str] = field(default_factory=dict)  # run -> its row label, unique in the table
    papers: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # run -> the paper row it reproduces
    matched_ids: set[int] = field(default_factory=set)


def _sorted_runs(ours: pd.DataFrame) -> pd.DataFrame:
    ranks = [(size_rank(r["size"]), method_rank(r["method"]), r["run"]) for r in ours.to_dict("records")]
    return ours.iloc[sorted(range(len(ours)), key=lambda i: ranks[i])]


def _by_size(records: list[dict[str, Any]], run_sets: list[str],
             rank: Callable[[list[dict[str, Any]], str], set[str]]) -> dict[str, set[str]]:
    """`rank` (cells.best_runs or cells.ties) within each size, per test set: the paper bolds the best per regime."""
    marked: dict[str, set[str]] = {d: set() for d in run_sets}
    for size in dict.fromkeys(str(r["size"]) for r in records):
        for d in run_sets:
            marked[d] |= rank([r for r in records if str(r["size"]) == size], f"psnr_y_{d}")
    return marked


def _score_cell(t: _Table2, r: dict[str, Any], d: str) -> str:
    """Our PSNR / SSIM on one set: the mean (± spread, n) with its marks (bold best of its size, ≈ best)."""
    psnr, ssim = r.get(f"psnr_y_{d}"), r.get(f"ssim_y_{d}")
    if as_float(psnr) is None:
        return _psnr_ssim(psnr, ssim)
    run = r["run"]
    return f"{fmt_marked(r, f'psnr_y_{d}', run in t.best[d], run in t.tied[d])} / {fmt_float(ssim, 4)}"


def _table2_row(t: _Table2, r: dict[str, Any]) -> dict[str, str]:
    """Our measured columns first, then the paper's group: its counts, and its scores with Δ on our test sets."""
    ref, paper = t.ref, t.papers.get(r["run"])
    row: dict[str, str] = {"Model": marked_label(t.labels[r["run"]], r["run"], t.marks)}
    if t.dup:
        row["Run"] = span(r['run'])
    row |= {
        "Params (deployed, true)": fmt_int(r["params_deployed"]),
        "Params (paper conv.)": fmt_k(r["params_paper"]),
        "MACs (1280x720)": fmt_g(r["macs"]),
        "FLOPs (paper conv.)": fmt_g(r["flops_paper"]),
        "#Conv": fmt_int(r["n_conv"]),
        "Iters": fmt_int(r.get("iterations")),
        "LR Mpx": fmt_mpx(r.get("lr_pixels")),
        "Train s": fmt_float(r.get("train_seconds"), 0),
    }
    for d in t.run_sets:
        row[f"{dataset_label(d)} PSNR / SSIM"] = _score_cell(t, r, d)
    row["Paper: Params / FLOPs / #Conv"] = (
        f"{fmt_float(paper.get('params_k'), 2)}K / {fmt_float(paper.get('flops_g'), 2)}G / {fmt_int(paper.get('n_conv'))}"
        if paper is not None and paper.get("params_k") is not None else MISSING
    )
    for d in (d for d in t.run_sets if d in ref.datasets):
        pp, ps = (ref.value(paper, "psnr", d), ref.value(paper, "ssim", d)) if paper is not None else (None, None)
        ours, paper_fig = figure(d, "Y", r.get("scale")), ref.figure(d)  # compare's rule: Δ only on the same data
        row[f"{dataset_label(d)} paper"] = paper_value(_psnr_ssim(pp, ps), ours, paper_fig)
        dp, ds = difference(r.get(f"psnr_y_{d}"), pp), difference(r.get(f"ssim_y_{d}"), ps)
        why = why_no_delta(ours, paper_fig)
        row[f"{dataset_label(d)} Δ"] = (MISSING if dp is None and ds is None else f"no Δ ({why})" if why
                                        else f"{fmt_delta(dp, 2)} / {fmt_delta(ds, 4)}")
    return row


def _paper_only_sets(t: _Table2, records: list[dict[str, Any]]) -> list[str]:
    """The paper's scores on the test sets this preset does not test on, for the rows above that it reports:
    a table of their own, so the main table holds what we measured and what compares with it."""
    sets = [d for d in t.ref.datasets if d not in t.run_sets]
    rows = []
    for r in records:
        paper = t.papers.get(r["run"])
        cells = {f"{dataset_label(d)} paper": _psnr_ssim(t.ref.value(paper, "psnr", d), t.ref.value(paper, "ssim", d))
                 for d in sets} if paper is not None else {}
        if any(v != MISSING for v in cells.values()):
            rows.append({"Model": t.labels[r["run"]], **cells})
    if not rows:
        return []
    names = ", ".join(dataset_label(d) for d in sets)
    return ["## Paper-only test sets", "",
            f"The paper also scores these models on {names}, which this preset does not test on: its PSNR / SSIM "
            "(Y channel), for the rows above it reports. Nothing in this table is measured here.", "",
            md_table(rows, {k for k in rows[0] if k != "Model"}), ""]


def _paper_only_rows(ref: Reference, matched_ids: set[int]) -> list[str]:
    """The paper's rows that no run of this preset reproduces, as their own table."""
    unmatched = [r for r in ref.rows if id(r) not in matched_ids]
    if not unmatched:
        return []
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
    return ["## Paper rows without a matching run in this preset", "",
            md_table(paper_rows, {k for k in paper_rows[0] if k not in ("Id", "Paper row")}), ""]


def _table2_notes(ctx: ReportContext, t: _Table2, ours: pd.DataFrame, floors: pd.DataFrame, scale: int) -> list[str]:
    ref = t.ref
    notes = mark_notes((r["run"] for r in ours.to_dict("records")), t.marks, ctx.restarts())
    notes += list(ref.notes)
    notes += [f"{p.get('label')}: {' '.join(str(p['note']).split())}" for p in ref.rows if p.get("note")]
    missing_measure = [r["run"] for _, r in ours.iterrows() if is_blank(r["params_deployed"]) and is_blank(r["macs"])]
    missing_eval = [r["run"] for _, r in ours.iterrows() if not any(as_float(r.get(f"psnr_y_{d}")) for d in t.run_sets)]
    if missing_measure:
        notes.append("no counts.json or measure.json yet (run `repbench measure`): " + ", ".join(span(m) for m in missing_measure))
    if missing_eval:
        notes.append("no eval/*.json yet (run `repbench eval`): " + ", ".join(span(m) for m in missing_eval))
    return notes + floor_hint(floors, scale) + ctx.runs.notes


_TABLE2_WORDS = (
    "PSNR / SSIM on the Y channel (border = scale shaved). *Nearest* and *Bicubic* are the floors (fixed "
    "upsamplers of the same LR images, scored the same way): a trained network below them has not learnt "
    "its task. Our measured columns come first; from *Paper: Params / FLOPs / #Conv* on, the columns are the "
    "paper's numbers for the same model and Δ = ours − paper on our test sets; the test sets the paper reports "
    "and this preset does not test on, if any, are under *Paper-only test sets*, below the table. "
    "*Params (deployed, true)* is `sum(p.numel())` of the "
    "merged network; *Params (paper conv.)* is the paper's Table 2 convention (conv weights + biases + 2 x PReLU "
    "slopes; SESR: conv weights only), and *FLOPs (paper conv.)* is that count x the LR pixels of a 1280x720 "
    "output. *MACs* are fvcore's count of the deployed network (one multiply-add = 1) for a 1280x720 output. "
)


def _legend_line(t: _Table2) -> str:
    """The marks of the score cells, in words, right under the table."""
    words = BEST_WORDS
    if t.with_seeds:
        words += f" {SPREAD_WORDS}; n = seeds with a score. {TIE_BEST_WORDS}"
    return words


def _context(ctx: ReportContext, ours: pd.DataFrame, floors: pd.DataFrame, run_sets: list[str]) -> _Table2:
    records, shown = ours.to_dict("records"), floors.to_dict("records") + ours.to_dict("records")
    ref = ctx.ref("table2")
    t = _Table2(
        ref, run_sets, dup=bool(ours.duplicated(["method", "size"], keep=False).any() or ours["tag"].notna().any()),
        tied=_by_size(records, run_sets, ties), with_seeds=seeds_in(records), marks=ctx.marks(),
        best=_by_size(records, run_sets, best_runs),
        papers={r["run"]: _paper_match(ref, r["method"], r["size"]) for r in shown},
    )
    t.matched_ids = {id(p) for p in t.papers.values() if p is not None}
    labels = distinct_labels([str(r["label"]) for r in shown],
                             [run_facts(r) if r["method"] not in REFERENCE_METHODS else {} for r in shown])
    t.labels = {r["run"]: text for r, text in zip(shown, labels)}
    return t


def render_table2(ctx: ReportContext, scale: int = 4) -> str:
    wide = ctx.wide
    ours = members(wide, "table2")
    ours = _sorted_runs(ours[ours["scale"] == scale])
    floors = floor_rows(wide, scale)
    run_sets = [d for d in frame_datasets(wide) if pd.concat([ours, floors])[f"psnr_y_{d}"].notna().any()]
    t = _context(ctx, ours, floors, run_sets)
    shown = floors.to_dict("records") + ours.to_dict("records")
    rows = [_table2_row(t, r) for r in shown]
    right = {k for k in rows[0] if k not in ("Model", "Run")} if rows else set()
    lines = header(
        f"Table 2: tiny SR networks (x{scale}, Y channel)", ctx.preset, ctx.runs, t.ref,
        _TABLE2_WORDS + budget_words(ours), shown=ours["run"],
    )
    if len(ours) == 0:
        lines += [fill_hint("table2", f"x{scale} Y-channel (colors 1) runs of the Table 2 methods"), ""]
    if rows:
        lines += [md_table(rows, right), "", _legend_line(t), ""]
    lines += _paper_only_sets(t, shown) + _paper_only_rows(t.ref, t.matched_ids)
    return "\n".join(lines + footer(_table2_notes(ctx, t, ours, floors, scale))).rstrip() + "\n"
