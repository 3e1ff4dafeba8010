"""One run as the NTIRE tables see it (method, depth, stages, runtime), and `collect` over a report's runs."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from repbench.report.budgets import lr_pixels
from repbench.report.tables.floors import floor_rows
from repbench.report.context import ReportContext
from repbench.results import Run
from repbench.results.seeds import spread
from repbench.results.values import (as_int, as_float, dataset_label, names_a_release,
                                     ordered_datasets, relevant_options)
from repbench.report.numbers import MISSING
from repbench.results.notes import span


SOURCE = "ntire2022"  # repbench/references/ntire2022.yaml
METHODS = ("imdn", "imdn-clb")
SCALE, COLORS = 4, 3  # every row of the paper is x4 RGB
PREFERRED_DATASET = "div2k_val"  # the challenge's validation set (values.dataset_key("DIV2K-valid"))
FLOPS_SIDE = 256  # the challenge counts FLOPs for one 256x256 LR input
PAPER_STAGE2_PATCH = 160  # "In the second stage, we increase the patch size to 160x160" (Table 2's two-stage row)


@dataclass(frozen=True)
class NtireRun:
    """A finished imdn / imdn-clb run: raw numbers only; None where the run folder lacks them."""

    name: str
    method: str
    blocks: int | None  # B of the `B{n}` size
    patch_size: int | None  # LR patch side of stage 1 (of the whole run when one-stage)
    patch_size_stage2: int  # 0: one stage
    stage2_start: int | None  # first iteration of stage 2
    iterations: int | None
    train_data: str | None
    sec_per_iter: float | None  # train.json: wall time / iterations over the whole run
    stage2_sec_per_iter: float | None  # metrics.csv: stage 2 alone (two-stage runs)
    params: int | None  # deployed (merged) count
    macs: int | None  # measure.json, deployed net, at macs_lr_hw
    macs_lr_hw: tuple[int, int] | None
    psnr: float | None  # RGB PSNR on the chosen validation set
    border: int | None
    runtime_s: float | None  # seconds per image
    runtime_forward: bool  # True: mean of per-image forward times; False: eval wall time / images
    declared: tuple[str, ...] | None  # the experiments the preset's plan names it in; None: not named (every table)
    marked: bool = False  # `repbench check` found it under-trained (its rows carry the †)
    # The deployed network's one timing (`repbench measure`, shared by every run of that network; batch,
    # LR size): where it exists it is the runtime shown, so identical networks show one runtime.
    runtime_timing: str | None = None
    psnr_std: float | None = None  # sample std of the PSNR over seeds (None: one seed)
    n_seeds: int = 1
    batch_size: int | None = None
    lr_pixels: int | None = None  # LR pixels seen in training (train.json budget, else computed from the schedule)

    @property
    def two_stage(self) -> bool:
        return self.patch_size_stage2 > 0

    @property
    def flops_256(self) -> float | None:
        return macs_at(self.macs, self.macs_lr_hw)


@dataclass
class NtireData:
    dataset: str | None  # dataset key of the PSNR column, None when no run was evaluated
    dataset_name: str
    runs: list[NtireRun]
    notes: list[str] = field(default_factory=list)
    floors: list[tuple[str, str, float | None]] = field(default_factory=list)  # (label, folder, RGB PSNR)
    marks: dict[str, list[str]] = field(default_factory=dict)  # base run id -> why it is under-trained
    restarts: dict[str, list[str]] = field(default_factory=dict)  # base run id -> its loss-spike restarts

    def of(self, table: str) -> list[NtireRun]:
        """The runs a table may use: those declaring it, or every run that declares nothing."""
        return [r for r in self.runs if r.declared is None or table in r.declared]

    def budget(self, table: str) -> int | None:
        """The iterations the table's experiment trains: those of the runs the preset's plan
        names for it, else of all the runs it may use; the count most
        of them share. None when no run records one, or when two counts tie (no single budget)."""
        named = [r for r in self.runs if r.declared is not None and table in r.declared]
        counts = Counter(r.iterations for r in (named or self.of(table)) if r.iterations)
        top = counts.most_common(2)
        if not top or (len(top) == 2 and top[0][1] == top[1][1]):
            return None
        return top[0][0]


def macs_at(macs: Any, lr_hw: tuple[int, int] | None, side: int = FLOPS_SIDE) -> float | None:
    """MACs at a side x side LR input from a count at lr_hw. Every layer of IMDN is a convolution (or
    a pixel shuffle) applied at each LR pixel, so the count is proportional to the pixel count: the
    scaling is exact, not an estimate."""
    count = as_float(macs)
    if count is None or lr_hw is None or lr_hw[0] <= 0 or lr_hw[1] <= 0:
        return None
    return count * side * side / (lr_hw[0] * lr_hw[1])


def blocks_of(size: Any) -> int | None:
    match = re.fullmatch(r"B(\d+)", str(size or ""))
    return int(match.group(1)) if match else None


def deployed_timing(row: dict[str, Any]) -> tuple[float, str] | None:
    """(seconds per image, its setting) from the deployed network's throughput record, if timed."""
    ms, batch = as_float(row.get("throughput_ms_per_batch")), as_int(row.get("throughput_batch"))
    if ms is None or not batch:
        return None
    h, w = as_int(row.get("throughput_lr_height")), as_int(row.get("throughput_lr_width"))
    where = f"batch {batch}, {w}x{h} LR" if h and w else f"batch {batch}"
    return ms / 1e3 / batch, f"{where}, {row.get('throughput_device') or 'unknown device'}"


