"""One training run while it runs (`Run`: what was built and where it stands) and the loss window
between log points (`Window`). The loop and the spike guard both read these; neither imports the other.

Two things happen in one place only:

* weights go back through `Run.load_weights` (a resume from the checkpoint and a loss-spike back-off
  restore the same three states: model, optimizer, grad scaler);
* training seconds are counted by `Run.count_time`: what the window's clock read since it was
  started, so validation and checkpoint writes (done with the clock stopped) never count.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repbench.training import runfolder
from repbench.training.config import TrainConfig
from repbench.training.patches import PatchSampler
from repbench.training.progress import ProgressLine
from repbench.training.schedules import Schedule
from repbench.training.spikes import SpikeGuard



@dataclass
class Window:
    """The loss of the steps since the last log point, summed on the device (no sync per step)."""

    total: torch.Tensor
    count: int = 0
    tick: float = field(default_factory=time.perf_counter)

    def mean(self) -> float:
        return self.total.item() / self.count  # waits for every queued step: the clock reads true GPU time

    def reset(self) -> None:
        self.total.zero_()
        self.count = 0

    def start_clock(self) -> None:
        self.tick = time.perf_counter()


@dataclass
class Run:
    """One training run while it runs: what was built, and where it stands."""

    cfg: TrainConfig
    run_dir: Path
    device: torch.device
    use_amp: bool
    workers: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    scaler: torch.amp.GradScaler
    sampler: PatchSampler
    val_pairs: list
    freeze_at: int | None  # 0-based iteration at which BN freezes (None: never)
    guard: SpikeGuard
    start: int = 0  # iterations already done (from the checkpoint, or where a back-off went back to)
    train_seconds: float = 0.0
    bn_frozen_at: int | None = None
    last_val: float | None = None
    events: list[str] = field(default_factory=list)  # written with the next metrics row
    progress: ProgressLine | None = None  # plain lines at log points, where no bar is shown

    @property
    def checkpoint(self) -> Path:
        return runfolder.checkpoint_path(self.run_dir)

    def state(self, iteration: int) -> dict[str, Any]:
        return {
            "iteration": iteration,
            **self.weights(),
            "rng": runfolder.rng_states(self.device),
            "sampler": {"seed": self.cfg.seed, "next_batch": iteration},  # batches are a function of (seed, t)
            "train_seconds": self.train_seconds,
            "bn_frozen_at": self.bn_frozen_at,
            "val_psnr": self.last_val,
            "spikes": self.guard.state(),
        }

    def weights(self) -> dict[str, Any]:
        """Model, optimizer and grad-scaler state (live references: copy what must outlive a step)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}

    def load_weights(self, state: dict[str, Any]) -> None:
        """Put back the model, optimizer and grad-scaler state of a checkpoint or a kept start."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])

    def count_time(self, window: Window) -> None:
        """Add the seconds the window's clock has run since it was last started."""
        self.train_seconds += time.perf_counter() - window.tick
