"""A run folder and what training writes into it.

    config.yaml         the resolved config (every field, after the recipe profile and every layer)
    metrics.csv         iteration, loss, lr, seconds, val_psnr, event   (one row per log point)
    checkpoints/last.pt model, optimizer, grad scaler, RNG states; written atomically
    final.pt            training-time weights (methods.save)
    deployed.pt         the merged network (methods.merge), or the training-time net if not mergeable
    train.json          raw facts of the run; status "complete" marks a finished run; finished_at and
                        git_commit say when and from which code (repbench.provenance)

Iterations are counted from 1: the metrics row of iteration k describes the k-th optimizer
step, and checkpoints hold the state after that many steps. A resumed run is bit-identical to
an uninterrupted one on CPU because every source of randomness is either restored here
(torch / numpy / python RNG states) or a pure function of (seed, iteration) (the patch
sampler, the learning-rate schedule).
"""
from __future__ import annotations

import csv
import json
import os
import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch
import yaml

import methods
from repbench import atomic, provenance
from repbench.training import runstate
from repbench.errors import RepbenchError
from repbench.training.runlock import LOCK_NAME
from repbench.training.config import TrainConfig

METRICS_COLUMNS = ("iteration", "loss", "lr", "seconds", "val_psnr", "event")
_CHECKPOINT_KEYS = ("iteration", "model", "optimizer", "scaler", "rng", "train_seconds")


