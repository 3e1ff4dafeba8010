"""Every older file layout a run folder may hold, read into the one current shape, in one place.

    measure_fields(measure)     measure.json: `repbench measure`'s nested layout (`counts`, `throughput`,
                                `train_speed`) or the flat one (`params_deployed`, `macs`, ...) of counts.json
                                and older runs, with the older key spellings (`deployed_params`, `convs`, ...)
    budget_of(train)            train.json's `budget` block, or the top-level `iterations` / `train_seconds`
                                of runs that predate it
    schedule_of(config, train)  config.yaml's schedule, train.json's fields where config.yaml is absent
    score_of(record, name)      an eval record with or without per-image forward times and `n_images`
    restarts_of(train)          train.json `lr_backoffs`

Nothing else reads these files' fields by name: the loader (repbench.results.load) calls these once
per run, and every table reads the typed record.
"""
from __future__ import annotations

import statistics
from typing import Any

from repbench.results.record import Budget, Restart, Schedule, Score
from repbench.results.values import first_of, as_int, as_float

from repbench.training.config import PAPER_ITERATIONS  # Table 3 projects training time to it


def _throughput_fields(records: Any) -> dict[str, Any]:
    """The fastest successful record of the deployed net (all modes), and of the unmerged net.

    The deployed net is `merged`, or `training-time` for a method with no merge (EDSR): both are
    what a user would ship. Taking the best mode per model mirrors how a user would deploy it;
    the mode is reported next to the number.
    """
    out: dict[str, Any] = {}
    if not isinstance(records, list):
        return out
    ok = [r for r in records if isinstance(r, dict) and as_float(r.get("images_per_s")) and not r.get("error")]
    deployed = [r for r in ok if r.get("net", "merged") in ("merged", "training-time", "deployed")]
    unmerged = [r for r in ok if r.get("net") == "unmerged"]
    if deployed:
        best = max(deployed, key=lambda r: as_float(r["images_per_s"]) or 0.0)
        out.update(
            throughput=as_float(best["images_per_s"]),
            throughput_device=str(best.get("device_name") or best.get("device") or "unknown device"),
            throughput_dtype=best.get("dtype"),
            throughput_mode=best.get("mode"),
            throughput_batch=as_int(best.get("batch")),
            throughput_lr_height=as_int(first_of(best, "lr_height", "height")),
            throughput_lr_width=as_int(first_of(best, "lr_width", "width")),
            throughput_label=best.get("label"),
            throughput_ms_per_batch=as_float(first_of(best, "ms_per_batch")),
            # the spread: between fresh processes where there were several (`processes`), else of the repeats
            throughput_min=as_float(best.get("images_per_s_min")),
            throughput_max=as_float(best.get("images_per_s_max")),
            throughput_processes=as_int(best.get("processes")) or 1,
            throughput_architecture=best.get("architecture") or None,
        )
        if best.get("median_s") is not None and out["throughput_ms_per_batch"] is None:
            out["throughput_ms_per_batch"] = 1e3 * float(best["median_s"])
        roof = best.get("roofline")
        if isinstance(roof, dict):
            out["roofline_fraction"] = as_float(roof.get("fraction"))
    if unmerged:
        out["throughput_unmerged"] = max(as_float(r["images_per_s"]) or 0.0 for r in unmerged)
    return out


