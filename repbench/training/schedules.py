"""Learning-rate schedules as functions of the iteration number.

A schedule here is stateless: the learning rate of iteration `t` depends on `t`
alone, so a resumed run needs no scheduler state, only its iteration counter.

- "multistep": multiply by `gamma` at each milestone (the tiny-model recipe).
- "cosine": cosine annealing with warm restarts (SGDR), `cycles` equal cycles over
  the run (the large-model recipe: 4 cycles). Built on timm's CosineLRScheduler.
- "constant": no decay (handy for tests and short experiments).

A loss-spike back-off multiplies every later rate by `scale` (repbench.training.spikes).

Any schedule can start with a linear warm-up (`warmup`, a fraction of the run): the
factor (t + 1) / W multiplies the lr for the first W iterations. Short runs at a high
learning rate need it: Adam's first steps, before its moment estimates settle, are
the ones that throw a zero-initialized output layer far off.
"""
from __future__ import annotations

import bisect
import logging
from typing import Sequence

import torch

from repbench.errors import RepbenchError
from repbench.training.config import SCHEDULE_NAMES as SCHEDULES  # one list: the config validates these names


class Schedule:
    """Sets the optimizer's learning rate for an iteration: `schedule.apply(t)` before step t."""

    warmup_iters = 0  # set by build_schedule
    scale = 1.0  # lowered by each loss-spike back-off (repbench.training.spikes)

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def ramp(self, t: int) -> float:
        return min(1.0, (t + 1) / self.warmup_iters) if self.warmup_iters else 1.0

    def apply(self, t: int) -> float:
        """Set and return the learning rate of iteration t."""
        lr = self.lr_at(t) * self.ramp(t) * self.scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr


class Constant(Schedule):
    def __init__(self, optimizer: torch.optim.Optimizer, lr: float):
        super().__init__(optimizer)
        self.lr = lr

    def lr_at(self, t: int) -> float:
        return self.lr


class MultiStep(Schedule):
    """lr * gamma ** (number of milestones <= t). Milestones are absolute iterations."""

    def __init__(self, optimizer: torch.optim.Optimizer, lr: float, milestones: Sequence[int], gamma: float):
        super().__init__(optimizer)
        self.lr, self.gamma = lr, gamma
        self.milestones = sorted(int(m) for m in milestones)

    def lr_at(self, t: int) -> float:
        return self.lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class CosineRestarts(Schedule):
    """SGDR with `cycles` equal cycles over `iterations`, each from `lr` down to `lr_min`.

    timm's scheduler does the math; it is queried per update (t_in_epochs=False)
    and its own step counter is never used, so the schedule stays a function of t.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lr: float, iterations: int, cycles: int, lr_min: float):
        super().__init__(optimizer)
        from timm.scheduler import CosineLRScheduler

        for group in optimizer.param_groups:
            group["lr"] = lr
            group.pop("initial_lr", None)  # timm records the base lr from the optimizer
        # timm warns about 1-iteration cycles, which only smoke-test runs have: keep it quiet.
        timm_log = logging.getLogger("timm.scheduler.cosine_lr")
        level = timm_log.level
        timm_log.setLevel(logging.ERROR)
        try:
            self._timm = CosineLRScheduler(
                optimizer,
                t_initial=max(1, iterations // cycles),
                lr_min=lr_min,
                cycle_limit=cycles,
                t_in_epochs=False,
            )
        finally:
            timm_log.setLevel(level)

    def apply(self, t: int) -> float:
        self._timm.step_update(num_updates=t)
        lr = float(self.optimizer.param_groups[0]["lr"]) * self.ramp(t) * self.scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr


def build_schedule(
    optimizer: torch.optim.Optimizer,
    kind: str,
    lr: float,
    iterations: int,
    milestones: Sequence[float] = (),
    gamma: float = 0.5,
    cycles: int = 4,
    lr_min: float = 1e-7,
    warmup: float = 0.0,
) -> Schedule:
    """`milestones` and `warmup` are fractions of `iterations` (0.5 = half way), so a recipe scales with run length."""
    schedule = _build(optimizer, kind, lr, iterations, milestones, gamma, cycles, lr_min)
    schedule.warmup_iters = max(1, round(warmup * iterations)) if warmup > 0 else 0
    return schedule


def _build(
    optimizer: torch.optim.Optimizer, kind: str, lr: float, iterations: int,
    milestones: Sequence[float], gamma: float, cycles: int, lr_min: float,
) -> Schedule:
    if kind == "constant":
        return Constant(optimizer, lr)
    if kind == "multistep":
        bad = [m for m in milestones if not 0.0 < float(m) < 1.0]
        if bad:
            raise RepbenchError(f"milestones are fractions of the run in (0, 1), got {bad}; e.g. milestones=[0.5,0.75]")
        return MultiStep(optimizer, lr, [round(float(m) * iterations) for m in milestones], gamma)
    if kind == "cosine":
        if cycles < 1:
            raise RepbenchError(f"cycles must be >= 1, got {cycles}")
        return CosineRestarts(optimizer, lr, iterations, cycles, lr_min)
    raise RepbenchError(f"unknown schedule {kind!r}; valid: {', '.join(SCHEDULES)}")
