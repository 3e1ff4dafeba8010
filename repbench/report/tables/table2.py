"""The paper's Table 2: tiny SR networks (x4, Y), our numbers beside the paper's."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from repbench.report.context import ReportContext
from repbench.report.markdown import _delta, _fill_hint, _footer, _header, _md_table, fmt_delta, fmt_float, fmt_g, fmt_int, fmt_k, fmt_mpx
from repbench.report.cells import TIE, fmt_spread, legend, mark_notes, seeds_in, ties
from repbench.report.cells import label as marked_label
from repbench.report.references import Reference
from repbench.report.runs import frame_datasets, members
from repbench.report.values import MISSING, _is_blank, _method_rank, _num, _size_rank, dataset_label
from repbench.report.tables.floors import budget_words, floor_hint, floor_rows
from repbench.report.mdescape import span


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


@dataclass
class _Table2:
    """What the rows of Table 2 share: the paper's numbers, the test sets and the seed ties."""

    ref: Reference
    run_sets: list[str]
    dup: bool
    tied: dict[str, set[str]]
    with_seeds: bool
    marks: dict[str, Any]
    matched_ids: set[int] = field(default_factory=set)


def _sorted_runs(ours: pd.DataFrame) -> pd.DataFrame:
    ranks = [(_size_rank(r["size"]), _method_rank(r["method"]), r["run"]) for r in ours.to_dict("records")]
    return ours.iloc[sorted(range(len(ours)), key=lambda i: ranks[i])]


def _ties_by_size(records: list[dict[str, Any]], run_sets: list[str]) -> dict[str, set[str]]:
    """Ties with the best row of each regime (the paper bolds the best per size): only seeds can tell."""
    tied: dict[str, set[str]] = {d: set() for d in run_sets}
    for size in dict.fromkeys(r["size"] for r in records):
        for d in run_sets:
            tied[d] |= ties([r for r in records if r["size"] == size], f"psnr_y_{d}")
    return tied


def _table2_row(t: _Table2, r: dict[str, Any]) -> dict[str, str]:
    ref = t.ref
    paper = _paper_match(ref, r["method"], r["size"])
    if paper is not None:
        t.matched_ids.add(id(paper))
    row: dict[str, str] = {"Model": marked_label(r["label"], r["run"], t.marks)}
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
        "Paper: Params / FLOPs / #Conv": (
            f"{fmt_float(paper.get('params_k'), 2)}K / {fmt_float(paper.get('flops_g'), 2)}G / {fmt_int(paper.get('n_conv'))}"
            if paper is not None and paper.get("params_k") is not None else MISSING
        ),
    }
    for d in t.run_sets:
        label_d = dataset_label(d)
        psnr, ssim = r.get(f"psnr_y_{d}"), r.get(f"ssim_y_{d}")
        cell = _psnr_ssim(psnr, ssim)
        if t.with_seeds and cell != MISSING:
            tie = f" {TIE}" if r["run"] in t.tied[d] else ""
            cell = f"{fmt_spread(r, f'psnr_y_{d}')}{tie} / {fmt_float(ssim, 4)}"
        row[f"{label_d} PSNR / SSIM"] = cell
        pp = ref.value(paper, "psnr", d) if paper is not None else None
        ps = ref.value(paper, "ssim", d) if paper is not None else None
        if d in ref.datasets:
            row[f"{label_d} paper"] = _psnr_ssim(pp, ps)
            dp, ds = _delta(psnr, pp), _delta(ssim, ps)
            row[f"{label_d} Δ"] = MISSING if dp is None and ds is None else f"{fmt_delta(dp, 2)} / {fmt_delta(ds, 4)}"
    for d in (d for d in ref.datasets if d not in t.run_sets):
        row[f"{dataset_label(d)} paper"] = _psnr_ssim(
            ref.value(paper, "psnr", d) if paper is not None else None,
            ref.value(paper, "ssim", d) if paper is not None else None,
        )
    return row


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
            _md_table(paper_rows, {k for k in paper_rows[0] if k not in ("Id", "Paper row")}), ""]


def _table2_notes(ctx: ReportContext, t: _Table2, ours: pd.DataFrame, floors: pd.DataFrame, scale: int) -> list[str]:
    ref = t.ref
    notes = mark_notes((r["run"] for r in ours.to_dict("records")), t.marks, ctx.restarts())
    notes += list(ref.notes)
    notes += [f"{p.get('label')}: {' '.join(str(p['note']).split())}" for p in ref.rows if p.get("note")]
    missing_measure = [r["run"] for _, r in ours.iterrows() if _is_blank(r["params_deployed"]) and _is_blank(r["macs"])]
    missing_eval = [r["run"] for _, r in ours.iterrows() if not any(_num(r.get(f"psnr_y_{d}")) for d in t.run_sets)]
    if missing_measure:
        notes.append("no counts.json or measure.json yet (run `repbench measure`): " + ", ".join(span(m) for m in missing_measure))
    if missing_eval:
        notes.append("no eval/*.json yet (run `repbench eval`): " + ", ".join(span(m) for m in missing_eval))
    return notes + floor_hint(floors, scale) + ctx.runs.notes


_TABLE2_WORDS = (
    "PSNR / SSIM on the Y channel (border = scale shaved). *Nearest* and *Bicubic* are the floors (fixed "
    "upsamplers of the same LR images, scored the same way): a trained network below them has not learnt "
    "its task. *Params (deployed, true)* is `sum(p.numel())` of the "
    "merged network; *Params (paper conv.)* is the paper's Table 2 convention (conv weights + biases + 2 x PReLU "
    "slopes; SESR: conv weights only), and *FLOPs (paper conv.)* is that count x the LR pixels of a 1280x720 "
    "output. *MACs* are fvcore's count of the deployed network (one multiply-add = 1) for a 1280x720 output. "
)


def render_table2(ctx: ReportContext, scale: int = 4) -> str:
    ref, wide = ctx.ref("table2"), ctx.wide
    ours = members(wide, "table2")
    ours = _sorted_runs(ours[ours["scale"] == scale])
    floors = floor_rows(wide, scale)
    run_sets = [d for d in frame_datasets(wide) if pd.concat([ours, floors])[f"psnr_y_{d}"].notna().any()]
    records = ours.to_dict("records")
    t = _Table2(
        ref, run_sets, dup=bool(ours.duplicated(["method", "size"], keep=False).any() or ours["tag"].notna().any()),
        tied=_ties_by_size(records, run_sets), with_seeds=seeds_in(records), marks=ctx.marks(),
    )
    rows = [_table2_row(t, r) for r in floors.to_dict("records") + records]
    right = {k for k in rows[0] if k not in ("Model", "Run")} if rows else set()
    lines = _header(
        f"Table 2: tiny SR networks (x{scale}, Y channel)", ctx.preset, ctx.runs, ref,
        _TABLE2_WORDS + budget_words(ours) + (" " + legend(records) if t.with_seeds else ""),
    )
    if len(ours) == 0:
        lines += [_fill_hint("table2", f"x{scale} Y-channel (colors 1) runs of the Table 2 methods"), ""]
    if rows:
        lines += [_md_table(rows, right), ""]
    lines += _paper_only_rows(ref, t.matched_ids)
    return "\n".join(lines + _footer(_table2_notes(ctx, t, ours, floors, scale))).rstrip() + "\n"