def measure_fields(measure: dict[str, Any]) -> dict[str, Any]:
    """measure.json -> flat raw fields. Accepts `repbench measure`'s nested layout (`counts`, `throughput`,
    `train_speed`) and a flat one (`params_deployed`, `macs`, ...)."""
    counts = measure.get("counts") if isinstance(measure.get("counts"), dict) else {}
    src = {**measure, **counts}
    out: dict[str, Any] = {
        "params_deployed": as_int(first_of(src, "params_deployed", "deployed_params")),
        "params_train": as_int(first_of(src, "params_train", "training_params")),
        "params_paper": as_int(first_of(src, "params_paper", "paper_params")),
        "paper_convention": first_of(src, "paper_convention"),
        "macs": as_int(first_of(src, "macs")),
        "flops_paper": as_int(first_of(src, "flops_paper", "paper_flops")),
        "n_conv": as_int(first_of(src, "n_conv", "convs")),
        "macs_lr_height": as_int(first_of(src, "lr_height")),
        "macs_lr_width": as_int(first_of(src, "lr_width")),
    }
    out.update(_throughput_fields(measure.get("throughput")))
    speed = measure.get("train_speed")
    if isinstance(speed, dict):
        spi = as_float(first_of(speed, "s_per_iter", "sec_per_iter"))
        out.update(
            train_speed_sec_per_iter=spi,
            train_speed_device=first_of(speed, "device_name", "device"),
            train_speed_batch=as_int(speed.get("batch")),
            train_speed_patch=as_int(first_of(speed, "lr_patch", "patch")),
            projected_hours=as_float(speed.get("projected_hours")) or (spi * PAPER_ITERATIONS / 3600 if spi else None),
        )
    return out


def budget_of(train: dict[str, Any]) -> Budget:
    """What a run spent on training: train.json's `budget` block when present, else the top-level
    `iterations` / `train_seconds`. `sec_per_iter` is train.json's own, else seconds / iterations."""
    budget = train.get("budget") if isinstance(train.get("budget"), dict) else {}
    iterations = as_int(first_of(budget, "iterations")) or as_int(train.get("iterations"))
    seconds = as_float(first_of(budget, "train_seconds"))
    seconds = seconds if seconds is not None else as_float(train.get("train_seconds"))
    spi = as_float(train.get("sec_per_iter"))
    if spi is None and seconds is not None and iterations:
        spi = seconds / iterations
    return Budget(iterations, seconds, spi, as_int(budget.get("lr_pixels")), train.get("val_data") or None,
                  as_float(budget.get("train_flops")))


def schedule_of(config: dict[str, Any], train: dict[str, Any]) -> Schedule:
    """config.yaml (the full resolved config) for each field it holds, train.json for the rest."""

    def get(key: str) -> Any:
        return config[key] if config.get(key) is not None else train.get(key)

    data = get("train_data")
    return Schedule(as_int(get("iterations")), as_int(get("batch_size")), as_int(get("patch_size")),
                    as_int(get("patch_size_stage2")) or 0, as_int(get("stage2_start")),
                    str(data) if data else None, bool(config))


def runtime_of(record: dict[str, Any]) -> tuple[float | None, bool]:
    """(seconds per image, measured-forward?). The per-image forward time is the challenge's runtime;
    eval records without it only have the wall time of the whole evaluation (scoring included)."""
    per_image = record.get("per_image") if isinstance(record.get("per_image"), list) else []
    times = [as_float(p.get("infer_seconds")) for p in per_image if isinstance(p, dict)]
    if times and all(t is not None for t in times):
        return statistics.fmean(t for t in times if t is not None), True
    seconds = as_float(record.get("seconds"))
    count = as_int(record.get("n_images")) or len(per_image)
    return (seconds / count, False) if seconds is not None and count else (None, False)


def score_of(record: dict[str, Any], name: str) -> Score:
    """An eval record (`name`: the test set it names, else its file's); `n_images` counted from
    `per_image` where the record predates the field."""
    per_image = record.get("per_image")
    runtime, forward = runtime_of(record)
    return Score(name, as_float(record.get("psnr_y")), as_float(record.get("ssim_y")),
                 as_float(record.get("psnr_rgb")), as_float(record.get("ssim_rgb")),
                 as_int(first_of(record, "n_images")) or (len(per_image) if isinstance(per_image, list) else None),
                 as_int(record.get("scale")), as_int(record.get("border")), runtime, forward)


def restarts_of(train: dict[str, Any]) -> tuple[Restart, ...]:
    return tuple(Restart(int(b["iteration"]), int(b["restored_to"]), float(b["lr_scale"]))
                 for b in train.get("lr_backoffs") or [] if isinstance(b, dict))
