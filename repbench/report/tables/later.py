"""Later re-parameterizations on the Mx-Cy backbone: DBB, OREPA and Conv3XC beside Table 2's plain, ECBSR
and RepSR, size by size (x4, Y).

The plain, ECBSR and RepSR rows are Table 2's own runs: the preset's `later` experiment names them too, so
the plan trains each once and both tables read the same folders. Membership is the experiment's
(repbench.results.membership: the preset's plan, else one of these six methods at a Table 2 size, x4 Y,
default options, untagged).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from repbench.report.cells import BEST_WORDS, TIE_BEST_WORDS, best_runs, fmt_marked, fmt_spread, mark_notes, seeds_in, ties
from repbench.report.cells import label as marked_label
from repbench.report.context import ReportContext
from repbench.report.markdown import fill_hint, footer, header, md_table
from repbench.report.numbers import fmt_delta, fmt_float, fmt_int
from repbench.results.notes import span
from repbench.results import frame_datasets
from repbench.results.seeds import SPREAD_WORDS, spread
from repbench.report.tables.floors import floor_hint, floor_rows
from repbench.report.tables.table3 import FORM_WORDS, train_form
from repbench.results.values import as_float, dataset_label, method_rank, size_rank
from repbench.report.numbers import MISSING
from repbench.pipeline.targets import LATER_TABLE

SCALE = 4
PLAIN_FORM = "one conv per layer (nothing to merge)"


def fmt_flops(value: Any) -> str:
    """Training FLOPs with an SI prefix: 1.16T, 842G, 3.1M."""
    v = as_float(value)
    if v is None:
        return MISSING
    for factor, unit in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M")):
        if abs(v) >= factor:
            return f"{v / factor:.3g}{unit}"
    return f"{v:.3g}"


def later_rows(wide: pd.DataFrame) -> pd.DataFrame:
    """The runs of the `later` experiment (seed runs folded), in size then method order."""
    rows = wide[wide["experiments"].map(lambda e: LATER_TABLE in e)]
    rows = rows[rows["scale"] == SCALE]
    order = sorted(range(len(rows)), key=lambda i: (size_rank(rows.iloc[i]["size"]), method_rank(rows.iloc[i]["method"]),
                                                    str(rows.iloc[i]["run"])))
    return rows.iloc[order]


def training_form(r: dict[str, Any]) -> str:
    """Table 3's training form (`train_form`), and plain's: one conv per layer, nothing to merge."""
    return PLAIN_FORM if r.get("method") == "plain" else train_form(r)


def _gain(r: dict[str, Any], plain: dict[str, Any] | None, sets: list[str]) -> str:
    """Mean PSNR minus plain's at the same size, per test set."""
    if plain is None or r is plain or r.get("method") == "plain":
        return ""
    deltas = [(spread(r, f"psnr_y_{d}")[0], spread(plain, f"psnr_y_{d}")[0]) for d in sets]
    return " / ".join(fmt_delta(a - b, 2) if a is not None and b is not None else MISSING for a, b in deltas)


def _row(r: dict[str, Any], sets: list[str], marks: dict[str, Any], best: dict[str, set], tied: dict[str, set],
         plain: dict[str, Any] | None) -> dict[str, str]:
    floor = r.get("method") in ("bicubic", "nearest")
    row = {"Model": marked_label(str(r["label"]), None if floor else r["run"], marks),
           "Run": "" if floor else span(r["run"]),
           "Training form": "" if floor else training_form(r),
           "Params (deployed)": "" if floor else fmt_int(r.get("params_deployed")),
           "Iters": "" if floor else fmt_int(r.get("iterations")),
           "s/iter (training run)": "" if floor else fmt_spread(r, "sec_per_iter", 4),
           "Train FLOPs (fwd + bwd)": "" if floor else fmt_flops(r.get("train_flops"))}
    for d in sets:
        column = f"psnr_y_{d}"
        if spread(r, column)[0] is None:
            row[f"{dataset_label(d)} PSNR / SSIM"] = MISSING
            continue
        psnr = fmt_marked(r, column, r["run"] in best[d], r["run"] in tied[d])
        row[f"{dataset_label(d)} PSNR / SSIM"] = f"{psnr} / {fmt_float(r.get(f'ssim_y_{d}'), 4)}"
    row["Δ PSNR vs plain (" + " / ".join(dataset_label(d) for d in sets) + ")"] = "" if floor else _gain(r, plain, sets)
    return row


