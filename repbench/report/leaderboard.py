"""The leaderboard: one self-contained HTML page (jinja2 template, inline style, script and plots)
and a CSV of the same rows with raw numbers.

Rows are our runs and the paper's Table 2 rows; `pareto` marks the PSNR-vs-MACs front of our runs.
Each run gets a detail panel (config, measurements, scores, tiny inline SVG curves).
"""
from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from repbench.report.bn import BnRun, bn_runs
from repbench.report.cells import mark_notes
from repbench.report.seeds import spread
from repbench.report.checks import MARK
from repbench.report.context import ReportContext
from repbench.report.figures import pareto_mask
from repbench.report.markdown import fmt_delta, fmt_duration, fmt_float, fmt_g, fmt_int, fmt_k
from repbench.report.runs import Run, primary_dataset
from repbench.report.values import (
    MISSING,
    REFERENCE_METHODS,
    _int,
    _is_blank,
    _method_rank,
    _num,
    dataset_label,
    model_label,
    ordered_datasets,
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str  # "number" or "text": how the page sorts it
    title: str = ""


def leaderboard_columns(datasets: Sequence[str]) -> list[Column]:
    cols = [
        Column("method", "Model", "text", "method-size; click a row's 'details' for its config and curves"),
        Column("size", "Size", "text"),
        Column("scale", "Scale", "number"),
        Column("colors", "Ch.", "text", "Y: one channel; RGB: three"),
        Column("params_deployed", "Params", "number", "true deployed count: sum(p.numel()) of the merged network"),
        Column("params_paper", "Params (paper conv.)", "number", "the paper's Table 2 convention; reference rows give the paper's printed count"),
        Column("macs", "MACs (G)", "number", "fvcore MACs of the deployed network for a 1280x720 output"),
        Column("flops_paper", "FLOPs (paper conv., G)", "number", "paper-convention params x LR pixels; reference rows: as printed"),
        Column("n_conv", "#Conv", "number"),
        Column("n_seeds", "Seeds", "number", "training seeds behind the row: scores are their mean, ± their sample std"),
    ]
    for d in datasets:
        label = dataset_label(d)
        cols.append(Column(f"psnr_{d}", f"{label} PSNR", "number", f"{label}, Y channel, dB"))
        cols.append(Column(f"ssim_{d}", f"{label} SSIM", "number", f"{label}, Y channel"))
    cols += [
        Column("throughput", "Throughput (img/s)", "number", "deployed network, fastest measured mode; device in the next column"),
        Column("device", "Device", "text"),
        Column("train_seconds", "Train time", "number", "wall time of the training run"),
        Column("iterations", "Iters", "number"),
        Column("tables", "Tables", "text", "the paper tables this row belongs to"),
    ]
    return cols


def _device_text(r: dict[str, Any]) -> str:
    if _is_blank(r.get("throughput")):
        return ""
    parts = [str(r.get("throughput_device") or "")]
    details = [str(r[k]) for k in ("throughput_dtype", "throughput_mode") if r.get(k)]
    if _int(r.get("throughput_batch")):
        details.append(f"batch {_int(r['throughput_batch'])}")
    if _int(r.get("throughput_lr_width")) and _int(r.get("throughput_lr_height")):
        details.append(f"{_int(r['throughput_lr_width'])}x{_int(r['throughput_lr_height'])} LR")
    return parts[0] + (f" ({', '.join(details)})" if details else "")


def _cell(value: Any, text: str) -> dict[str, str]:
    num = _num(value)
    if num is not None:
        return {"value": repr(num) if not float(num).is_integer() else str(int(num)), "text": text}
    if value is None or _is_blank(value):
        return {"value": "", "text": ""}
    return {"value": str(value), "text": text}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "run"


def curve_svg(xs: Sequence[float], ys: Sequence[float], title: str, *, width: int = 300, height: int = 90, logy: bool = False) -> str:
    """A tiny dependency-free line chart (inline SVG) for a run's detail panel."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if _num(x) is not None and _num(y) is not None and (not logy or y > 0)]
    esc = html.escape(title)
    if not pts:
        return f'<svg class="curve" width="{width}" height="{height}" role="img" aria-label="{esc}: no data"><text x="8" y="{height // 2}" font-size="11">{esc}: no data</text></svg>'
    tr = (lambda v: math.log10(v)) if logy else (lambda v: v)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(tr(p[1]) for p in pts), max(tr(p[1]) for p in pts)
    pad_l, pad_r, pad_t, pad_b = 44, 8, 16, 16
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (w * (x - x0) / (x1 - x0) if x1 > x0 else w / 2)

    def sy(y: float) -> float:
        return pad_t + (h * (1 - (tr(y) - y0) / (y1 - y0)) if y1 > y0 else h / 2)

    poly = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
    lo, hi = min(p[1] for p in pts), max(p[1] for p in pts)
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2"/>' for x, y in pts) if len(pts) <= 30 else ""
    return (
        f'<svg class="curve" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc}">'
        f"<title>{esc}</title>"
        f'<text x="{pad_l}" y="11" font-size="11" font-weight="600">{esc}{" (log)" if logy else ""}</text>'
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="9" text-anchor="end">{hi:.4g}</text>'
        f'<text x="{pad_l - 4}" y="{pad_t + h}" font-size="9" text-anchor="end">{lo:.4g}</text>'
        f'<text x="{pad_l}" y="{height - 3}" font-size="9">{x0:g}</text>'
        f'<text x="{width - pad_r}" y="{height - 3}" font-size="9" text-anchor="end">{x1:g} it.</text>'
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
        f'<polyline points="{poly}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        f'<g fill="currentColor">{dots}</g></svg>'
    )


def _run_detail(run: Run, r: dict[str, Any], datasets: Sequence[str]) -> dict[str, Any]:
    t = run.train
    config = [
        ("run folder", str(run.path)),
        ("method / size / scale / colors", f"{r['method']} / {r.get('size') or MISSING} / x{_int(r.get('scale')) or MISSING} / "
                                           f"{_int(r.get('colors')) or MISSING}"),
        ("options", json.dumps(t.get("options", {}), sort_keys=True) if t else MISSING),
        ("tables", str(r.get("tables") or MISSING).replace(",", ", ")),
    ]
    for key in ("iterations", "batch_size", "patch_size", "seed", "device", "torch", "train_data", "val_data", "bn_frozen_at"):
        if key in t and t[key] is not None:
            config.append((key, json.dumps(t[key]) if isinstance(t[key], (list, dict)) else str(t[key])))
    if not _is_blank(r.get("train_seconds")):
        config.append(("training time", f"{fmt_duration(r['train_seconds'])} ({fmt_float(r.get('sec_per_iter'), 4)} s/iter)"))
    measured = []
    if not _is_blank(r.get("params_deployed")):
        measured.append(("params (deployed / training-time / paper conv.)",
                         f"{fmt_int(r.get('params_deployed'))} / {fmt_int(r.get('params_train'))} / {fmt_int(r.get('params_paper'))}"))
    if not _is_blank(r.get("macs")):
        measured.append(("MACs (1280x720 output) / #conv", f"{fmt_g(r.get('macs'), 3)} / {fmt_int(r.get('n_conv'))}"))
    if not _is_blank(r.get("throughput")):
        speedup = ""
        if _num(r.get("throughput_unmerged")):
            speedup = f"; unmerged {r['throughput_unmerged']:.1f} img/s (merging: x{r['throughput'] / r['throughput_unmerged']:.2f})"
        measured.append(("throughput", f"{r['throughput']:.1f} img/s on {_device_text(r)}{speedup}"))
        if r.get("throughput_label"):
            measured.append(("protocol", str(r["throughput_label"])))
    if not _is_blank(r.get("train_speed_sec_per_iter")):
        measured.append(("training speed", f"{r['train_speed_sec_per_iter']:.4f} s/iter at batch {fmt_int(r.get('train_speed_batch'))}, "
                                           f"projected {fmt_float(r.get('projected_hours'), 1)} h for 1000K iterations"))
    scores = [
        {"dataset": dataset_label(d), "psnr_y": fmt_float(r.get(f"psnr_y_{d}"), 3), "ssim_y": fmt_float(r.get(f"ssim_y_{d}"), 4),
         "psnr_rgb": fmt_float(r.get(f"psnr_rgb_{d}"), 3)}
        for d in datasets if not _is_blank(r.get(f"psnr_y_{d}"))
    ]
    curves = []
    m = run.metrics
    if m is not None:
        if "loss" in m:
            loss = m[m["loss"].notna()]
            curves.append(curve_svg(list(loss["iteration"]), list(loss["loss"]), "training loss",
                                    logy=bool(len(loss)) and bool((loss["loss"] > 0).all())))
        if "val_psnr" in m:
            val = m[m["val_psnr"].notna()]
            curves.append(curve_svg(list(val["iteration"]), list(val["val_psnr"]), "validation PSNR (dB)"))
    return {"id": "run-" + _slug(run.name), "title": r["label"] + f" x{_int(r.get('scale'))}", "run": run.name,
            "config": config, "measured": measured, "scores": scores, "curves": curves}


def _reference_rows(ctx: ReportContext) -> tuple[list[dict[str, Any]], str]:
    """The paper's Table 2 rows as leaderboard entries (its numbers are x4, Y channel)."""
    ref = ctx.ref("table2")
    scale = _int(ref.setting.get("scale")) or 4
    colors = _int(ref.setting.get("colors")) or 1
    rows = []
    for p in ref.rows:
        row: dict[str, Any] = {
            "kind": "paper",
            "run": None,
            "paper_id": p.get("id"),
            "method": str(p.get("method") or ""),
            "size": p.get("size"),
            "scale": scale,
            "colors": colors,
            "label": str(p.get("label") or p.get("method")),
            "params_paper": _num(p.get("params_k")) * 1e3 if _num(p.get("params_k")) is not None else None,
            "flops_paper": _num(p.get("flops_g")) * 1e9 if _num(p.get("flops_g")) is not None else None,
            "n_conv": _int(p.get("n_conv")),
            "note": " ".join(str(p.get("note") or "").split()),
        }
        for d in ref.datasets:
            row[f"psnr_y_{d}"] = ref.value(p, "psnr", d)
            row[f"ssim_y_{d}"] = ref.value(p, "ssim", d)
        rows.append(row)
    source = f"RepSR paper, Table 2 (x{scale}, Y channel)" if ref.found else ""
    return rows, source


def leaderboard_frame(ctx: ReportContext) -> tuple[pd.DataFrame, str]:
    """Every run and every reference row, raw numbers; `pareto` marks the PSNR-vs-MACs front of our runs."""
    refs, source = _reference_rows(ctx)
    runs = ctx.wide.assign(kind="run").drop(columns=["options_dict", "declared_experiments", "_rank"], errors="ignore")
    frame = pd.concat([runs, pd.DataFrame(refs)], ignore_index=True) if refs else runs
    dataset = primary_dataset(ctx.wide)
    frame["pareto"] = False
    if dataset is not None:
        scored = frame[(frame["kind"] == "run") & frame["macs"].notna() & frame[f"psnr_y_{dataset}"].notna()]
        for _, group in scored.groupby(["scale", "colors"], dropna=False):
            if len(group) < 2:  # a lone model is trivially "on the front": a badge would say nothing
                continue
            mask = pareto_mask(list(group["macs"].astype(float)), list(group[f"psnr_y_{dataset}"].astype(float)))
            frame.loc[group.index[mask], "pareto"] = True
    # Default order: by scale, then model size (true count, else the paper's), ours before the paper's.
    keys = [
        (_num(r["scale"]) or 0.0,
         _num(r.get("params_deployed")) if _num(r.get("params_deployed")) is not None else (_num(r.get("params_paper")) or -1.0),
         r["kind"] != "run", _method_rank(r["method"]), str(r.get("label")))
        for r in frame.to_dict("records")
    ]
    order = sorted(range(len(frame)), key=lambda i: keys[i])
    return frame.iloc[order].reset_index(drop=True), source


# Counts that pandas turns into floats as soon as one row lacks them; the CSV writes them back as integers.
INT_COLUMNS = (
    "scale", "colors", "iterations", "seed", "bn_frozen_at", "expand", "branches", "params_deployed", "params_train",
    "params_paper", "macs", "flops_paper", "n_conv", "throughput_batch", "throughput_lr_height", "throughput_lr_width",
    "train_speed_batch", "train_speed_patch", "macs_lr_height", "macs_lr_width",
)


def leaderboard_csv(frame: pd.DataFrame) -> str:
    front = ["kind", "run", "paper_id", "label", "method", "size", "scale", "colors", "pareto", "undertrained",
             "undertrained_reasons", "n_seeds", "seed_runs"]
    cols = [c for c in front if c in frame] + [c for c in frame.columns if c not in front]
    out = frame[cols].copy()
    counts = [c for c in out.columns if c.startswith(("artifact_images_", "n_psnr_", "n_ssim_", "n_sec_", "n_train_", "n_final_"))]
    for column in list(INT_COLUMNS) + ["n_seeds"] + counts:
        if column in out:
            values = pd.to_numeric(out[column], errors="coerce")
            if values.dropna().map(lambda v: float(v).is_integer()).all():
                out[column] = values.round().astype("Int64")
    return out.to_csv(index=False)


def artifact_rows(runs: Sequence[BnRun], by_name: dict[str, Run]) -> list[dict[str, Any]]:
    """The page's BN artifact table: one row per BN run and scored test set (a run not diagnosed yet
    keeps one row that says so, so that its absence shows)."""
    rows = []
    for bn in runs:
        run = by_name[bn.run]
        model = model_label(run.method, run.size, run.train.get("options")) + f" x{_int(run.scale) or MISSING}"
        common = {"run": bn.run, "detail_id": "run-" + _slug(bn.run), "strategy": bn.label, "model": model}
        for key in ordered_datasets(bn.scores) or [None]:
            s = bn.scores.get(key, {}) if key else {}
            rows.append(common | {
                "dataset": dataset_label(key, s.get("dataset")) if key else "not diagnosed yet (repbench bn-diagnose)",
                "n_images": fmt_int(s.get("n_images")),
                "score": fmt_delta(s.get("mean_artifact_score"), 3),
                "artifact_db": fmt_float(s.get("mean_artifact_db"), 3),
                "psnr_population": fmt_float(s.get("mean_psnr_population"), 3),
                "psnr_image_stats": fmt_float(s.get("mean_psnr_image_stats"), 3),
                "artifact": (_num(s.get("mean_artifact_score")) or 0.0) < 0,
            })
    return rows


def _row_cells(r: dict[str, Any], datasets: list[str]) -> dict[str, dict[str, Any]]:
    """The page's cells of one row: a sortable value and the text shown."""
    is_run = r["kind"] == "run"
    colors = _int(r.get("colors"))
    cells = {
        "method": {"value": str(r.get("label") or r["method"]),
                   "text": str(r.get("label") or r["method"]) + (f" {MARK}" if is_run and r.get("undertrained") is True else "")},
        "size": _cell(r.get("size"), str(r.get("size") or "")),
        "scale": _cell(r.get("scale"), f"x{_int(r['scale'])}" if _int(r.get("scale")) else ""),
        "colors": _cell({1: "Y", 3: "RGB"}.get(colors or 0), {1: "Y", 3: "RGB"}.get(colors or 0, "")),
        "params_deployed": _cell(r.get("params_deployed"), fmt_int(r.get("params_deployed"))),
        "params_paper": _cell(r.get("params_paper"), fmt_k(r.get("params_paper"))),
        "macs": _cell(r.get("macs"), fmt_float(_num(r.get("macs")) and r["macs"] / 1e9, 3)),
        "flops_paper": _cell(r.get("flops_paper"), fmt_float(_num(r.get("flops_paper")) and r["flops_paper"] / 1e9, 2)),
        "n_conv": _cell(r.get("n_conv"), fmt_int(r.get("n_conv"))),
        "n_seeds": _cell(r.get("n_seeds") if is_run and r["method"] not in REFERENCE_METHODS else None,
                         fmt_int(r.get("n_seeds"))),
        "throughput": _cell(r.get("throughput"), fmt_float(r.get("throughput"), 1)),
        "device": _cell(_device_text(r) or None, _device_text(r)),
        "train_seconds": _cell(r.get("train_seconds"), fmt_duration(r.get("train_seconds"))),
        "iterations": _cell(r.get("iterations"), fmt_int(r.get("iterations"))),
        "tables": _cell(r.get("tables") or None, str(r.get("tables") or "").replace(",", ", ")),
    }
    for d in datasets:
        mean, std, n = spread(r, f"psnr_y_{d}")
        cells[f"psnr_{d}"] = _cell(r.get(f"psnr_y_{d}"), fmt_float(mean, 2) + (f" ± {fmt_float(std, 2)}" if n >= 2 else ""))
        cells[f"ssim_{d}"] = _cell(r.get(f"ssim_y_{d}"), fmt_float(r.get(f"ssim_y_{d}"), 4))
    for cell in cells.values():
        if cell["text"] == MISSING:
            cell["text"] = ""
    return cells


def _page_rows(ctx: ReportContext, frame: pd.DataFrame, columns: list[Column],
               datasets: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(table rows, per-run detail sections) of the page."""
    by_name = {r.name: r for r in ctx.runs.runs}
    rows, details = [], []
    for order, r in enumerate(frame.to_dict("records")):
        cells = _row_cells(r, datasets)
        detail_id = None
        if r["kind"] == "run" and r["run"] in by_name:
            detail = _run_detail(by_name[r["run"]], r, datasets)
            details.append(detail)
            detail_id = detail["id"]
        rows.append({
            "kind": r["kind"],
            "method": r["method"],
            "size": str(r.get("size") or ""),
            "scale": str(_int(r.get("scale")) or ""),
            "run": r.get("run") or "",
            "order": order,
            "pareto": bool(r.get("pareto")),
            "detail_id": detail_id,
            "paper_id": r.get("paper_id") or "",
            "note": r.get("note") if isinstance(r.get("note"), str) else "",
            "cells": [cells[c.key] for c in columns],
        })
    return rows, details


def render_leaderboard(ctx: ReportContext, tradeoff_svg: str, fig5_svg: str = "") -> tuple[str, str]:
    """(html, csv). The page inlines its style, script and plots: it works offline from file://.

    fig5_svg: Figure 5 as an inline <svg> (figures.figure_bn), shown in the BN artifact section."""
    import jinja2
    from markupsafe import Markup

    frame, ref_source = leaderboard_frame(ctx)
    datasets = ordered_datasets(
        {c[len("psnr_y_"):] for c in frame.columns if c.startswith("psnr_y_") and frame[c].notna().any()}
    )
    columns = leaderboard_columns(datasets)
    rows, details = _page_rows(ctx, frame, columns, datasets)
    bn_list = bn_runs(ctx)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("repbench", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for d in details:
        d["curves"] = [Markup(c) for c in d["curves"]]
    dataset = primary_dataset(ctx.wide)
    page = env.get_template("leaderboard.html.j2").render(
        preset=ctx.preset,
        runs_root=str(ctx.runs.root),
        columns=columns,
        rows=rows,
        details=details,
        n_runs=sum(r["kind"] == "run" for r in rows),
        n_paper=sum(r["kind"] == "paper" for r in rows),
        methods=sorted({r["method"] for r in rows}, key=lambda m: (_method_rank(m), m)),
        scales=sorted({r["scale"] for r in rows if r["scale"]}, key=int),
        reference_source=ref_source,
        pareto_dataset=dataset_label(dataset) if dataset else None,
        tradeoff_svg=Markup(tradeoff_svg),
        artifacts=artifact_rows(bn_list, {r.name: r for r in ctx.runs.runs}),
        fig5_svg=Markup(fig5_svg),
        fig5_images=[(r.label, r.profile_image) for r in bn_list if r.profile],
        # the notes are Markdown; the page shows plain text
        notes=[n.replace("`", "") for n in mark_notes(frame["run"].dropna(), ctx.marks()) + ctx.runs.notes],
    )
    return page, leaderboard_csv(frame)
