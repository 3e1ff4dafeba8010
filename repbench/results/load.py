"""Run folders -> typed `Run` records, each file read once.

    load_runs(runs_root)   every run folder under a preset's runs folder, with its experiments
    load_run(folder)       one folder: train.json, config.yaml, measure.json (or counts.json), eval/*.json,
                           metrics.csv and bn/

A folder's name (`<method>-<size>-x<scale>[-<tag>]`, `bicubic-x4`) fills what its files do not say;
train.json wins where both do. A broken file costs what it holds, with a note that says so, never
the other runs: an unreadable train.json / measure.json / eval file skips its folder, an unreadable
config.yaml, metrics.csv or diagnostics file leaves those numbers out.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from repbench.errors import RepbenchError
from repbench.pipeline.config import PLAN_FILE
from repbench.results.membership import assign, planned_tables
from repbench.results.notes import span
from repbench.results.record import Run, RunSet
from repbench.results.upgrade import budget_of, measure_fields, restarts_of, schedule_of, score_of
from repbench.results.values import REFERENCE_METHODS, as_int, dataset_key, dataset_label


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RepbenchError(f"{path} is not valid JSON ({err}); delete it and rerun the command that writes it") from err
    if not isinstance(data, dict):
        raise RepbenchError(f"{path} holds a {type(data).__name__}, expected a JSON object")
    return data


def read_config(path: Path) -> tuple[dict[str, Any], str | None]:
    """config.yaml (the resolved training config), or {} and why it could not be read."""
    if not path.is_file():
        return {}, None
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        return {}, f"config.yaml is not valid YAML ({err}); its schedule is read from train.json"
    return (data if isinstance(data, dict) else {}), None


_RUN_NAME = re.compile(r"^(?P<method>.+?)-(?P<size>[A-Z][A-Za-z0-9]*)-x(?P<scale>\d)(?:-(?P<tag>.+))?$")
_BICUBIC_NAME = re.compile(r"^(?P<method>bicubic|nearest)-x(?P<scale>\d)$")


def _parse_name(name: str) -> dict[str, Any]:
    if m := _BICUBIC_NAME.match(name):
        return {"method": m.group("method"), "size": None, "scale": int(m.group("scale")), "tag": None}
    if m := _RUN_NAME.match(name):
        return {"method": m.group("method"), "size": m.group("size"), "scale": int(m.group("scale")),
                "tag": m.group("tag")}
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


def _read_scores(run: Run, paths: list[Path]) -> None:
    """eval/*.json into run.scores; a run's scale and colors from its evals where nothing else says them."""
    for path in paths:
        record = read_json(path)
        name = str(record.get("dataset") or re.sub(r"-x\d$", "", path.stem))
        run.scores[dataset_key(name)] = score_of(record, name)
        if run.scale is None:
            run.scale = as_int(record.get("scale"))
        if run.colors is None and run.method not in REFERENCE_METHODS:
            run.colors = as_int(record.get("colors"))


def load_run(folder: Path, notes: list[str] | None = None) -> Run | None:
    """A run folder, or None when the folder holds none of the files a run leaves behind. Notes on
    files read only in part go to `notes`."""
    train_path, measure_path = folder / "train.json", folder / "measure.json"
    if not measure_path.is_file():  # the counts alone (no clocks) when no timing job has run
        measure_path = folder / "counts.json"
    eval_paths = sorted((folder / "eval").glob("*.json")) if (folder / "eval").is_dir() else []
    if not (train_path.is_file() or measure_path.is_file() or eval_paths):
        return None
    train = read_json(train_path) if train_path.is_file() else {}
    measure = read_json(measure_path) if measure_path.is_file() else {}
    config, problem = read_config(folder / "config.yaml")
    if problem and notes is not None:
        notes.append(f"{span(folder.name)}: {problem}")
    parsed = _parse_name(folder.name)
    run = Run(
        name=folder.name, path=folder, method=str(train.get("method") or parsed.get("method") or folder.name),
        size=train.get("size", parsed.get("size")), scale=as_int(train.get("scale", parsed.get("scale"))),
        colors=as_int(train.get("colors")), tag=parsed.get("tag"), train=train, measure=measure,
        measured=measure_fields(measure), config=config, budget=budget_of(train),
        schedule=schedule_of(config, train), restarts=restarts_of(train),
    )
    run.metrics, run.metrics_problem = _read_metrics(folder / "metrics.csv")
    _read_scores(run, eval_paths)
    model = measure.get("model") if isinstance(measure.get("model"), dict) else {}
    run.size = run.size or model.get("size")
    run.scale = run.scale if run.scale is not None else as_int(model.get("scale"))
    run.colors = run.colors if run.colors is not None else as_int(model.get("colors"))
    if run.colors is None and run.tag and "rgb" in run.tag.split("-"):
        run.colors = 3
    return run


def _warn(notes: list[str], note: str) -> None:
    notes.append(note)
    print(f"repbench report: warning: {note}", file=sys.stderr)


def load_runs(runs_root: str | os.PathLike) -> RunSet:
    """Every run folder under `runs_root`, each placed in its experiments (repbench.results.membership)."""
    root = Path(runs_root)
    hint = (
        "run folders <method>-<size>-x<scale>[-<tag>]/ are written by `repbench train --run-dir ...` "
        "(then `repbench measure` and `repbench eval` add measure.json and eval/*.json); the workflow "
        "runs them all with `snakemake --cores all results/table2.md`"
    )
    if not root.is_dir():
        raise RepbenchError(f"runs folder {root} does not exist: {hint}")
    plan_path = root / PLAN_FILE
    plan = planned_tables(read_json(plan_path), plan_path) if plan_path.is_file() else None
    runs: list[Run] = []
    notes: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        partial: list[str] = []
        try:
            run = load_run(folder, partial)
        except RepbenchError as err:
            # One broken run must not take every table down with it: skip it, and say so in each output.
            _warn(notes, f"{span(folder.name)} skipped: {err}")
            continue
        if run is None:
            continue
        status = run.train.get("status")
        if run.train and status not in (None, "complete"):
            notes.append(f"{span(run.name)} skipped: train.json status is {status!r}, not 'complete'")
            continue
        assign(run, plan)
        # A broken diagnostics file (or training log) costs the run those numbers, not its place in the tables.
        for note in partial + load_bn_diagnostics(run) + (
                [f"`{run.name}`: {run.metrics_problem}"] if run.metrics_problem else []):
            _warn(notes, note)
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


def _read_profile(run: Run, summary: Path, notes: list[str]) -> None:
    try:
        record = read_json(summary)
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


def load_bn_diagnostics(run: Run) -> list[str]:
    """Fill run.bn_profile and run.bn_scores from RUN/bn/ when it exists; returns notes on unusable files.

    bn_diagnose.json's `bn_profile` is Figure 5's data (image -> per-layer L1 norms of the image's and
    the population's feature statistics); each artifact_scores_<SET>_x<S>.json scores one test set.
    Scores at another scale than the run's are left out (they would describe another model)."""
    folder = run.path / "bn"
    if not folder.is_dir():
        return []
    notes: list[str] = []
    if (folder / "bn_diagnose.json").is_file():
        _read_profile(run, folder / "bn_diagnose.json", notes)
    for path in sorted(folder.glob("artifact_scores_*.json")):
        try:
            record = read_json(path)
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
