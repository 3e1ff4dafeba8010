"""What the leaderboard page shows beside its table: each run's detail panel (config, measurements,
scores, tiny inline SVG curves) and the BN artifact rows."""
from __future__ import annotations

import html
import json
import math
import re
from typing import Any, Sequence

from repbench.report.bn import BnRun
from repbench.training.config import fields_where
from repbench.report.numbers import fmt_delta, fmt_duration, fmt_float, fmt_g, fmt_int
from repbench.results import Run
from repbench.results.values import as_int, is_blank, as_float, dataset_label, model_label, ordered_datasets
from repbench.report.numbers import MISSING

# A run's config panel: the config fields marked `shown` (repbench/training/config.py), then what the run
# recorded about itself (train.json), each when present.
CONFIG_KEYS = fields_where("shown") + ("torch", "bn_frozen_at", "finished_at", "git_commit")


def slug(text: str) -> str:
    """A run name as a safe HTML id fragment."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "run"


def detail_id(run_name: str) -> str:
    return "run-" + slug(run_name)


def device_text(r: dict[str, Any]) -> str:
    """The timing's device and protocol, e.g. 'CPU x86_64 (float32, eager, batch 4, 320x180 LR)'."""
    if is_blank(r.get("throughput")):
        return ""
    details = [str(r[k]) for k in ("throughput_dtype", "throughput_mode") if r.get(k)]
    if as_int(r.get("throughput_batch")):
        details.append(f"batch {as_int(r['throughput_batch'])}")
    if as_int(r.get("throughput_lr_width")) and as_int(r.get("throughput_lr_height")):
        details.append(f"{as_int(r['throughput_lr_width'])}x{as_int(r['throughput_lr_height'])} LR")
    return str(r.get("throughput_device") or "") + (f" ({', '.join(details)})" if details else "")


def curve_svg(xs: Sequence[float], ys: Sequence[float], title: str, *, width: int = 300, height: int = 90, logy: bool = False) -> str:
    """A tiny dependency-free line chart (inline SVG) for a run's detail panel."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if as_float(x) is not None and as_float(y) is not None and (not logy or y > 0)]
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


def _config(run: Run, r: dict[str, Any]) -> list[tuple[str, str]]:
    t = run.train
    config = [
        ("run folder", str(run.path)),
        ("method / size / scale / colors", f"{r['method']} / {r.get('size') or MISSING} / x{as_int(r.get('scale')) or MISSING} / "
                                           f"{as_int(r.get('colors')) or MISSING}"),
        ("options", json.dumps(t.get("options", {}), sort_keys=True) if t else MISSING),
        ("tables", str(r.get("tables") or MISSING).replace(",", ", ")),
    ]
    for key in CONFIG_KEYS:
        if key in t and t[key] is not None:
            config.append((key, json.dumps(t[key]) if isinstance(t[key], (list, dict)) else str(t[key])))
    if not is_blank(r.get("train_seconds")):
        config.append(("training time", f"{fmt_duration(r['train_seconds'])} ({fmt_float(r.get('sec_per_iter'), 4)} s/iter)"))
    return config


def _measured(r: dict[str, Any]) -> list[tuple[str, str]]:
    measured = []
    if not is_blank(r.get("params_deployed")):
        measured.append(("params (deployed / training-time / paper conv.)",
                         f"{fmt_int(r.get('params_deployed'))} / {fmt_int(r.get('params_train'))} / {fmt_int(r.get('params_paper'))}"))
    if not is_blank(r.get("macs")):
        measured.append(("MACs (1280x720 output) / #conv", f"{fmt_g(r.get('macs'), 3)} / {fmt_int(r.get('n_conv'))}"))
    if not is_blank(r.get("throughput")):
        speedup = ""
        if as_float(r.get("throughput_unmerged")):
            speedup = f"; unmerged {r['throughput_unmerged']:.1f} img/s (merging: x{r['throughput'] / r['throughput_unmerged']:.2f})"
        measured.append(("throughput", f"{r['throughput']:.1f} img/s on {device_text(r)}{speedup}"))
        if r.get("throughput_label"):
            measured.append(("protocol", str(r["throughput_label"])))
    if not is_blank(r.get("train_speed_sec_per_iter")):
        measured.append(("training speed", f"{r['train_speed_sec_per_iter']:.4f} s/iter at batch {fmt_int(r.get('train_speed_batch'))}, "
                                           f"projected {fmt_float(r.get('projected_hours'), 1)} h for 1000K iterations"))
    return measured


def run_detail(run: Run, r: dict[str, Any], datasets: Sequence[str]) -> dict[str, Any]:
    """One run's detail panel: config, measurements, scores and curves."""
    scores = [
        {"dataset": dataset_label(d), "psnr_y": fmt_float(r.get(f"psnr_y_{d}"), 3), "ssim_y": fmt_float(r.get(f"ssim_y_{d}"), 4),
         "psnr_rgb": fmt_float(r.get(f"psnr_rgb_{d}"), 3)}
        for d in datasets if not is_blank(r.get(f"psnr_y_{d}"))
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
    return {"id": detail_id(run.name), "title": r["label"] + f" x{as_int(r.get('scale'))}", "run": run.name,
            "config": _config(run, r), "measured": _measured(r), "scores": scores, "curves": curves}


def artifact_rows(runs: Sequence[BnRun], by_name: dict[str, Run]) -> list[dict[str, Any]]:
    """The page's BN artifact table: one row per BN run and scored test set (a run not diagnosed yet
    keeps one row that says so, so that its absence shows)."""
    rows = []
    for bn in runs:
        run = by_name[bn.run]
        model = model_label(run.method, run.size, run.train.get("options")) + f" x{as_int(run.scale) or MISSING}"
        common = {"run": bn.run, "detail_id": detail_id(bn.run), "strategy": bn.label, "model": model}
        for key in ordered_datasets(bn.scores) or [None]:
            s = bn.scores.get(key, {}) if key else {}
            rows.append(common | {
                "dataset": dataset_label(key, s.get("dataset")) if key else "not diagnosed yet (repbench bn-diagnose)",
                "n_images": fmt_int(s.get("n_images")),
                "score": fmt_delta(s.get("mean_artifact_score"), 3),
                "artifact_db": fmt_float(s.get("mean_artifact_db"), 3),
                "psnr_population": fmt_float(s.get("mean_psnr_population"), 3),
                "psnr_image_stats": fmt_float(s.get("mean_psnr_image_stats"), 3),
                "artifact": (as_float(s.get("mean_artifact_score")) or 0.0) < 0,
            })
    return rows