def checkpoint_path(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "last.pt"


def missing_folders(run_dir: Path) -> list[Path]:
    """The run folder and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (run_dir, *run_dir.parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


@contextmanager
def undone_on_failure(created: list[Path]) -> Iterator[None]:
    """A start that fails before the first step (a config error the data or the device reveals: an
    unknown dataset, a patch no image holds, no GPU) removes what it made: the folders in `created`
    (`missing_folders` before the lock made them), with the lock and config.yaml written into them.
    A refused `repbench train` then leaves nothing behind; a folder that existed before stays as it is."""
    try:
        yield
    except BaseException:
        if created:
            for name in ("config.yaml", LOCK_NAME):
                (created[0] / name).unlink(missing_ok=True)
            for folder in created:
                try:
                    folder.rmdir()
                except OSError:  # something else was put there meanwhile: leave it
                    break
        raise


def write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    with atomic.atomic_open(path) as fh:
        yaml.safe_dump(dict(data), fh, sort_keys=False)


def read_train_json(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "train.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


class MetricsLog:
    """metrics.csv, appended row by row (flushed, so a crash loses nothing logged)."""

    def __init__(self, path: Path, resume_at: int | None) -> None:
        self.path = path
        if resume_at is None or not path.is_file():
            with atomic.atomic_open(path) as fh:
                csv.writer(fh).writerow(METRICS_COLUMNS)
        else:
            # Rows past the checkpoint describe steps that will be redone: drop them.
            with path.open(newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if r.get("iteration", "").isdigit() and int(r["iteration"]) <= resume_at]

            with atomic.atomic_open(path) as fh:
                w = csv.DictWriter(fh, METRICS_COLUMNS, extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)
        self.fh = path.open("a", newline="")
        self.writer = csv.writer(self.fh)

    def row(self, iteration: int, loss: float | None, lr: float, seconds: float, val_psnr: float | None, events: list[str]) -> None:
        self.writer.writerow([
            iteration,
            "" if loss is None else f"{loss:.6g}",
            f"{lr:.6g}",
            f"{seconds:.3f}",
            "" if val_psnr is None else f"{val_psnr:.4f}",
            ";".join(events),
        ])
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


# ----------------------------------------------------------------------------- checkpoints


def rng_states(device: torch.device) -> dict[str, Any]:
    np_state = np.random.get_state(legacy=False)
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {**np_state, "state": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                                        "pos": int(np_state["state"]["pos"])}},
        "python": _to_lists(random.getstate()),
    }
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _to_lists(x: Any) -> Any:
    return [_to_lists(v) for v in x] if isinstance(x, (list, tuple)) else x


def _to_tuples(x: Any) -> Any:
    return tuple(_to_tuples(v) for v in x) if isinstance(x, list) else x


def set_rng_states(states: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(states["torch"])
    np_state = dict(states["numpy"])
    np_state["state"] = {"key": states["numpy"]["state"]["key"].numpy().astype(np.uint32), "pos": states["numpy"]["state"]["pos"]}
    np.random.set_state(np_state)
    random.setstate(_to_tuples(states["python"]))
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    runstate.refuse_nonfinite(path, state, lambda p: load_checkpoint(p)["iteration"])  # keep the last good one
    with atomic.atomic_open(path, "wb") as fh:
        torch.save(dict(state), fh)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        # Everything in a checkpoint is tensors and plain containers: the safe loader suffices.
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's own text suggests weights_only=False, which is not the fix here
        ckpt = err
    missing = ["a dict"] if not isinstance(ckpt, dict) else [k for k in _CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        why = type(ckpt).__name__ if isinstance(ckpt, Exception) else f"no {', '.join(missing)}"
        raise RepbenchError(
            f"checkpoint {path} is corrupt or not a repbench checkpoint ({why}); delete it to restart the run "
            "from scratch (earlier iterations are lost), or train into a new --run-dir"
        )
    return ckpt


# ----------------------------------------------------------------------------- train.json


def budget_record(cfg: TrainConfig, train_seconds: float) -> dict[str, Any]:
    """What a run was given: optimizer steps, LR training pixels seen, CPU/GPU seconds, and training FLOPs
    (`train_flops`: 2 FLOPs per multiply-add x 3 for forward + backward x fvcore's forward MACs of the
    training-time network at the run's batch and LR patch, over every iteration; `train_flops_rule` says
    so in words; repbench/training/flops.py, docs/conventions.md section 3)."""
    from repbench.training.flops import RULE, train_flops

    p1, p2 = cfg.patch_size, cfg.patch_size_stage2 or cfg.patch_size
    stage2 = max(0, cfg.iterations - cfg.stage2_start) if cfg.patch_size_stage2 else 0
    pixels = cfg.batch_size * ((cfg.iterations - stage2) * p1 * p1 + stage2 * p2 * p2)
    return {"iterations": cfg.iterations, "lr_pixels": pixels, "train_seconds": train_seconds,
            "train_flops": train_flops(cfg), "train_flops_rule": RULE}


def train_record(cfg: TrainConfig, facts: Mapping[str, Any], model: torch.nn.Module, deployed: torch.nn.Module) -> dict[str, Any]:
    """train.json of a finished run: the config fields later stages read, what the run measured, and
    when it finished and from which commit (`finished_at`, `git_commit`: see repbench.provenance).

    `facts` holds train_seconds, device, amp, workers, val_psnr, bn_frozen_at and lr_backoffs (each loss-spike
    back-off: the iteration it was detected at, the iteration restored, the lr factor from then on)."""
    seconds = facts["train_seconds"]
    return {
        "method": cfg.method, "size": cfg.size, "scale": cfg.scale, "colors": cfg.colors, "options": cfg.options,
        "train_data": cfg.train_data, "val_data": cfg.val_data, "iterations": cfg.iterations,
        "batch_size": cfg.batch_size, "patch_size": cfg.patch_size, "lr": cfg.lr, "schedule": cfg.schedule,
        "frozen_bn_fraction": cfg.frozen_bn_fraction,
        "train_seconds": seconds, "sec_per_iter": seconds / cfg.iterations,
        # Steps redone after a loss-spike back-off cost seconds but do not add to the schedule's iterations.
        "budget": {**budget_record(cfg, seconds),
                   "replayed_steps": sum(b["iteration"] - b["restored_to"] for b in facts.get("lr_backoffs", []))},
        "warmup": cfg.warmup, "device": facts["device"], "amp": facts["amp"], "workers": facts["workers"],
        "threads": torch.get_num_threads(), "torch": torch.__version__, "allocator": facts.get("allocator"),
        "params_train": methods.count_params(model), "params_deployed": methods.count_params(deployed),
        "mergeable": bool(deployed.build_args.get("merged")),
        "val_psnr": facts["val_psnr"], "bn_frozen_at": facts["bn_frozen_at"], "lr_backoffs": facts.get("lr_backoffs", []),
        "seed": cfg.seed, "status": "complete",
        **provenance.run_provenance(),
    }
