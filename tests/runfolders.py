"""One builder of fake run folders, shared by the report, check and leaderboard tests.

A run folder as `repbench train`, `measure` and `eval` leave it: train.json, measure.json,
eval/<set>-x<scale>.json and metrics.csv; and the floors' folders (bicubic-x4/eval/..., nearest-x4/...).
The numbers are the test's; the layout is the project's, in one place.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml

from repbench.pipeline.config import PLAN_FILE

FLAT = [(0, 20.0), (500, 27.80), (1000, 27.99), (1500, 28.00)]  # a converged curve: +0.01 dB in the last interval
METRICS_HEADER = "iteration,loss,lr,seconds,val_psnr,event"


def write_file(path: Path, obj: Any) -> Path:
    """A JSON file (indented), or YAML for a .yaml path; parents created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(obj) if path.suffix == ".yaml" else json.dumps(obj, indent=2))
    return path


def plan_run(root: Path, run_id: str, experiments: list[str]) -> Path:
    """Name a run in the preset's plan (the pipeline's experiments.json, the one membership source)."""
    path = root / PLAN_FILE
    plan = json.loads(path.read_text()) if path.is_file() else {"experiments": {}}
    for name in experiments:
        plan["experiments"].setdefault(name, []).append(run_id)
    return write_file(path, plan)


def eval_record(dataset: str, scale: int, psnr: float, ssim: float, rgb_offset: float | None = -0.3,
                n_images: int = 3, per_image: bool = True) -> dict[str, Any]:
    """What `repbench eval` writes: Y PSNR / SSIM, RGB PSNR (`psnr + rgb_offset`; None: not written)."""
    record: dict[str, Any] = {"dataset": dataset, "scale": scale, "n_images": n_images, "psnr_y": psnr, "ssim_y": ssim}
    if rgb_offset is not None:
        record["psnr_rgb"] = psnr + rgb_offset
    if per_image:
        record["per_image"] = [{"name": "a", "psnr_y": psnr}]
    return record


def write_eval(run: Path, record: dict[str, Any]) -> Path:
    return write_file(run / "eval" / f"{record['dataset']}-x{record['scale']}.json", record)


def write_floors(root: Path, floors: dict[str, dict[str, Any]], scale: int = 4, **record: Any) -> None:
    """The fixed upsamplers' folders: floors = {"bicubic": {set: psnr or (psnr, ssim)}, "nearest": ...};
    `record` passes on to `eval_record` (rgb_offset, n_images, per_image)."""
    for method, scores in floors.items():
        for dataset, value in scores.items():
            psnr, ssim = value if isinstance(value, tuple) else (value, 0.8)
            write_eval(root / f"{method}-x{scale}", eval_record(dataset, scale, psnr, ssim, **record))


def write_metrics(run: Path, rows: Iterable[str]) -> Path:
    """metrics.csv from its data rows (`iteration,loss,lr,seconds,val_psnr,event`)."""
    path = run / "metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([METRICS_HEADER, *rows]) + "\n")
    return path


def add_run(root: Path, name: str, method: str, size: str, macs: int, psnr: dict[str, float],
            curve: list[tuple[int, float]] = FLAT, seed: int = 0, colors: int = 1, **train: Any) -> Path:
    """A finished x4 run folder (Y runs score psnr_y, RGB runs psnr_rgb = psnr_y - 0.4); `train` adds to
    or replaces train.json's fields."""
    run = root / name
    write_file(run / "train.json", {"method": method, "size": size, "scale": 4, "colors": colors, "options": {},
                                    "status": "complete", "seed": seed, "val_data": "Set5", "device": "cpu",
                                    "iterations": 1500, "train_seconds": 300.0, "sec_per_iter": 0.2, **train})
    write_file(run / "measure.json", {"counts": {"deployed_params": macs // 1000, "macs": macs, "convs": 6}})
    for dataset, value in psnr.items():
        write_eval(run, eval_record(dataset, 4, value, 0.85, rgb_offset=-0.4, n_images=5, per_image=False))
    write_metrics(run, [f"{it},0.05,0.0001,{it / 10},{v},val" for it, v in curve])
    return run


def add_seeds(root: Path, method: str, size: str, macs: int, set5: list[float], **extra: Any) -> None:
    """One x4 Y run per seed of `method` at `size` (seed 0 keeps the plain id), scoring `set5` on Set5."""
    for k, value in enumerate(set5):
        add_run(root, f"{method}-{size}-x4" + (f"-seed{k}" if k else ""), method, size, macs, {"Set5": value},
                seed=k, **extra)
