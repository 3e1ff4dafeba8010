"""Loss-spike restart: a run whose loss spikes starts over from its initial weights at a quarter of the rate.

At a few hundred steps the common learning rate sits near the edge of stability for the deepest,
widest networks: a run can train for tens of steps, then its loss jumps by orders of magnitude and
never comes back (ECBSR M16C64 at lr 1e-3: loss 0.03 -> 1e5 in 30 steps). Rather than tune that
method's rate, every run follows one rule:

- the mean loss of each block of `BLOCK` steps is compared with the median of the blocks before it;
- a block more than `FACTOR` times that median (or non-finite) is a spike: the run goes back to the
  state it started from (weights, optimizer and grad-scaler state), multiplies its learning rate by
  `SHRINK` and trains again on the same batches, so it becomes the run it would have been at that rate;
- at most `allowed` times (config `spike_backoffs`); after that a finite spike is trained through
  (and `repbench check` judges the result) and a non-finite loss stops the run.

Why from the start and not from a few blocks back: the instability builds up for tens of steps
before the loss shows it. ECBSR M16C64 sent back two blocks (to step 20 of a spike at step 40) went
on from damaged weights and ended below bicubic (Set5 27.84 dB at half the rate, 28.33 at a quarter);
started over at a quarter of the rate it trains (README, "Loss spikes"). The short runs this is meant
for lose a few dozen steps to it.

A run that never spikes is computed exactly as without the guard. Each back-off is recorded (metrics
event `lr_backoff`, train.json `lr_backoffs`), and the replayed steps count in the run's seconds.
The guard stops watching once BN is frozen: the blocks change form there, and the rate is near zero.
"""
from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import torch

BLOCK = 10  # steps per judged block: one host sync per block, not per step
FACTOR = 2.0  # a block's mean loss above FACTOR x the median of earlier blocks is a spike
SHRINK = 0.25  # learning-rate factor per back-off: a quarter leaves the unstable range in one step
HISTORY = 5  # earlier blocks the median is taken over
MIN_HISTORY = 2  # blocks needed before any is judged


@dataclass(frozen=True)
class Backoff:
    """The guard's decision at a spiked block: go back to `state` (kept after `restored_to` steps)
    and train again at `lr_scale` times the rate. The loop carries it out."""

    iteration: int  # the step whose block spiked
    restored_to: int
    lr_scale: float
    state: dict[str, Any]


@dataclass
class SpikeGuard:
    allowed: int
    backoffs: list[dict[str, Any]] = field(default_factory=list)
    history: list[float] = field(default_factory=list)  # block mean losses, oldest first
    _sum: torch.Tensor | None = None
    _count: int = 0
    _kept: tuple[int, dict[str, Any]] | None = None  # (iteration, state) the run started from

    @property
    def scale(self) -> float:
        """The learning-rate factor after the back-offs so far."""
        return SHRINK ** len(self.backoffs)

    @property
    def watching(self) -> bool:
        return len(self.backoffs) < self.allowed

    def can_back_off(self) -> bool:
        return self.watching and self._kept is not None

    def keep(self, iteration: int, state: dict[str, Any]) -> None:
        """Remember the state the run starts from, after `iteration` steps (0 unless resumed)."""
        self._kept = (iteration, copy.deepcopy(state))

    def add(self, loss: torch.Tensor) -> None:
        """Add one step's loss to the current block (stays on the device)."""
        self._sum = loss.detach().float() if self._sum is None else self._sum + loss.detach().float()
        self._count += 1

    def judge(self) -> bool:
        """At a block's end: True when the block is a spike and a back-off is left to take."""
        mean = self._sum.item() / self._count  # the one host sync of the block
        self._sum, self._count = None, 0
        earlier = self.history[-HISTORY:]
        spike = not math.isfinite(mean) or (
            len(earlier) >= MIN_HISTORY and mean > FACTOR * statistics.median(earlier)
        )
        if spike and self.can_back_off():
            return True
        if math.isfinite(mean):
            self.history.append(mean)
        return False

    def observe(self, iteration: int, loss: torch.Tensor, last: bool) -> Backoff | None:
        """Feed step `iteration`'s loss; at a block's end (or the run's last step), the back-off to
        take when the block spiked, else None."""
        self.add(loss)
        if iteration % BLOCK and not last:
            return None
        if not self.judge():
            return None
        return self.back_off(iteration)

    def back_off(self, iteration: int) -> Backoff:
        """Record a back-off at `iteration`; return it with a copy of the kept state to restore."""
        restored_to, state = self._kept
        self.history = []
        record = {"iteration": iteration, "restored_to": restored_to, "lr_scale": SHRINK * self.scale}
        self.backoffs.append(record)
        return Backoff(iteration, restored_to, record["lr_scale"], copy.deepcopy(state))

    def stop_watching(self) -> None:
        self.allowed = len(self.backoffs)
        self._kept, self._sum, self._count = None, None, 0

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps, so a resumed run judges and scales as an uninterrupted one."""
        return {"backoffs": list(self.backoffs), "history": list(self.history)}

    def load(self, state: dict[str, Any] | None) -> None:
        if state:
            self.backoffs = list(state["backoffs"])
            self.history = [float(x) for x in state["history"]]
