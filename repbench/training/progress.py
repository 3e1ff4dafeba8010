"""Plain progress lines: what training shows where there is no progress bar.

The pipeline trains with `progress=false` (a bar redrawn with carriage returns would fill its log
files), and stderr that is not a terminal never gets a bar. Without these lines a long job would
show nothing for half an hour. One line per log point, e.g.

    repsr-M4C16-x4 it 1200/3000 loss 0.02931 val 27.41dB elapsed 6m02s ETA 9m03s

Short and written whole (one write call), so that the lines of parallel jobs sharing a terminal
interleave as whole lines, and every line names its run.
"""
from __future__ import annotations

import time
from typing import Callable


def duration(seconds: float) -> str:
    """42s, 6m02s, 3h05m: the precision a person reads an ETA with."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressLine:
    """Formats the line for one log point. Elapsed is this process's wall time (validation and
    checkpoints included: that is what the user waits for); the ETA extrapolates its rate since
    start, so a resumed run's ETA is not skewed by iterations done before the restart."""

    def __init__(self, name: str, total: int, start: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.total, self.start, self.clock = name, total, start, clock
        self.began = clock()

    def line(self, iteration: int, loss: float, val_psnr: float | None = None) -> str:
        elapsed = self.clock() - self.began
        done = iteration - self.start
        eta = duration(elapsed / done * (self.total - iteration)) if done > 0 else "?"
        val = f" val {val_psnr:.2f}dB" if val_psnr is not None else ""
        return (f"{self.name} it {iteration}/{self.total} loss {loss:.5f}{val} "
                f"elapsed {duration(elapsed)} ETA {eta}")