def stage2_sec_per_iter(metrics: pd.DataFrame | None, stage2_start: int | None) -> float | None:
    """Seconds per iteration of stage 2 alone, from the cumulative training time in metrics.csv.
    train.json's sec_per_iter averages both stages, which hides what the larger patches cost."""
    if metrics is None or not stage2_start or not {"iteration", "seconds"} <= set(metrics.columns):
        return None
    log = metrics[["iteration", "seconds"]].dropna().drop_duplicates("iteration", keep="last")
    log = log[log["iteration"] >= stage2_start].sort_values("iteration")
    if len(log) < 2:
        return None
    first, last = log.iloc[0], log.iloc[-1]
    return float((last["seconds"] - first["seconds"]) / (last["iteration"] - first["iteration"]))


def _schedule_note(run: Run) -> list[str]:
    if not run.schedule.from_config and run.train.get("patch_size_stage2") is None:
        return [f"{span(run.name)}: no config.yaml, so it is taken as one-stage training"]
    return []


def _is_candidate(row: dict[str, Any]) -> bool:
    return (
        row["method"] in METHODS
        and as_int(row.get("scale")) == SCALE
        and as_int(row.get("colors")) == COLORS
        and not relevant_options(row["method"], row.get("options_dict"))  # e.g. channels=32 is another network
        and not names_a_release(row.get("published_as"))  # a released checkpoint: the published table's
    )


def _choose_dataset(runs: Iterable[Run]) -> tuple[str | None, str]:
    """DIV2K-valid when any run was scored on it, else the first test set with an RGB PSNR."""
    names: dict[str, str] = {}
    for run in runs:
        for key, score in run.scores.items():
            if score.psnr_rgb is not None:
                names.setdefault(key, score.dataset or key)
    if not names:
        return None, MISSING
    key = PREFERRED_DATASET if PREFERRED_DATASET in names else ordered_datasets(names)[0]
    return key, dataset_label(key, names[key])


def collect(ctx: ReportContext) -> NtireData:
    by_name = {r.name: r for r in ctx.runs.runs}
    rows = [r for r in ctx.wide.to_dict("records") if _is_candidate(r) and r["run"] in by_name]
    key, name = _choose_dataset(by_name[r["run"]] for r in rows)
    notes: list[str] = []
    marks = ctx.marks()
    floors = [(str(r["label"]), str(r["run"]), as_float(r.get(f"psnr_rgb_{key}")) if key else None)
              for r in floor_rows(ctx.wide, SCALE).to_dict("records")]  # nearest, then bicubic
    runs = []
    for row in rows:
        run = by_name[row["run"]]
        sched = run.schedule
        notes += _schedule_note(run)
        score = run.scores.get(key) if key else None
        runtime, forward = (score.runtime_s, score.runtime_forward) if score else (None, False)
        timing = deployed_timing(row)
        if timing is not None:
            runtime, forward = timing[0], True
        h, w = as_int(row.get("macs_lr_height")), as_int(row.get("macs_lr_width"))
        runs.append(NtireRun(
            name=run.name,
            method=run.method,
            blocks=blocks_of(run.size),
            patch_size=sched.patch_size,
            patch_size_stage2=sched.patch_size_stage2,
            stage2_start=sched.stage2_start,
            iterations=sched.iterations or as_int(row.get("iterations")),
            train_data=sched.train_data,
            sec_per_iter=as_float(row.get("sec_per_iter")),
            stage2_sec_per_iter=stage2_sec_per_iter(run.metrics, sched.stage2_start) if sched.patch_size_stage2 else None,
            params=as_int(row.get("params_deployed")),
            macs=as_int(row.get("macs")),
            macs_lr_hw=(h, w) if h and w else None,
            psnr=as_float(row.get(f"psnr_rgb_{key}")) if key else None,
            border=score.border if score else None,
            runtime_s=runtime,
            runtime_forward=forward,
            runtime_timing=timing[1] if timing is not None else None,
            declared=run.experiments if run.planned else None,
            marked=run.name in marks,
            psnr_std=spread(row, f"psnr_rgb_{key}")[1] if key else None,
            n_seeds=spread(row, f"psnr_rgb_{key}")[2] if key else 1,
            batch_size=sched.batch_size,
            lr_pixels=as_int(row.get("lr_pixels")) or lr_pixels(
                sched.iterations or row.get("iterations"), sched.batch_size, sched.patch_size,
                sched.patch_size_stage2, sched.stage2_start),
        ))
    runs.sort(key=lambda r: (METHODS.index(r.method), -(r.blocks or 0), r.patch_size_stage2, r.name))
    return NtireData(key, name, runs, notes, floors, marks, ctx.restarts())
