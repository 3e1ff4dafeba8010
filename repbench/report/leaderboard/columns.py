"""The leaderboard table's columns and the cells of one row: a sortable value, the text shown and an
optional tooltip. Every PSNR/SSIM column names its channel (Y or RGB): the same run scores lower in
RGB than in Y, and a number without its convention reads as a contradiction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

from repbench.provenance import DIRTY_SUFFIX
from repbench.results.checks import MARK
from repbench.report.numbers import fmt_duration, fmt_float, fmt_int, fmt_k
from repbench.results.seeds import spread
from repbench.results.values import (
    REFERENCE_METHODS,
    as_int,
    is_blank,
    as_float,
    channel_name,
    dataset_label,
)
from repbench.report.numbers import MISSING
from repbench.report.leaderboard.detail import device_text

SHORT_COMMIT = 7  # hex digits shown, as `git log --oneline` does


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str  # "number" or "text": how the page sorts it
    title: str = ""
    channel: str = ""  # "y" or "rgb" for score columns: PSNR-RGB columns show in RGB groups only


def leaderboard_columns(datasets: Sequence[str], rgb_datasets: Sequence[str] = ()) -> list[Column]:
    """The page's columns: the model and its cost, PSNR per test set (PSNR-RGB beside PSNR-Y for
    `rgb_datasets`) with the training iterations beside them, timing and training time, SSIM per test
    set, then where the run came from.

    SSIM comes after the timing columns: with five test sets, PSNR and SSIM side by side pushed the
    throughput and training time off a 1500 px screen, and PSNR is what the rows are compared by."""
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
        cols.append(Column(f"psnr_{d}", f"{label} PSNR-Y", "number", f"{label}: PSNR on the Y (luma) channel, dB", "y"))
        if d in rgb_datasets:
            cols.append(Column(f"psnr_rgb_{d}", f"{label} PSNR-RGB", "number",
                               f"{label}: PSNR over the three RGB channels (the NTIRE tables' convention), dB", "rgb"))
    # the budget beside the scores it bought: a run trained longer scores higher for that alone
    cols.append(Column("iterations", "Iters", "number", "training iterations of the run (train.json budget or iterations)"))
    cols += [
        Column("throughput", "Throughput (img/s)", "number", "deployed network, fastest measured mode, median over fresh "
               "processes (hover a cell for its spread; runs of one deployed network share one timing); device in the next column"),
        Column("device", "Device", "text", "hover a cell for the dtype, mode, batch and input size"),
        Column("train_seconds", "Train time", "number", "wall time of the training run"),
    ]
    for d in datasets:
        label = dataset_label(d)
        cols.append(Column(f"ssim_{d}", f"{label} SSIM-Y", "number", f"{label}: SSIM on the Y (luma) channel", "y"))
    cols += [
        Column("finished_at", "Finished (UTC)", "text", "when training finished (train.json finished_at); hover for the time"),
        Column("git_commit", "Commit", "text", "the code's git commit (train.json git_commit); -dirty: with uncommitted changes"),
        Column("tables", "Tables", "text", "the paper tables this row belongs to"),
    ]
    return cols


def speed_spread_words(r: dict[str, Any]) -> str:
    """A throughput cell's tooltip: the spread it was measured with, and that speeds inside it are ties."""
    lo, hi = as_float(r.get("throughput_min")), as_float(r.get("throughput_max"))
    if as_float(r.get("throughput")) is None or lo is None or hi is None:
        return ""
    n = as_int(r.get("throughput_processes")) or 1
    where = f"between {n} fresh processes" if n > 1 else "over the repeats of one process"
    return (f"median {r['throughput']:.1f} img/s, range {lo:.1f}-{hi:.1f} {where}; a speed inside another's range is a "
            "tie (the Pareto front does not separate them)")


def _cell(value: Any, text: str, title: str = "") -> dict[str, str]:
    num = as_float(value)
    if num is not None:
        return {"value": repr(num) if not float(num).is_integer() else str(int(num)), "text": text, "title": title}
    if value is None or is_blank(value):
        return {"value": "", "text": "", "title": ""}
    return {"value": str(value), "text": text, "title": title}


