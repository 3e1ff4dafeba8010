"""One run folder as a typed record: what every table, figure, check and the leaderboard read.

A `Run` is read from its folder once (repbench.results.load): train.json, config.yaml, measure.json
(or counts.json), eval/*.json, metrics.csv and bn/. The files' older layouts are upgraded on the way
in (repbench.results.upgrade), so a field has one name and one type here whatever wrote it. The raw
files stay on the record (`train`, `measure`) for the facts no table models (provenance, a released
checkpoint's citation), never as a second way to read a modelled one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Budget:
    """What the run spent on training, as train.json records it."""

    iterations: int | None  # trained
    train_seconds: float | None
    sec_per_iter: float | None  # THE training time per iteration of every table (Table 3's ratios included)
    lr_pixels: int | None  # LR pixels seen
    val_data: str | None
    train_flops: float | None  # 2 x 3 x forward MACs per step, summed (repbench/training/flops.py)


@dataclass(frozen=True)
class Schedule:
    """The training schedule: config.yaml (the resolved config) for each field it holds, else train.json."""

    iterations: int | None  # planned
    batch_size: int | None
    patch_size: int | None  # LR patch side of stage 1 (of the whole run when one-stage)
    patch_size_stage2: int  # 0: one stage
    stage2_start: int | None  # first iteration of stage 2
    train_data: str | None  # comma-separated dataset names
    from_config: bool  # False: no config.yaml (a hand-made or older folder), train.json alone

    @property
    def train_sets(self) -> tuple[str, ...]:
        return tuple(n for n in str(self.train_data or "").split(",") if n)


@dataclass(frozen=True)
class Score:
    """One test set's eval/<set>-x<s>.json."""

    dataset: str  # the name it was evaluated under
    psnr_y: float | None
    ssim_y: float | None
    psnr_rgb: float | None
    ssim_rgb: float | None
    n_images: int | None
    scale: int | None  # as the eval record states it (None: older records, the run's)
    border: int | None  # pixels cropped at each edge before scoring
    runtime_s: float | None  # seconds per image
    runtime_forward: bool  # True: mean of per-image forward times; False: eval wall time / images

    def psnr(self, channel: str) -> float | None:
        """`y` or `rgb`."""
        return self.psnr_y if channel == "y" else self.psnr_rgb


@dataclass(frozen=True)
class Restart:
    """A loss-spike restart (train.json `lr_backoffs`): trained again from `restored_to` at `lr_scale` x the rate."""

    iteration: int
    restored_to: int
    lr_scale: float


@dataclass
class Run:
    """One run folder; train.json's fields win over what the folder name says."""

    name: str
    path: Path
    method: str
    size: str | None
    scale: int | None
    colors: int | None
    tag: str | None
    train: dict[str, Any] = field(default_factory=dict)  # train.json as written
    measure: dict[str, Any] = field(default_factory=dict)  # measure.json (or counts.json) as written
    measured: dict[str, Any] = field(default_factory=dict)  # its flat fields, either layout (upgrade.measure_fields)
    config: dict[str, Any] = field(default_factory=dict)  # config.yaml, {} when absent or unreadable
    budget: Budget = field(default_factory=lambda: Budget(None, None, None, None, None, None))
    schedule: Schedule = field(default_factory=lambda: Schedule(None, None, None, 0, None, None, False))
    scores: dict[str, Score] = field(default_factory=dict)  # dataset key -> its eval
    metrics: pd.DataFrame | None = None  # metrics.csv, numeric columns coerced
    metrics_problem: str | None = None  # why metrics.csv, which exists, could not be read
    restarts: tuple[Restart, ...] = ()
    # RUN/bn/ of `repbench bn-diagnose RUN --dataset SET --out RUN/bn`, for models with BatchNorm:
    bn_profile: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # image -> per-layer statistics
    bn_scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset key -> artifact_scores json
    bn_profile_source: str | None = None  # where bn_profile's image came from: a test set or an image file
    # The experiments (tables, sweeps) it belongs to, and whether the preset's plan named them
    # (False: inferred from what the run is, repbench.results.membership.inferred_experiments).
    experiments: tuple[str, ...] = ()
    planned: bool = False

    @property
    def options(self) -> dict[str, Any]:
        options = self.train.get("options")
        return options if isinstance(options, dict) else {}

    @property
    def published(self) -> dict[str, Any] | None:
        """train.json `published` of a released checkpoint imported by `repbench import`, else None."""
        published = self.train.get("published")
        return published if isinstance(published, dict) else None

    @property
    def published_as(self) -> str | None:
        """The release's name (trained by its authors, not here)."""
        return (self.published or {}).get("name")

    @property
    def trained_here(self) -> bool:
        """A training run of this project: not a floor (no train.json) and not an imported checkpoint."""
        return bool(self.train) and not self.train.get("imported")


@dataclass
class RunSet:
    root: Path
    runs: list[Run]
    notes: list[str] = field(default_factory=list)  # skipped folders and unreadable files, and why: shown under the tables
