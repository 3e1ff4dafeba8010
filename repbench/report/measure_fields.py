"""measure.json in either of its two layouts -> the flat fields the frames hold."""
from __future__ import annotations

from typing import Any


from repbench.report.values import _first, _int, _num

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
    ok = [r for r in records if isinstance(r, dict) and _num(r.get("images_per_s")) and not r.get("error")]
    deployed = [r for r in ok if r.get("net", "merged") in ("merged", "training-time", "deployed")]
    unmerged = [r for r in ok if r.get("net") == "unmerged"]
    if deployed:
        best = max(deployed, key=lambda r: _num(r["images_per_s"]) or 0.0)
        out.update(
            throughput=_num(best["images_per_s"]),
            throughput_device=str(best.get("device_name") or best.get("device") or "unknown device"),
            throughput_dtype=best.get("dtype"),
            throughput_mode=best.get("mode"),
            throughput_batch=_int(best.get("batch")),
            throughput_lr_height=_int(_first(best, "lr_height", "height")),
            throughput_lr_width=_int(_first(best, "lr_width", "width")),
            throughput_label=best.get("label"),
            throughput_ms_per_batch=_num(_first(best, "ms_per_batch")),
            # the spread: between fresh processes where there were several (`processes`), else of the repeats
            throughput_min=_num(best.get("images_per_s_min")),
            throughput_max=_num(best.get("images_per_s_max")),
            throughput_processes=_int(best.get("processes")) or 1,
            throughput_architecture=best.get("architecture") or None,
        )
        if best.get("median_s") is not None and out["throughput_ms_per_batch"] is None:
            out["throughput_ms_per_batch"] = 1e3 * float(best["median_s"])
        roof = best.get("roofline")
        if isinstance(roof, dict):
            out["roofline_fraction"] = _num(roof.get("fraction"))
    if unmerged:
        out["throughput_unmerged"] = max(_num(r["images_per_s"]) or 0.0 for r in unmerged)
    return out


def measure_fields(measure: dict[str, Any]) -> dict[str, Any]:
    """measure.json -> flat raw fields. Accepts `repbench measure`'s nested layout (`counts`, `throughput`,
    `train_speed`) and a flat one (`params_deployed`, `macs`, ...)."""
    counts = measure.get("counts") if isinstance(measure.get("counts"), dict) else {}
    src = {**measure, **counts}
    out: dict[str, Any] = {
        "params_deployed": _int(_first(src, "params_deployed", "deployed_params")),
        "params_train": _int(_first(src, "params_train", "training_params")),
        "params_paper": _int(_first(src, "params_paper", "paper_params")),
        "paper_convention": _first(src, "paper_convention"),
        "macs": _int(_first(src, "macs")),
        "flops_paper": _int(_first(src, "flops_paper", "paper_flops")),
        "n_conv": _int(_first(src, "n_conv", "convs")),
        "macs_lr_height": _int(_first(src, "lr_height")),
        "macs_lr_width": _int(_first(src, "lr_width")),
    }
    out.update(_throughput_fields(measure.get("throughput")))
    speed = measure.get("train_speed")
    if isinstance(speed, dict):
        spi = _num(_first(speed, "s_per_iter", "sec_per_iter"))
        out.update(
            train_speed_sec_per_iter=spi,
            train_speed_device=_first(speed, "device_name", "device"),
            train_speed_batch=_int(speed.get("batch")),
            train_speed_patch=_int(_first(speed, "lr_patch", "patch")),
            projected_hours=_num(speed.get("projected_hours")) or (spi * PAPER_ITERATIONS / 3600 if spi else None),
        )
    return out