def finished_cell(value: Any) -> dict[str, str]:
    """The date in the cell, the UTC time in its tooltip; the ISO value sorts chronologically."""
    if is_blank(value):
        return _cell(None, "")
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:  # not ours to fix: show what train.json says
        return _cell(str(value), str(value))
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return _cell(when.isoformat(), when.strftime("%Y-%m-%d"), when.strftime("%Y-%m-%d %H:%M:%S UTC"))


def short_commit(commit: Any) -> str:
    """'0be4f26ef4...-dirty' -> '0be4f26-dirty'."""
    if is_blank(commit):
        return ""
    text = str(commit)
    dirty = text.endswith(DIRTY_SUFFIX)
    return text.removesuffix(DIRTY_SUFFIX)[:SHORT_COMMIT] + (DIRTY_SUFFIX if dirty else "")


def commit_cell(commit: Any) -> dict[str, str]:
    """The short commit in the cell, the full one in its tooltip (built here: a hash is never a number)."""
    if is_blank(commit):
        return _cell(None, "")
    return {"value": str(commit), "text": short_commit(commit), "title": str(commit)}


def _score_cells(r: dict[str, Any], datasets: Sequence[str], rgb_datasets: Sequence[str]) -> dict[str, dict[str, Any]]:
    cells = {}
    # A Y model's RGB output takes its colour from bicubic upsampling: its PSNR-RGB is not the model's.
    rgb_meaningful = as_int(r.get("colors")) != 1
    for d in datasets:
        mean, std, n = spread(r, f"psnr_y_{d}")
        cells[f"psnr_{d}"] = _cell(r.get(f"psnr_y_{d}"), fmt_float(mean, 2) + (f" ± {fmt_float(std, 2)}" if n >= 2 else ""))
        cells[f"ssim_{d}"] = _cell(r.get(f"ssim_y_{d}"), fmt_float(r.get(f"ssim_y_{d}"), 4))
        if d in rgb_datasets:
            rgb = r.get(f"psnr_rgb_{d}") if rgb_meaningful else None
            cells[f"psnr_rgb_{d}"] = _cell(rgb, fmt_float(rgb, 2))
    return cells


def row_cells(r: dict[str, Any], datasets: Sequence[str], rgb_datasets: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """The page's cells of one row (a frame record), by column key."""
    is_run = r["kind"] == "run"
    channels = channel_name(r.get("colors"))
    label = str(r.get("label") or r["method"])
    device = device_text(r)
    cells = {
        "method": {"value": label, "text": label + (f" {MARK}" if is_run and r.get("undertrained") is True else ""), "title": ""},
        "size": _cell(r.get("size"), str(r.get("size") or "")),
        "scale": _cell(r.get("scale"), f"x{as_int(r['scale'])}" if as_int(r.get("scale")) else ""),
        "colors": _cell(channels or None, channels),
        "params_deployed": _cell(r.get("params_deployed"), fmt_int(r.get("params_deployed"))),
        "params_paper": _cell(r.get("params_paper"), fmt_k(r.get("params_paper"))),
        "macs": _cell(r.get("macs"), fmt_float(as_float(r.get("macs")) and r["macs"] / 1e9, 3)),
        "flops_paper": _cell(r.get("flops_paper"), fmt_float(as_float(r.get("flops_paper")) and r["flops_paper"] / 1e9, 2)),
        "n_conv": _cell(r.get("n_conv"), fmt_int(r.get("n_conv"))),
        "n_seeds": _cell(r.get("n_seeds") if is_run and r["method"] not in REFERENCE_METHODS else None,
                         fmt_int(r.get("n_seeds"))),
        "throughput": _cell(r.get("throughput"), fmt_float(r.get("throughput"), 1), speed_spread_words(r)),
        # the device name in the cell, the protocol in its tooltip: the full text would be the widest column
        "device": _cell(device or None, str(r.get("throughput_device") or device), device),
        "train_seconds": _cell(r.get("train_seconds"), fmt_duration(r.get("train_seconds"))),
        "iterations": _cell(r.get("iterations"), fmt_int(r.get("iterations"))),
        "finished_at": finished_cell(r.get("finished_at")),
        "git_commit": commit_cell(r.get("git_commit")),
        "tables": _cell(r.get("tables") or None, str(r.get("tables") or "").replace(",", ", ")),
    }
    cells.update(_score_cells(r, datasets, rgb_datasets))
    for cell in cells.values():
        if cell["text"] == MISSING:
            cell["text"] = ""
    return cells
