"""Typed run records -> the pandas frames the renderers read.

    tidy_frame(runs)       one row per run x test set, raw numbers only (ints, seconds, dB)
    wide_frame(tidy)       one row per run, `psnr_y_<set>` / `ssim_y_<set>` / `psnr_rgb_<set>` columns
    members(wide, table)   the rows of one paper table (the run's experiments, repbench.results.membership)

Every column comes from a field of the record (repbench.results.record); nothing here reads a file.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import pandas as pd

from repbench.results.membership import bn_strategy, option_value, tables_of
from repbench.results.record import Run, RunSet
from repbench.results.values import as_float, as_int, first_of, model_label, ordered_datasets


RUN_COLUMNS = (
    "run", "method", "size", "scale", "colors", "tag", "label", "tables", "options", "status", "finished_at",
    "git_commit", "iterations", "train_seconds", "sec_per_iter", "lr_pixels", "val_data", "train_device", "seed", "torch", "final_val_psnr", "bn_frozen_at",
    "bn_strategy", "variant", "expand", "branches", "params_deployed", "params_train", "params_paper",
    "paper_convention", "macs", "flops_paper", "n_conv", "throughput", "throughput_unmerged",
    "throughput_device", "throughput_dtype", "throughput_mode", "throughput_batch", "throughput_lr_height",
    "throughput_lr_width", "throughput_label", "train_speed_sec_per_iter", "train_speed_device",
    "train_speed_batch", "train_speed_patch", "projected_hours",
)
EVAL_COLUMNS = ("dataset", "dataset_name", "psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "n_images")


def _run_record(run: Run) -> dict[str, Any]:
    t, options, budget = run.train, run.options, run.budget
    row: dict[str, Any] = {
        "run": run.name,
        "method": run.method,
        "size": run.size,
        "scale": run.scale,
        "colors": run.colors,
        "tag": run.tag,
        "options_dict": options,
        "options": json.dumps(options, sort_keys=True) if t else None,
        "status": t.get("status"),
        # when the run finished and from which code (repbench.provenance); absent from older runs
        "finished_at": t.get("finished_at") or None,
        "git_commit": t.get("git_commit") or None,
        "iterations": budget.iterations, "train_seconds": budget.train_seconds, "sec_per_iter": budget.sec_per_iter,
        "lr_pixels": budget.lr_pixels, "val_data": budget.val_data, "train_flops": budget.train_flops,
        "train_device": t.get("device"),
        "seed": t.get("seed"),
        "torch": t.get("torch"),
        "final_val_psnr": as_float(first_of(t, "final_val_psnr", "val_psnr")),
        "bn_frozen_at": as_int(t.get("bn_frozen_at")),
        "frozen_bn_fraction": as_float(t.get("frozen_bn_fraction")),
        "experiments": list(run.experiments),
        # a released checkpoint imported by `repbench import` (trained by its authors, not here): its name
        "published_as": run.published_as,
        # train.json carries the counts too; measure.json (below) wins where both exist
        "params_deployed": as_int(t.get("params_deployed")),
        "params_train": as_int(t.get("params_train")),
    }
    for key, value in run.measured.items():
        if value is not None or key not in row:
            row[key] = value
    row["label"] = model_label(run.method, run.size, options)
    row["bn_strategy"] = bn_strategy(run) if run.method == "edsr" else None
    if row["bn_strategy"] in ("bn", "frozen_bn"):
        # The two BN runs of Table 1 share their options; only the training strategy tells them apart.
        strategy = "with BN, never frozen" if row["bn_strategy"] == "bn" else "frozen BN"
        row["label"] = f"{model_label(run.method, run.size)} ({strategy})"
    for name in ("variant", "expand", "branches"):
        row[name] = option_value(run, name) if run.method == "repsr" else None
    row["tables"] = ",".join(tables_of(run))
    for key, record in run.bn_scores.items():
        row[f"artifact_score_{key}"] = as_float(record.get("mean_artifact_score"))
        row[f"artifact_db_{key}"] = as_float(record.get("mean_artifact_db"))
        row[f"psnr_population_{key}"] = as_float(record.get("mean_psnr_population"))
        row[f"psnr_image_stats_{key}"] = as_float(record.get("mean_psnr_image_stats"))
        row[f"artifact_images_{key}"] = as_int(record.get("n_images"))
    return row


def tidy_frame(runs: RunSet | Sequence[Run]) -> pd.DataFrame:
    """One row per run x test set (a run with no eval yet keeps one row with an empty dataset)."""
    run_list = runs.runs if isinstance(runs, RunSet) else list(runs)
    rows = []
    for run in run_list:
        base = _run_record(run)
        if not run.scores:
            rows.append({**base, **{c: None for c in EVAL_COLUMNS}})
        for key, score in run.scores.items():
            rows.append({**base, "dataset": key, "dataset_name": score.dataset, "psnr_y": score.psnr_y,
                         "ssim_y": score.ssim_y, "psnr_rgb": score.psnr_rgb, "ssim_rgb": score.ssim_rgb,
                         "n_images": score.n_images})
    frame = pd.DataFrame(rows)
    for column in RUN_COLUMNS + EVAL_COLUMNS:
        if column not in frame:
            frame[column] = None
    ordered = list(RUN_COLUMNS) + list(EVAL_COLUMNS)
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def wide_frame(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per run; metrics spread into `<metric>_<dataset>` columns."""
    run_cols = [c for c in tidy.columns if c not in EVAL_COLUMNS]
    base = tidy.drop_duplicates("run")[run_cols].set_index("run")
    scored = tidy[tidy["dataset"].notna()]
    for dataset in ordered_datasets(scored["dataset"].unique()):
        part = scored[scored["dataset"] == dataset].set_index("run")
        for metric in METRICS:
            base[f"{metric}_{dataset}"] = part[metric].reindex(base.index)
    return base.reset_index()


def frame_datasets(wide: pd.DataFrame) -> list[str]:
    keys = {c[len("psnr_y_"):] for c in wide.columns if c.startswith("psnr_y_")}
    return ordered_datasets(keys)


def artifact_datasets(wide: pd.DataFrame) -> list[str]:
    """Test sets some run has BN artifact scores on (`artifact_score_<set>` columns)."""
    return ordered_datasets(c[len("artifact_score_"):] for c in wide.columns if c.startswith("artifact_score_"))


def primary_dataset(wide: pd.DataFrame) -> str | None:
    """Urban100 (the paper's Figure 1 set) when evaluated, else the first test set."""
    present = [d for d in frame_datasets(wide) if wide[f"psnr_y_{d}"].notna().any()]
    if not present:
        return None
    return "urban100" if "urban100" in present else present[0]


def members(wide: pd.DataFrame, table: str) -> pd.DataFrame:
    mask = wide["tables"].fillna("").map(lambda s: table in s.split(","))
    return wide[mask]
