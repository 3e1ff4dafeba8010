"""The published-models table: released checkpoints measured here, beside their authors' figures.

Every number of ours is measured by the same commands as the runs trained here (eval, measure with
the NTIRE protocol). A published figure gets a difference only when it measures the same thing:
params always; FLOPs when our count uses the same counter at the same input; PSNR only on the same
dataset, channel convention and border. Otherwise the published figure stands beside ours, with
its dataset and convention named.
"""
from __future__ import annotations

from typing import Any

from repbench.report.compare import comparable, paper_delta
from repbench.report.context import ReportContext
from repbench.report.markdown import footer, header, md_table
from repbench.report.numbers import fmt_delta, fmt_float, fmt_int
from repbench.report.references import figure
from repbench.results import Run
from repbench.report.tables.floors import floor_rows
from repbench.results.values import as_float, dataset_key, dataset_label, ordered_datasets
from repbench.report.numbers import MISSING
from repbench.results.notes import span

def published_budget(pub: dict[str, Any]) -> str:
    """A released model's training budget as its source states it (train.json `published.training`)."""
    training = pub.get("training") if isinstance(pub.get("training"), dict) else {}
    return ", ".join(f"{k} {v}" for k, v in training.items() if v is not None) or "budget not stated by the source"


def published_runs(ctx: ReportContext) -> list[Run]:
    """The runs that are imported released checkpoints (train.json `published`), in registry order."""
    runs = [r for r in ctx.runs.runs if r.published is not None]
    try:
        from repbench.published.registry import names

        order = {n: i for i, n in enumerate(names())}
    except Exception:  # rendering away from the checkout: the runs folder's order
        order = {}
    return sorted(runs, key=lambda r: (order.get(r.name, len(order)), r.name))


def _flops(run: Run, figures: dict[str, Any]) -> tuple[dict[str, float | None], str | None]:
    """Our FLOPs at the published input (G) by counter, and which of them the published figure used."""
    ntire = run.measure.get("ntire") if isinstance(run.measure.get("ntire"), dict) else {}
    flops = figures.get("flops") if isinstance(figures.get("flops"), dict) else {}
    same_input = list(flops.get("lr") or [256, 256]) == list(ntire.get("flops_lr_hw") or [])
    ours = {key: (as_float(ntire.get(key)) / 1e9 if same_input and as_float(ntire.get(key)) is not None else None)
            for key in ("flops_fvcore", "flops_ntire2022")}
    counter = str(flops.get("counter") or "")
    match = "flops_ntire2022" if counter.startswith("NTIRE 2022") else "flops_fvcore" if counter.startswith("fvcore") else None
    return ours, match


def _psnr_cells(run: Run, figures: dict[str, Any]) -> tuple[str, str]:
    """The published PSNRs with their dataset, and the differences on the same dataset, convention and border."""
    shown, deltas = [], []
    for entry in figures.get("psnr") or []:
        dataset, convention = str(entry.get("dataset")), str(entry.get("convention", "y")).lower()
        shown.append(f"{fmt_float(entry.get('value'), 2)} ({dataset}, {convention.upper()}, "
                     f"{entry.get('border', '?')}-px border)")
        ours = run.scores.get(dataset_key(dataset))
        if ours:  # compare's rule: a Δ only on the same set, channel, scale and (where recorded) border
            scale = ours.scale if ours.scale is not None else run.scale
            mine = figure(dataset, convention, scale, ours.border if ours.border is not None else run.scale)
            theirs = figure(dataset, convention, entry.get("scale", run.scale), entry.get("border"))
            if comparable(mine, theirs):
                deltas.append(paper_delta(ours.psnr(convention), entry.get("value"), mine, theirs, 2))
    return "; ".join(shown) or MISSING, "; ".join(deltas) or "no same-data figure"


def _row(ctx: ReportContext, run: Run, sets: list[str]) -> dict[str, str]:
    pub = run.train["published"]
    figures = pub.get("figures") or {}
    wide = ctx.wide[ctx.wide["run"] == run.name]
    w = wide.iloc[0] if len(wide) else {}
    params = as_float(w.get("params_deployed")) if len(wide) else None
    flops, match = _flops(run, figures)
    paper_flops = as_float((figures.get("flops") or {}).get("g"))
    ntire = run.measure.get("ntire") if isinstance(run.measure.get("ntire"), dict) else {}
    latency = ntire.get("latency") if isinstance(ntire.get("latency"), dict) else {}
    psnr_paper, psnr_delta = _psnr_cells(run, figures)
    row = {
        "Model": f"{pub.get('label', run.name)} ({span(run.name)})",
        "Network": f"{run.method} {run.size} x{run.scale}",
        "Params": fmt_int(params),
        "Params paper (Δ)": _with_delta(fmt_int(figures.get("params")), params, figures.get("params"), 0),
        "FLOPs fvcore (G)": fmt_float(flops["flops_fvcore"], 2),
        "FLOPs 2022 counter (G)": fmt_float(flops["flops_ntire2022"], 2),
        "FLOPs paper (Δ)": _with_delta(fmt_float(paper_flops, 2), flops.get(match or ""), paper_flops, 2),
        "#conv": fmt_int(as_float(ntire.get("convs")) if ntire else (w.get("n_conv") if len(wide) else None)),
        "#conv paper": fmt_int(figures.get("convs")),
    }
    for key in sets:
        for conv in ("y", "rgb"):
            row[f"{dataset_label(key)} {conv.upper()}"] = fmt_float(run.scores[key].psnr(conv) if key in run.scores else None, 2)
    row["PSNR paper"] = psnr_paper
    row["Δ PSNR (same data)"] = psnr_delta
    row["Latency ms/img (ours)"] = fmt_float(latency.get("ms_mean"), 1)
    row["Throughput img/s (ours)"] = fmt_float(w.get("throughput") if len(wide) else None, 2)
    runtime = figures.get("runtime") if isinstance(figures.get("runtime"), dict) else {}
    row["Runtime paper"] = f"{fmt_float(runtime.get('ms'), 2)} ms ({runtime.get('device')})" if runtime else MISSING
    return row


