"""measure.json in either of its two layouts -> the flat fields the frames hold."""
from __future__ import annotations

from typing import Any


from repbench.report.values import first_of, as_int, as_float

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
