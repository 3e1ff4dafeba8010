"""Run folders -> the tidy and wide pandas frames, and which paper table each run belongs to.

    load_runs(runs_root)   every run folder: train.json, measure.json (or counts.json), eval/*.json, metrics.csv
    tidy_frame(runs)       one row per run x test set, raw numbers only (ints, seconds, dB)
    wide_frame(tidy)       one row per run, `psnr_y_<set>` / `ssim_y_<set>` / `psnr_rgb_<set>` columns

Which runs belong to which paper table: a run's train.json may name them (`experiments`, a list,
or `experiment`, a string), else the preset's experiments do (the pipeline's `experiments.json` in
the runs folder). Otherwise membership follows from what the run is (see `_MEMBERSHIP`):
the same run may fill several tables (e.g. the default RGB RepSR fills Tables 4-7 at once); that
lives in `membership`, and measure.json's two layouts in `measure_fields`.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from repbench.errors import RepbenchError
from repbench.report.values import (
    REFERENCE_METHODS, first_of, as_int, as_float, dataset_key, dataset_label, model_label, ordered_datasets,
)

from repbench.report.measure_fields import measure_fields
from repbench.pipeline.config import PLAN_FILE
from repbench.report.membership import declared_experiments, option_value, bn_strategy, planned_tables, tables_of
from repbench.report.mdescape import span


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RepbenchError(f"{path} is not valid JSON ({err}); delete it and rerun the command that writes it") from err
    if not isinstance(data, dict):
        raise RepbenchError(f"{path} holds a {type(data).__name__}, expected a JSON object")
    return data


_RUN_NAME = re.compile(r"^(?P<method>.+?)-(?P<size>[A-Z][A-Za-z0-9]*)-x(?P<scale>\d)(?:-(?P<tag>.+))?$")
_BICUBIC_NAME = re.compile(r"^(?P<method>bicubic|nearest)-x(?P<scale>\d)$")


@dataclass
class Run:
    """One run folder as found on disk; fields from train.json win over the folder name."""

    name: str
    path: Path
    method: str
    size: str | None
    scale: int | None
    colors: int | None
    tag: str | None
    train: dict[str, Any] = field(default_factory=dict)
    measure: dict[str, Any] = field(default_factory=dict)
    evals: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset key -> eval json
    metrics: pd.DataFrame | None = None
    # RUN/bn/ of `repbench bn-diagnose RUN --dataset SET --out RUN/bn`, for models with BatchNorm:
    bn_profile: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # image -> per-layer statistics
    bn_scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset key -> artifact_scores json
    bn_profile_source: str | None = None  # where bn_profile's image came from: a test set or an image file
    planned: tuple[str, ...] | None = None  # the tables its preset names it in (None: not named, or no plan file)
    metrics_problem: str | None = None  # why metrics.csv, which exists, could not be read


@dataclass
class RunSet:
    root: Path
    runs: list[Run]
    notes: list[str] = field(default_factory=list)  # skipped folders and why, shown under the tables


def _parse_name(name: str) -> dict[str, Any]:
    if m := _BICUBIC_NAME.match(name):
        return {"method": m.group("method"), "size": None, "scale": int(m.group("scale")), "tag": None}
    if m := _RUN_NAME.match(name):
        tag = m.group("tag")
        return {"method": m.group("method"), "size": m.group("size"), "scale": int(m.group("scale")), "tag": tag}
    return {}


def _read_metrics(path: Path) -> tuple[pd.DataFrame | None, str | None]:
    """The training log, or why a metrics.csv that exists cannot be read (a damaged file is named, never
    taken for a run without validations)."""
    if not path.is_file():
        return None, None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        return None, f"{path} is damaged ({type(err).__name__}): its training curve is left out"
    for column in ("iteration", "loss", "lr", "seconds", "val_psnr"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    if "iteration" not in frame or frame["iteration"].isna().all():
        return None, (f"{path} is damaged (no numeric `iteration` column; columns: "
                      f"{', '.join(map(str, frame.columns[:5]))}): its training curve is left out")
    return frame, None


def load_run(folder: Path) -> Run | None:
    """A run folder, or None when the folder holds none of the files a run leaves behind."""
    train_path, measure_path = folder / "train.json", folder / "measure.json"
    if not measure_path.is_file():  # the counts alone (no clocks) when no timing job has run
        measure_path = folder / "counts.json"
    eval_paths = sorted((folder / "eval").glob("*.json")) if (folder / "eval").is_dir() else []
    if not (train_path.is_file() or measure_path.is_file() or eval_paths):
        return None
    train = _read_json(train_path) if train_path.is_file() else {}
    parsed = _parse_name(folder.name)
    method = str(train.get("method") or parsed.get("method") or folder.name)
    run = Run(
        name=folder.name,
        path=folder,
        method=method,
        size=train.get("size", parsed.get("size")),
        scale=as_int(train.get("scale", parsed.get("scale"))),
        colors=as_int(train.get("colors")),
        tag=parsed.get("tag"),
        train=train,
        measure=_read_json(measure_path) if measure_path.is_file() else {},
    )
    run.metrics, run.metrics_problem = _read_metrics(folder / "metrics.csv")
    for path in eval_paths:
        record = _read_json(path)
        name = str(record.get("dataset") or re.sub(r"-x\d$", "", path.stem))
        record.setdefault("dataset", name)
        run.evals[dataset_key(name)] = record
        if run.scale is None:
            run.scale = as_int(record.get("scale"))
        if run.colors is None and method not in REFERENCE_METHODS:
            run.colors = as_int(record.get("colors"))
    model = run.measure.get("model") if isinstance(run.measure.get("model"), dict) else {}
    run.size = run.size or model.get("size")
    run.scale = run.scale if run.scale is not None else as_int(model.get("scale"))
    run.colors = run.colors if run.colors is not None else as_int(model.get("colors"))
    if run.colors is None and run.tag and "rgb" in run.tag.split("-"):
        run.colors = 3
    return run


def load_runs(runs_root: str | os.PathLike) -> RunSet:
    root = Path(runs_root)
    hint = (
        "run folders <method>-<size>-x<scale>[-<tag>]/ are written by `repbench train --run-dir ...` "
        "(then `repbench measure` and `repbench eval` add measure.json and eval/*.json); the workflow "
        "runs them all with `snakemake --cores all results/table2.md`"
    )
    if not root.is_dir():
        raise RepbenchError(f"runs folder {root} does not exist: {hint}")
    plan_path = root / PLAN_FILE
    plan = planned_tables(_read_json(plan_path), plan_path) if plan_path.is_file() else None
    runs, notes = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            run = load_run(folder)
        except RepbenchError as err:
            # One broken run must not take every table down with it: skip it, and say so in each output.
            notes.append(f"{span(folder.name)} skipped: {err}")
            print(f"repbench report: warning: {notes[-1]}", file=sys.stderr)
            continue
        if run is None:
            continue
        run.planned = plan.get(run.name) if plan is not None else None
        status = run.train.get("status")
        if run.train and status not in (None, "complete"):
            notes.append(f"{span(run.name)} skipped: train.json status is {status!r}, not 'complete'")
            continue
        # A broken diagnostics file (or training log) costs the run those numbers, not its place in the tables.
        for note in load_bn_diagnostics(run) + ([f"`{run.name}`: {run.metrics_problem}"] if run.metrics_problem else []):
            notes.append(note)
            print(f"repbench report: warning: {note}", file=sys.stderr)
        runs.append(run)
    if not runs:
        raise RepbenchError(f"no runs found under {root}: {hint}" + "".join(f"; {n}" for n in notes))
    return RunSet(root, runs, notes)


_ARTIFACT_FILE = re.compile(r"^artifact_scores_(?P<dataset>.+)_x(?P<scale>\d+)$")


def _profile_source(summary: dict[str, Any]) -> str | None:
    """The image file (`--image`) or the test set (`--dataset`, whose first image is profiled) of bn_diagnose.json."""
    if summary.get("image_path"):
        return Path(str(summary["image_path"])).name
    match = _ARTIFACT_FILE.match(Path(str(summary.get("dataset_scores") or "")).stem)
    return dataset_label(dataset_key(match.group("dataset"))) if match else None


def load_bn_diagnostics(run: Run) -> list[str]:
    """Fill run.bn_profile and run.bn_scores from RUN/bn/ when it exists; returns notes on unusable files.

    bn_diagnose.json's `bn_profile` is Figure 5's data (image -> per-layer L1 norms of the image's and
    the population's feature statistics); each artifact_scores_<SET>_x<S>.json scores one test set.
    Scores at another scale than the run's are left out (they would describe another model)."""
    folder = run.path / "bn"
    if not folder.is_dir():
        return []
    notes = []
    summary = folder / "bn_diagnose.json"
    if summary.is_file():
        try:
            record = _read_json(summary)
        except RepbenchError as err:
            notes.append(f"{span(run.name)}: BN diagnostics skipped: {err}")
            record = {}
        profile = record.get("bn_profile")
        run.bn_profile_source = _profile_source(record)
        if isinstance(profile, dict):
            run.bn_profile = {
                str(image): [p for p in layers if isinstance(p, dict)]
                for image, layers in profile.items() if isinstance(layers, list)
            }
    for path in sorted(folder.glob("artifact_scores_*.json")):
        try:
            record = _read_json(path)
        except RepbenchError as err:
            notes.append(f"{span(run.name)}: artifact scores skipped: {err}")
            continue
        match = _ARTIFACT_FILE.match(path.stem)
        scale = as_int(record.get("scale", match.group("scale") if match else None))
        if run.scale is not None and scale is not None and scale != run.scale:
            notes.append(f"{span(run.name)}: {path.name} scores x{scale}, not the run's x{run.scale}; left out")
            continue
        name = str(record.get("dataset") or (match.group("dataset") if match else path.stem))
        record.setdefault("dataset", name)
        run.bn_scores[dataset_key(name)] = record
    return notes


RUN_COLUMNS = (
    "run", "method", "size", "scale", "colors", "tag", "label", "tables", "options", "status", "finished_at",
    "git_commit", "iterations", "train_seconds", "sec_per_iter", "lr_pixels", "val_data", "train_device", "seed", "torch", "final_val_psnr", "bn_frozen_at",
    "bn_strategy", "variant", "expand", "branches", "params_deployed", "params_train", "params_paper",
    "paper_convention", "macs", "flops_paper", "n_conv", "throughput", "throughput_unmerged",
    "throughput_device", "throughput_dtype", "throughput_mode", "throughput_batch", "throughput_lr_height",
    "throughput_lr_width", "throughput_label", "train_speed_sec_per_iter", "train_speed_device",
    "train_speed_batch", "train_speed_patch", "projected_hours",
)
EVAL_COLUMNS = ("dataset", "dataset_name", "psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "n_images")


def budget_fields(train: dict[str, Any]) -> dict[str, Any]:
    """What a run spent on training, from its train.json: `budget` (iterations, LR pixels seen, seconds)
    when present, else the top-level `iterations` / `train_seconds`.

    `sec_per_iter` is THE training time per iteration of every table (Table 3's ratios included):
    train.json's own `sec_per_iter`, else seconds / iterations of the budget."""
    budget = train.get("budget") if isinstance(train.get("budget"), dict) else {}
    iterations = as_int(first_of(budget, "iterations")) or as_int(train.get("iterations"))
    seconds = as_float(first_of(budget, "train_seconds"))
    seconds = seconds if seconds is not None else as_float(train.get("train_seconds"))
    spi = as_float(train.get("sec_per_iter"))
    if spi is None and seconds is not None and iterations:
        spi = seconds / iterations
    return {"iterations": iterations, "train_seconds": seconds, "sec_per_iter": spi,
            "lr_pixels": as_int(budget.get("lr_pixels")), "val_data": train.get("val_data") or None,
            "train_flops": as_float(budget.get("train_flops"))}  # 2 x 3 x forward MACs (repbench/measure/train_flops.py)


def _run_record(run: Run) -> dict[str, Any]:
    t = run.train
    options = t.get("options") if isinstance(t.get("options"), dict) else {}
    row: dict[str, Any] = {
        "run": run.name,
        "method": run.method,
        "size": run.size,
        "scale": run.scale,
        "colors": run.colors,
        "tag": run.tag,
        "options_dict": options,
        "options": json.dumps(options, sort_keys=True) if t else None,
        "status": t.get("status"),
        # when the run finished and from which code (repbench.provenance); absent from older runs
        "finished_at": t.get("finished_at") or None,
        "git_commit": t.get("git_commit") or None,
        **budget_fields(t),
        "train_device": t.get("device"),
        "seed": t.get("seed"),
        "torch": t.get("torch"),
        "final_val_psnr": as_float(first_of(t, "final_val_psnr", "val_psnr")),
        "bn_frozen_at": as_int(t.get("bn_frozen_at")),
        "frozen_bn_fraction": as_float(t.get("frozen_bn_fraction")),
        "declared_experiments": declared_experiments(t) or (list(run.planned) if run.planned else None),
        # a released checkpoint imported by `repbench import` (trained by its authors, not here): its name
        "published_as": (t.get("published") or {}).get("name") if isinstance(t.get("published"), dict) else None,
        # train.json carries the counts too; measure.json (below) wins where both exist
        "params_deployed": as_int(t.get("params_deployed")),
        "params_train": as_int(t.get("params_train")),
    }
    for key, value in measure_fields(run.measure).items():
        if value is not None or key not in row:
            row[key] = value
    row["label"] = model_label(run.method, run.size, options)
    row["bn_strategy"] = bn_strategy(row) if run.method == "edsr" else None
    if row["bn_strategy"] in ("bn", "frozen_bn"):
        # The two BN runs of Table 1 share their options; only the training strategy tells them apart.
        strategy = "with BN, never frozen" if row["bn_strategy"] == "bn" else "frozen BN"
        row["label"] = f"{model_label(run.method, run.size)} ({strategy})"
    for name in ("variant", "expand", "branches"):
        row[name] = option_value(row, name) if run.method == "repsr" else None
    row["tables"] = ",".join(tables_of(row))
    for key, record in run.bn_scores.items():
        row[f"artifact_score_{key}"] = as_float(record.get("mean_artifact_score"))
        row[f"artifact_db_{key}"] = as_float(record.get("mean_artifact_db"))
        row[f"psnr_population_{key}"] = as_float(record.get("mean_psnr_population"))
        row[f"psnr_image_stats_{key}"] = as_float(record.get("mean_psnr_image_stats"))
        row[f"artifact_images_{key}"] = as_int(record.get("n_images"))
    return row


def tidy_frame(runs: RunSet | Sequence[Run]) -> pd.DataFrame:
    """One row per run x test set (a run with no eval yet keeps one row with an empty dataset)."""
    run_list = runs.runs if isinstance(runs, RunSet) else list(runs)
    rows = []
    for run in run_list:
        base = _run_record(run)
        evals = run.evals or {None: {}}
        for key, record in evals.items():
            rows.append({
                **base,
                "dataset": key,
                "dataset_name": record.get("dataset"),
                "psnr_y": as_float(record.get("psnr_y")),
                "ssim_y": as_float(record.get("ssim_y")),
                "psnr_rgb": as_float(record.get("psnr_rgb")),
                "ssim_rgb": as_float(record.get("ssim_rgb")),
                "n_images": as_int(first_of(record, "n_images")) or (len(record["per_image"]) if isinstance(record.get("per_image"), list) else None),
            })
    frame = pd.DataFrame(rows)
    for column in RUN_COLUMNS + EVAL_COLUMNS:
        if column not in frame:
            frame[column] = None
    ordered = list(RUN_COLUMNS) + list(EVAL_COLUMNS)
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def wide_frame(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per run; metrics spread into `<metric>_<dataset>` columns."""
    run_cols = [c for c in tidy.columns if c not in EVAL_COLUMNS]
    base = tidy.drop_duplicates("run")[run_cols].set_index("run")
    scored = tidy[tidy["dataset"].notna()]
    for dataset in ordered_datasets(scored["dataset"].unique()):
        part = scored[scored["dataset"] == dataset].set_index("run")
        for metric in METRICS:
            base[f"{metric}_{dataset}"] = part[metric].reindex(base.index)
    return base.reset_index()


def frame_datasets(wide: pd.DataFrame) -> list[str]:
    keys = {c[len("psnr_y_"):] for c in wide.columns if c.startswith("psnr_y_")}
    return ordered_datasets(keys)


def artifact_datasets(wide: pd.DataFrame) -> list[str]:
    """Test sets some run has BN artifact scores on (`artifact_score_<set>` columns)."""
    return ordered_datasets(c[len("artifact_score_"):] for c in wide.columns if c.startswith("artifact_score_"))


def primary_dataset(wide: pd.DataFrame) -> str | None:
    """Urban100 (the paper's Figure 1 set) when evaluated, else the first test set."""
    present = [d for d in frame_datasets(wide) if wide[f"psnr_y_{d}"].notna().any()]
    if not present:
        return None
    return "urban100" if "urban100" in present else present[0]


def members(wide: pd.DataFrame, table: str) -> pd.DataFrame:
    mask = wide["tables"].fillna("").map(lambda s: table in s.split(","))
    return wide[mask]
