"""The leaderboard's rows as one frame of raw numbers (our runs and the paper's Table 2 rows), and
the CSV written from it."""
from __future__ import annotations

from typing import Any

import pandas as pd

from repbench.report.context import ReportContext
from repbench.report.front import pareto_flags
from repbench.report.leaderboard.best import best_in_size
from repbench.report.leaderboard.groups import row_groups
from repbench.report.tables.published import published_budget
from repbench.results.values import as_int, method_rank, as_float, is_published


def reference_rows(ctx: ReportContext) -> tuple[list[dict[str, Any]], str]:
    """The paper's Table 2 rows as leaderboard entries (its numbers are x4, Y channel)."""
    ref = ctx.ref("table2")
    scale = as_int(ref.setting.get("scale")) or 4
    colors = as_int(ref.setting.get("colors")) or 1
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
            "params_paper": as_float(p.get("params_k")) * 1e3 if as_float(p.get("params_k")) is not None else None,
            "flops_paper": as_float(p.get("flops_g")) * 1e9 if as_float(p.get("flops_g")) is not None else None,
            "n_conv": as_int(p.get("n_conv")),
            "note": " ".join(str(p.get("note") or "").split()),
        }
        for d in ref.datasets:
            row[f"psnr_y_{d}"] = ref.value(p, "psnr", d)
            row[f"ssim_y_{d}"] = ref.value(p, "ssim", d)
        rows.append(row)
    source = f"RepSR paper, Table 2 (x{scale}, Y channel)" if ref.found else ""
    return rows, source


def published_note(ctx: ReportContext, run_name: str) -> str:
    """The hover text of a released checkpoint's row: whose it is and its training budget as published."""
    run = next((r for r in ctx.runs.runs if r.name == run_name), None)
    pub = run.train.get("published") if run is not None else None
    if not isinstance(pub, dict):
        return ""
    return (f"Released checkpoint ({pub.get('label')}; {pub.get('citation')}): trained by its authors "
            f"({published_budget(pub)}), "
            "not by repbench; imported with `repbench import` and measured here like every run.")


def leaderboard_frame(ctx: ReportContext) -> tuple[pd.DataFrame, str]:
    """Every run and every reference row, raw numbers; `pareto` marks the report's one Pareto front
    (front.pareto_flags, the runs of Figure 1's fronts), `best_in_size` the best run of each size in its
    comparison group (best.best_in_size; the CSV's last column)."""
    refs, source = reference_rows(ctx)
    runs = ctx.wide.assign(kind="run").drop(columns=["options_dict", "experiments", "_rank"], errors="ignore")
    runs.loc[is_published(runs), "kind"] = "published"  # released checkpoints, in their group beside our runs
    runs["note"] = [published_note(ctx, r) if k == "published" else None for r, k in zip(runs["run"], runs["kind"])]
    frame = pd.concat([runs, pd.DataFrame(refs)], ignore_index=True) if refs else runs
    frame["pareto"] = pareto_flags(frame, ctx.marks())
    # Default order: by scale, then model size (true count, else the paper's), ours before the paper's.
    keys = [
        (as_float(r["scale"]) or 0.0,
         as_float(r.get("params_deployed")) if as_float(r.get("params_deployed")) is not None else (as_float(r.get("params_paper")) or -1.0),
         r["kind"] != "run", method_rank(r["method"]), str(r.get("label")))
        for r in frame.to_dict("records")
    ]
    order = sorted(range(len(frame)), key=lambda i: keys[i])
    frame = frame.iloc[order].reset_index(drop=True)
    records = frame.to_dict("records")
    frame["best_in_size"] = [bool(t) for t in best_in_size(records, row_groups(records)[1])]
    return frame, source


# Counts that pandas turns into floats as soon as one row lacks them; the CSV writes them back as integers.
INT_COLUMNS = (
    "scale", "colors", "iterations", "seed", "bn_frozen_at", "expand", "branches", "params_deployed", "params_train",
    "params_paper", "macs", "flops_paper", "n_conv", "throughput_batch", "throughput_lr_height", "throughput_lr_width",
    "train_speed_batch", "train_speed_patch", "macs_lr_height", "macs_lr_width",
)
# The CSV's first columns: what a row is, where it came from (finish time, code commit), how it was scored.
CSV_FRONT = ("kind", "run", "paper_id", "label", "method", "size", "scale", "colors", "pareto", "undertrained",
             "undertrained_reasons", "n_seeds", "seed_runs", "finished_at", "git_commit")


def leaderboard_csv(frame: pd.DataFrame) -> str:
    cols = [c for c in CSV_FRONT if c in frame] + [c for c in frame.columns if c not in CSV_FRONT]
    out = frame[cols].copy()
    counts = [c for c in out.columns if c.startswith(("artifact_images_", "n_psnr_", "n_ssim_", "n_sec_", "n_train_", "n_final_"))]
    for column in list(INT_COLUMNS) + ["n_seeds"] + counts:
        if column in out:
            values = pd.to_numeric(out[column], errors="coerce")
            if values.dropna().map(lambda v: float(v).is_integer()).all():
                out[column] = values.round().astype("Int64")
    return out.to_csv(index=False)