def _with_delta(paper_text: str, ours: Any, paper: Any, digits: int) -> str:
    a, b = as_float(ours), as_float(paper)
    return f"{paper_text} ({fmt_delta(a - b, digits)})" if a is not None and b is not None else paper_text


def _floor_lines(ctx: ReportContext, scale: int, sets: list[str]) -> list[dict[str, str]]:
    rows = []
    for _, f in floor_rows(ctx.wide, scale).iterrows():
        row = {"Model": f"{str(f['method']).capitalize()} (floor)", "Network": f"x{scale}"}
        for key in sets:
            for conv in ("y", "rgb"):
                row[f"{dataset_label(key)} {conv.upper()}"] = fmt_float(f.get(f"psnr_{conv}_{key}"), 2)
        rows.append(row)
    return rows


def _notes(runs: list[Run]) -> list[str]:
    notes = []
    for run in runs:
        pub = run.train["published"]
        budget = published_budget(pub)
        err = run.train.get("merge_max_abs_err_float64")
        merge = (f"merged here, max |training − merged| {err:.1e} in float64" if err is not None else
                 "released re-parameterized: no training form to check the merge against"
                 if run.train.get("released_form") == "deployed" else "not re-parameterizable (deployed as released)")
        counter = ((pub.get("figures") or {}).get("flops") or {}).get("counter")
        flops = f"; published FLOPs counted with {counter} (Δ against our count of the same kind)" if counter else ""
        notes.append(f"{span(run.name)}: {pub.get('citation', '')}; {pub.get('licence', '')}; trained as published "
                     f"({budget}), not by repbench; sha256 {str(run.train.get('source', {}).get('sha256'))[:12]}…; "
                     f"{merge}{flops}.")
    return notes


def _clock_notes(ctx: ReportContext, runs: list[Run]) -> list[str]:
    """How our latency and throughput were taken (from the records themselves)."""
    notes = []
    for run in runs[:1]:
        ntire = run.measure.get("ntire") if isinstance(run.measure.get("ntire"), dict) else {}
        lat = ntire.get("latency") if isinstance(ntire.get("latency"), dict) else {}
        if lat:
            notes.append(f"*Latency*: {lat.get('label', 'per image')}; on {ntire.get('latency_dataset', 'the first test set')} "
                         f"({lat.get('images')} images), {lat.get('timer')} on {lat.get('device_name')}, "
                         f"{lat.get('warmup')} warm-up forwards. The published runtimes come from the challenges' GPUs.")
        row = ctx.wide[ctx.wide["run"] == run.name]
        if len(row) and row.iloc[0].get("throughput_label"):
            notes.append(f"*Throughput*: the deployed network, {row.iloc[0]['throughput_label']} "
                         f"({row.iloc[0].get('throughput_device')}).")
    return notes


def render_published(ctx: ReportContext) -> str:
    runs = published_runs(ctx)
    sets = ordered_datasets({key for r in runs for key in r.scores})
    intro = ("Released checkpoints of the field (data/published.yaml), imported with `repbench import` and measured "
             "by the same commands as the runs trained here: PSNR on the Y channel and on RGB (uint8 output, border = "
             "scale, which at x4 is the challenges' 4 pixels); params; FLOPs at a 256x256 LR input counted two ways: "
             "fvcore (NTIRE 2024: one multiply-add = one FLOP) and the NTIRE 2022 counter (conv multiply-accumulates "
             "without bias plus one per activation output); the published figure's Δ is against the same kind; #conv; "
             "per-image fp32 latency and throughput on this machine. *paper* columns are the authors' figures; a "
             "difference (Δ = ours − paper) is shown only where both measure the same thing: PSNR only on the same "
             "dataset, convention and border. These models were trained by their authors at full budgets; the runs "
             "trained here are not.")
    lines = header("Published models, measured one way", ctx.preset, ctx.runs, None, intro)
    if not runs:
        lines += ["No published model in this runs folder yet: add `published: {models: [...]}` to the preset's "
                  "experiments and run `snakemake --cores all results/published.md`, or `repbench import NAME "
                  "--run-dir RUNS/NAME` (see `repbench import --list`).", ""]
        return "\n".join(lines) + "\n"
    rows = [_row(ctx, r, sets) for r in runs]
    scales = sorted({r.scale for r in runs if r.scale})
    for scale in scales:
        rows += [dict.fromkeys(rows[0], "") | f for f in _floor_lines(ctx, scale, sets)]
    right = [c for c in rows[0] if c not in ("Model", "Network", "PSNR paper", "Runtime paper")]
    lines.append(md_table(rows, right))
    return "\n".join(lines + footer(_clock_notes(ctx, runs) + _notes(runs))) + "\n"