def _size_table(size: str, ours: list[dict[str, Any]], floors: list[dict[str, Any]], sets: list[str],
                marks: dict[str, Any]) -> list[str]:
    best = {d: best_runs(ours, f"psnr_y_{d}") for d in sets}
    tied = {d: ties(ours, f"psnr_y_{d}") for d in sets}
    plain = next((r for r in ours if r.get("method") == "plain"), None)
    rows = [_row(r, sets, marks, best, tied, plain) for r in floors + ours]
    left = {"Model", "Run", "Training form"}
    return [f"## {size}", "", md_table(rows, {k for k in rows[0] if k not in left}), ""]


def _words(with_seeds: bool) -> str:
    from repbench.training.flops import RULE

    return (
        "PSNR / SSIM on the Y channel (border = scale shaved); *Nearest* and *Bicubic* are the floors (fixed upsamplers "
        "of the same LR images, scored the same way). Every method deploys to the same plain Mx-Cy network, so "
        "*Params (deployed)* (`sum(p.numel())` of the merged network) is equal within a size and only training "
        "differs. The Plain, ECBSR and RepSR rows are Table 2's own runs (the same folders), trained by the same "
        "budget rules as the new ones. *s/iter* is the training run's own time per iteration (train.json); "
        "*Training form*: " + "; ".join(f"*{k}* = {v}" for k, v in FORM_WORDS.items()) + ". *Train FLOPs* (train.json "
        f"`budget.train_flops`): {RULE}; – where the run recorded none. *Δ PSNR vs plain*: mean PSNR minus plain's "
        "at the same size." + (f" {SPREAD_WORDS}; n = seeds with a score." if with_seeds else "")
    )


def render_later(ctx: ReportContext) -> str:
    """`results/later.md`: one table per Table 2 size (floors first), then the notes."""
    ours = later_rows(ctx.wide)
    floors = floor_rows(ctx.wide, SCALE)
    sets = [d for d in frame_datasets(ctx.wide) if pd.concat([ours, floors])[f"psnr_y_{d}"].notna().any()]
    records = ours.to_dict("records")
    lines = header("Later re-parameterizations on the Mx-Cy backbone (x4, Y channel)", ctx.preset, ctx.runs, None,
                   _words(seeds_in(records)), shown=ours["run"])
    if not records:
        lines += [fill_hint(LATER_TABLE, "x4 Y-channel runs of dbb, orepa and conv3xc (and Table 2's plain, ecbsr "
                                         "and repsr) at the Table 2 sizes: the preset's `later` experiment"), ""]
    marks = ctx.marks()
    for size in dict.fromkeys(str(r["size"]) for r in records):
        lines += _size_table(size, [r for r in records if str(r["size"]) == size], floors.to_dict("records"), sets, marks)
    if records:
        lines += [BEST_WORDS + (f" {TIE_BEST_WORDS}" if seeds_in(records) else ""), ""]
    notes = mark_notes((r["run"] for r in records), marks, ctx.restarts())
    missing = [r["run"] for r in records if as_float(r.get("train_flops")) is None]
    if missing:
        notes.append("no training FLOPs in train.json (trained before they were recorded): " + ", ".join(map(span, missing)))
    return "\n".join(lines + footer(notes + floor_hint(floors, SCALE) + ctx.runs.notes)).rstrip() + "\n"
