"""Run folders -> one tidy table -> the paper's Markdown tables, two figures and a leaderboard page.

Data flow (every step is a plain function, testable on its own):

    load_runs(runs_root)   every run folder: train.json, measure.json, eval/*.json, metrics.csv
    tidy_frame(runs)       one row per run x test set, raw numbers only (ints, seconds, dB)
    wide_frame(tidy)       one row per run, `psnr_y_<set>` / `ssim_y_<set>` / `psnr_rgb_<set>` columns
    render_table1..7       Markdown via pandas + tabulate, with the paper's numbers and deltas beside ours
    figure_tradeoff/curves matplotlib (Agg), PNG + SVG
    render_leaderboard     one self-contained HTML page (jinja2 template) + a raw CSV

Numbers stay raw until a renderer formats them. Every file is written atomically (temp file +
rename), so an interrupted report never leaves a half-written table for the workflow to trust.

Which runs belong to which paper table: a run's train.json may name them (`experiments`, a list,
or `experiment`, a string). Otherwise membership follows from what the run is (see `_MEMBERSHIP`):
the same run may fill several tables (e.g. the default RGB RepSR fills Tables 4-7 at once).
"""
from __future__ import annotations

import html
import io
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Sequence

import pandas as pd
import yaml

from repbench import atomic
from repbench.errors import RepbenchError

TABLES: tuple[str, ...] = ("table1", "table2", "table3", "table4", "table5", "table6", "table7")
# The NTIRE 2022 companion paper's tables (repbench.report_ntire): rendered only when named in `only`,
# so that a preset without IMDN runs does not get three tables of paper rows by default.
NTIRE_TABLES: tuple[str, ...] = ("ntire_table2", "ntire_table3", "ntire_table5")
FIGURES: tuple[str, ...] = ("fig1", "fig6")
DEFAULT_TARGETS: tuple[str, ...] = TABLES + FIGURES + ("leaderboard",)
TARGETS: tuple[str, ...] = TABLES + NTIRE_TABLES + FIGURES + ("leaderboard",)

PAPER_ITERATIONS = 1_000_000  # the paper trains every model for 1000K iterations (Table 3 projects to it)
REFERENCES_DIR = Path(__file__).parent / "references"

# Canonical test sets, in the paper's column order; eval files may spell them differently.
DATASET_ORDER: tuple[str, ...] = ("set5", "set14", "b100", "urban100", "manga109", "div2k_val")
DATASET_LABELS = {
    "set5": "Set5", "set14": "Set14", "b100": "B100", "urban100": "Urban100",
    "manga109": "Manga109", "div2k_val": "DIV2K-val",
}
_DATASET_ALIASES = {
    "bsd100": "b100", "bsds100": "b100", "b100": "b100",
    "div2kval": "div2k_val", "div2kvalid": "div2k_val", "div2kvalidation": "div2k_val",
    "set5": "set5", "set14": "set14", "urban100": "urban100", "manga109": "manga109",
}
METHOD_ORDER: tuple[str, ...] = ("bicubic", "plain", "repvgg", "ecbsr", "sesr", "repsr", "edsr", "imdn", "imdn-clb")
METHOD_LABELS = {
    "bicubic": "Bicubic", "plain": "Plain", "repvgg": "RepVGG", "ecbsr": "ECBSR", "sesr": "SESR",
    "repsr": "RepSR", "edsr": "EDSR", "imdn": "IMDN", "imdn-clb": "IMDN-CLB",
}
# Build defaults (methods.options_of); repeated here so that reporting never imports torch.
# `collapsed` only changes how a linear block trains, not the model, so it never splits a row.
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "repsr": {"expand": 2, "branches": 2, "variant": "repsr"},
    "edsr": {"bn": False, "res_scale": 1.0},
    "ecbsr": {"depth_multiplier": 2},
    "imdn": {"channels": 64},
    "imdn-clb": {"channels": 64},
}
_IGNORED_OPTIONS = frozenset({"collapsed"})
LARGE_METHODS = ("plain", "repvgg", "ecbsr", "edsr", "repsr")
MISSING = "–"


# --------------------------------------------------------------------------- small helpers


def write_atomic(path: Path, data: str | bytes) -> Path:
    return atomic.write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)


def dataset_key(name: str) -> str:
    """'Urban100', 'urban100', 'DIV2K-valid', 'BSD100' -> the canonical key; other names stay readable
    ('skimage-test'), lower-cased, with anything but [a-z0-9_-] replaced (keys end up in column names)."""
    slug = re.sub(r"[^a-z0-9]", "", str(name).lower())
    if slug in _DATASET_ALIASES:
        return _DATASET_ALIASES[slug]
    return re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-") or "unknown"


def dataset_label(key: str, fallback: str | None = None) -> str:
    return DATASET_LABELS.get(key, fallback or key)


def ordered_datasets(keys: Iterable[str]) -> list[str]:
    """Canonical sets in the paper's order first, then any others alphabetically."""
    keys = set(k for k in keys if isinstance(k, str) and k)
    return [k for k in DATASET_ORDER if k in keys] + sorted(keys - set(DATASET_ORDER))


def _num(value: Any) -> float | None:
    """A finite float, or None for missing / NaN / non-numeric values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _int(value: Any) -> int | None:
    out = _num(value)
    return int(round(out)) if out is not None else None


def _is_blank(value: Any) -> bool:
    """None, NaN, pd.NA or an empty string."""
    if isinstance(value, str):
        return value == ""
    return value is None or (not isinstance(value, (list, dict, tuple)) and bool(pd.isna(value)))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RepbenchError(f"{path} is not valid JSON ({err}); delete it and rerun the command that writes it") from err
    if not isinstance(data, dict):
        raise RepbenchError(f"{path} holds a {type(data).__name__}, expected a JSON object")
    return data


def _size_rank(size: Any) -> tuple[int, int, str]:
    """Mx-Cy sizes in the paper's regime order: by width C, then depth M (B7 for IMDN by blocks)."""
    text = str(size or "")
    match = re.fullmatch(r"[A-Za-z](\d+)C(\d+)", text)
    if match:
        return int(match.group(2)), int(match.group(1)), text
    match = re.fullmatch(r"[A-Za-z](\d+)", text)
    return (10**6, int(match.group(1)), text) if match else (10**7, 0, text)


def _method_rank(method: Any) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def relevant_options(method: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Options that change the model: defaults and training-only switches dropped."""
    defaults = DEFAULT_OPTIONS.get(method, {})
    return {
        k: v for k, v in sorted((options or {}).items())
        if k not in _IGNORED_OPTIONS and defaults.get(k, object()) != v
    }


def model_label(method: str, size: Any, options: dict[str, Any] | None = None) -> str:
    base = METHOD_LABELS.get(method, method)
    if size and not _is_blank(size):
        base = f"{base}-{size}"
    extra = relevant_options(method, options)
    return base + (" (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")" if extra else "")


# --------------------------------------------------------------------------- loading runs


_RUN_NAME = re.compile(r"^(?P<method>.+?)-(?P<size>[A-Z][A-Za-z0-9]*)-x(?P<scale>\d)(?:-(?P<tag>.+))?$")
_BICUBIC_NAME = re.compile(r"^bicubic-x(?P<scale>\d)$")


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


@dataclass
class RunSet:
    root: Path
    runs: list[Run]
    notes: list[str] = field(default_factory=list)  # skipped folders and why, shown under the tables


def _parse_name(name: str) -> dict[str, Any]:
    if m := _BICUBIC_NAME.match(name):
        return {"method": "bicubic", "size": None, "scale": int(m.group("scale")), "tag": None}
    if m := _RUN_NAME.match(name):
        tag = m.group("tag")
        return {"method": m.group("method"), "size": m.group("size"), "scale": int(m.group("scale")), "tag": tag}
    return {}


def _read_metrics(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None
    for column in ("iteration", "loss", "lr", "seconds", "val_psnr"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame if "iteration" in frame else None


def load_run(folder: Path) -> Run | None:
    """A run folder, or None when the folder holds none of the files a run leaves behind."""
    train_path, measure_path = folder / "train.json", folder / "measure.json"
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
        scale=_int(train.get("scale", parsed.get("scale"))),
        colors=_int(train.get("colors")),
        tag=parsed.get("tag"),
        train=train,
        measure=_read_json(measure_path) if measure_path.is_file() else {},
        metrics=_read_metrics(folder / "metrics.csv"),
    )
    for path in eval_paths:
        record = _read_json(path)
        name = str(record.get("dataset") or re.sub(r"-x\d$", "", path.stem))
        record.setdefault("dataset", name)
        run.evals[dataset_key(name)] = record
        if run.scale is None:
            run.scale = _int(record.get("scale"))
        if run.colors is None and method != "bicubic":
            run.colors = _int(record.get("colors"))
    model = run.measure.get("model") if isinstance(run.measure.get("model"), dict) else {}
    run.size = run.size or model.get("size")
    run.scale = run.scale if run.scale is not None else _int(model.get("scale"))
    run.colors = run.colors if run.colors is not None else _int(model.get("colors"))
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
    runs, notes = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            run = load_run(folder)
        except RepbenchError as err:
            # One broken run must not take every table down with it: skip it, and say so in each output.
            notes.append(f"`{folder.name}` skipped: {err}")
            print(f"repbench report: warning: {notes[-1]}", file=sys.stderr)
            continue
        if run is None:
            continue
        status = run.train.get("status")
        if run.train and status not in (None, "complete"):
            notes.append(f"`{run.name}` skipped: train.json status is {status!r}, not 'complete'")
            continue
        runs.append(run)
    if not runs:
        raise RepbenchError(f"no runs found under {root}: {hint}" + "".join(f"; {n}" for n in notes))
    return RunSet(root, runs, notes)


# --------------------------------------------------------------------------- measure.json (two layouts)


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def _throughput_fields(records: Any) -> dict[str, Any]:
    """The fastest successful record of the deployed net (all modes), and of the unmerged net.

    The deployed net is `merged`, or `training-time` for a method with no merge (EDSR): both are
    what a user would ship. Taking the best mode per model mirrors how a user would deploy it;
    the mode is reported next to the number.
    """
    out: dict[str, Any] = {}
    if not isinstance(records, list):
        return out
    ok = [r for r in records if isinstance(r, dict) and _num(r.get("images_per_s")) and not r.get("error")]
    deployed = [r for r in ok if r.get("net", "merged") in ("merged", "training-time", "deployed")]
    unmerged = [r for r in ok if r.get("net") == "unmerged"]
    if deployed:
        best = max(deployed, key=lambda r: _num(r["images_per_s"]) or 0.0)
        out.update(
            throughput=_num(best["images_per_s"]),
            throughput_device=str(best.get("device_name") or best.get("device") or "unknown device"),
            throughput_dtype=best.get("dtype"),
            throughput_mode=best.get("mode"),
            throughput_batch=_int(best.get("batch")),
            throughput_lr_height=_int(_first(best, "lr_height", "height")),
            throughput_lr_width=_int(_first(best, "lr_width", "width")),
            throughput_label=best.get("label"),
            throughput_ms_per_batch=_num(_first(best, "ms_per_batch")),
        )
        if best.get("median_s") is not None and out["throughput_ms_per_batch"] is None:
            out["throughput_ms_per_batch"] = 1e3 * float(best["median_s"])
        roof = best.get("roofline")
        if isinstance(roof, dict):
            out["roofline_fraction"] = _num(roof.get("fraction"))
    if unmerged:
        out["throughput_unmerged"] = max(_num(r["images_per_s"]) or 0.0 for r in unmerged)
    return out


def measure_fields(measure: dict[str, Any]) -> dict[str, Any]:
    """measure.json -> flat raw fields. Accepts `repbench measure`'s nested layout (`counts`, `throughput`,
    `train_speed`) and a flat one (`params_deployed`, `macs`, ...)."""
    counts = measure.get("counts") if isinstance(measure.get("counts"), dict) else {}
    src = {**measure, **counts}
    out: dict[str, Any] = {
        "params_deployed": _int(_first(src, "params_deployed", "deployed_params")),
        "params_train": _int(_first(src, "params_train", "training_params")),
        "params_paper": _int(_first(src, "params_paper", "paper_params")),
        "paper_convention": _first(src, "paper_convention"),
        "macs": _int(_first(src, "macs")),
        "flops_paper": _int(_first(src, "flops_paper", "paper_flops")),
        "n_conv": _int(_first(src, "n_conv", "convs")),
        "macs_lr_height": _int(_first(src, "lr_height")),
        "macs_lr_width": _int(_first(src, "lr_width")),
    }
    out.update(_throughput_fields(measure.get("throughput")))
    speed = measure.get("train_speed")
    if isinstance(speed, dict):
        spi = _num(_first(speed, "s_per_iter", "sec_per_iter"))
        out.update(
            train_speed_sec_per_iter=spi,
            train_speed_device=_first(speed, "device_name", "device"),
            train_speed_batch=_int(speed.get("batch")),
            train_speed_patch=_int(_first(speed, "lr_patch", "patch")),
            projected_hours=_num(speed.get("projected_hours")) or (spi * PAPER_ITERATIONS / 3600 if spi else None),
        )
    return out


# --------------------------------------------------------------------------- table membership


def _option(row: dict[str, Any], name: str) -> Any:
    options = row.get("options_dict") or {}
    return options.get(name, DEFAULT_OPTIONS.get(row.get("method", ""), {}).get(name))


def bn_strategy(row: dict[str, Any]) -> str:
    """Table 1's three rows: 'no_bn', 'bn' or 'frozen_bn' (BN switched to population stats late in training)."""
    if not _option(row, "bn"):
        return "no_bn"
    options = row.get("options_dict") or {}
    frozen = (
        not _is_blank(row.get("bn_frozen_at"))
        or (_num(options.get("frozen_bn_fraction")) or 0) > 0
        or (_num(row.get("frozen_bn_fraction")) or 0) > 0
        or "frozen" in str(row.get("tag") or "")
    )
    return "frozen_bn" if frozen else "bn"


def _default_except(row: dict[str, Any], *keep: str) -> bool:
    return all(k in keep for k in relevant_options(row["method"], row.get("options_dict")))


_MEMBERSHIP: dict[str, Callable[[dict[str, Any]], bool]] = {
    "table1": lambda r: r["method"] == "edsr" and r["scale"] == 2,
    "table2": lambda r: r["scale"] == 4 and r["colors"] == 1,
    "table3": lambda r: r["method"] in ("ecbsr", "repsr") and r["scale"] == 4 and r["colors"] == 1,
    "table4": lambda r: r["method"] in LARGE_METHODS and r["scale"] == 4 and r["colors"] == 3 and _default_except(r),
    "table5": lambda r: r["method"] == "repsr" and r["scale"] == 4 and r["colors"] == 3 and _default_except(r, "variant"),
    "table6": lambda r: r["method"] == "repsr" and r["scale"] == 4 and r["colors"] == 3 and _default_except(r, "expand"),
    "table7": lambda r: r["method"] == "repsr" and r["scale"] == 4 and r["colors"] == 3 and _default_except(r, "branches"),
}


def _declared_experiments(train: dict[str, Any]) -> list[str] | None:
    declared = train.get("experiments", train.get("experiment"))
    if declared is None or declared == "":
        return None
    return [str(declared)] if isinstance(declared, str) else [str(d) for d in declared]


def tables_of(row: dict[str, Any]) -> list[str]:
    """The paper tables a run fills: as its train.json declares, else as inferred from the run itself."""
    if row["method"] == "bicubic":
        return []
    declared = row.get("declared_experiments")
    if declared:
        return [t for t in TABLES if t in declared]
    return [t for t in TABLES if _MEMBERSHIP[t](row)]


# --------------------------------------------------------------------------- the tidy frame


RUN_COLUMNS = (
    "run", "method", "size", "scale", "colors", "tag", "label", "tables", "options", "status", "iterations",
    "train_seconds", "sec_per_iter", "train_device", "seed", "torch", "final_val_psnr", "bn_frozen_at",
    "bn_strategy", "variant", "expand", "branches", "params_deployed", "params_train", "params_paper",
    "paper_convention", "macs", "flops_paper", "n_conv", "throughput", "throughput_unmerged",
    "throughput_device", "throughput_dtype", "throughput_mode", "throughput_batch", "throughput_lr_height",
    "throughput_lr_width", "throughput_label", "train_speed_sec_per_iter", "train_speed_device",
    "train_speed_batch", "train_speed_patch", "projected_hours",
)
EVAL_COLUMNS = ("dataset", "dataset_name", "psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "n_images")


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
        "iterations": _int(t.get("iterations")),
        "train_seconds": _num(t.get("train_seconds")),
        "sec_per_iter": _num(t.get("sec_per_iter")),
        "train_device": t.get("device"),
        "seed": t.get("seed"),
        "torch": t.get("torch"),
        "final_val_psnr": _num(_first(t, "final_val_psnr", "val_psnr")),
        "bn_frozen_at": _int(t.get("bn_frozen_at")),
        "frozen_bn_fraction": _num(t.get("frozen_bn_fraction")),
        "declared_experiments": _declared_experiments(t),
        # train.json carries the counts too; measure.json (below) wins where both exist
        "params_deployed": _int(t.get("params_deployed")),
        "params_train": _int(t.get("params_train")),
    }
    for key, value in measure_fields(run.measure).items():
        if value is not None or key not in row:
            row[key] = value
    row["label"] = model_label(run.method, run.size, options)
    row["bn_strategy"] = bn_strategy(row) if run.method == "edsr" else None
    for name in ("variant", "expand", "branches"):
        row[name] = _option(row, name) if run.method == "repsr" else None
    row["tables"] = ",".join(tables_of(row))
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
                "psnr_y": _num(record.get("psnr_y")),
                "ssim_y": _num(record.get("ssim_y")),
                "psnr_rgb": _num(record.get("psnr_rgb")),
                "ssim_rgb": _num(record.get("ssim_rgb")),
                "n_images": _int(_first(record, "n_images")) or (len(record["per_image"]) if isinstance(record.get("per_image"), list) else None),
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


def primary_dataset(wide: pd.DataFrame) -> str | None:
    """Urban100 (the paper's Figure 1 set) when evaluated, else the first test set."""
    present = [d for d in frame_datasets(wide) if wide[f"psnr_y_{d}"].notna().any()]
    if not present:
        return None
    return "urban100" if "urban100" in present else present[0]


def members(wide: pd.DataFrame, table: str) -> pd.DataFrame:
    mask = wide["tables"].fillna("").map(lambda s: table in s.split(","))
    return wide[mask]


# --------------------------------------------------------------------------- references


@dataclass
class Reference:
    """One table of a reference file (repbench/references/<source>.yaml)."""

    source: str
    table: str
    caption: str = ""
    setting: dict[str, Any] = field(default_factory=dict)
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    found: bool = False

    @property
    def datasets(self) -> list[str]:
        keys: set[str] = set()
        for column in self.columns:
            keys.update(dataset_key(d) for d in column.get("datasets", []) or [])
        for row in self.rows:
            for metric in ("psnr", "ssim"):
                if isinstance(row.get(metric), dict):
                    keys.update(dataset_key(d) for d in row[metric])
        return ordered_datasets(keys)

    def value(self, row: dict[str, Any], metric: str, dataset: str) -> float | None:
        values = row.get(metric)
        if not isinstance(values, dict):
            return None
        for name, value in values.items():
            if dataset_key(name) == dataset:
                return _num(value)
        return None


def load_reference(source: str, table: str, folder: Path = REFERENCES_DIR) -> Reference:
    """A reference table; an absent file or table gives an empty Reference (the report still renders)."""
    path = folder / f"{source}.yaml"
    if not path.is_file():
        return Reference(source, table)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RepbenchError(f"reference file {path} is not valid YAML: {err}") from err
    spec = (data.get("tables") or {}).get(table)
    if not isinstance(spec, dict):
        return Reference(source, table)
    return Reference(
        source=source,
        table=table,
        caption=" ".join(str(spec.get("caption", "")).split()),
        setting=dict(spec.get("setting") or {}),
        columns=list(spec.get("columns") or []),
        rows=[r for r in spec.get("rows") or [] if isinstance(r, dict)],
        notes=[str(n) for n in spec.get("notes") or []],
        found=True,
    )


# --------------------------------------------------------------------------- Markdown formatting


def fmt_int(value: Any) -> str:
    v = _int(value)
    return f"{v:,}" if v is not None else MISSING


def fmt_k(value: Any) -> str:
    v = _num(value)
    return f"{v / 1e3:.1f}K" if v is not None else MISSING


def fmt_g(value: Any, digits: int = 2) -> str:
    v = _num(value)
    return f"{v / 1e9:.{digits}f}G" if v is not None else MISSING


def fmt_float(value: Any, digits: int) -> str:
    v = _num(value)
    return f"{v:.{digits}f}" if v is not None else MISSING


def fmt_delta(value: Any, digits: int) -> str:
    v = _num(value)
    if v is None:
        return MISSING
    text = f"{v:+.{digits}f}"
    return text.replace("-0." + "0" * digits, "+0." + "0" * digits)  # no "-0.00"


def fmt_duration(seconds: Any) -> str:
    s = _num(seconds)
    if s is None:
        return MISSING
    if s < 60:
        return f"{s:.2f} s" if s < 1 else f"{s:.1f} s"
    hours, rem = divmod(int(round(s)), 3600)
    return f"{hours}h{rem // 60:02d}m" if hours else f"{rem // 60}m{rem % 60:02d}s"


def _delta(ours: Any, paper: Any) -> float | None:
    a, b = _num(ours), _num(paper)
    return a - b if a is not None and b is not None else None


def _md_table(rows: list[dict[str, str]], right: Iterable[str] = ()) -> str:
    """Strings in, Markdown out: numbers were formatted already, so tabulate must not re-parse them."""
    if not rows:
        return ""
    frame = pd.DataFrame(rows)
    right = set(right)
    align = tuple("right" if c in right else "left" for c in frame.columns)
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def _header(title: str, preset: str, runs_root: Path, ref: Reference | None, extra: str = "") -> list[str]:
    lines = [
        f"# {title}",
        "",
        f"**Preset: `{preset}`.** This file shows the `{preset}` preset: every measured number comes from "
        f"its runs in `{runs_root}`. Columns marked *paper* are the published numbers, "
        "not measurements of ours; Δ = ours − paper.",
    ]
    if ref is not None and ref.found:
        lines += ["", f"Paper caption: *{ref.caption}*"]
    if extra:
        lines += ["", extra]
    return lines + [""]


def _footer(notes: Iterable[str]) -> list[str]:
    notes = [n for n in notes if n]
    return ["", "Notes:", ""] + [f"- {n}" for n in notes] if notes else []


def _fill_hint(table: str, what: str) -> str:
    """`table` is the target name (table2, ntire_table3, ...), which is also the file's stem."""
    return (
        f"No run of this preset fills this table yet: it needs {what}. Run the workflow "
        f"(`snakemake --cores all results/{table}.md`), or `repbench train`, `repbench measure` and "
        f"`repbench eval` into the runs folder; a run's train.json may also name its tables in `experiments`."
    )


# --------------------------------------------------------------------------- Table 2


@dataclass
class ReportContext:
    runs: RunSet
    tidy: pd.DataFrame
    wide: pd.DataFrame
    preset: str
    references_dir: Path = REFERENCES_DIR
    curves: list[str] | None = None  # Figure 6 runs; None: Table 2's

    def ref(self, table: str, source: str = "repsr2022") -> Reference:
        return load_reference(source, table, self.references_dir)


def _paper_match(ref: Reference, method: str, size: Any) -> dict[str, Any] | None:
    for row in ref.rows:
        if row.get("external"):
            continue
        if row.get("method") == method and (row.get("size") == size or method == "bicubic"):
            return row
    return None


def _psnr_ssim(psnr: Any, ssim: Any) -> str:
    if _num(psnr) is None and _num(ssim) is None:
        return MISSING
    return f"{fmt_float(psnr, 2)} / {fmt_float(ssim, 4)}"


def render_table2(ctx: ReportContext, scale: int = 4) -> str:
    ref = ctx.ref("table2")
    wide = ctx.wide
    ours = members(wide, "table2")
    ours = ours[ours["scale"] == scale]
    bicubic = wide[(wide["method"] == "bicubic") & (wide["scale"] == scale)]
    run_sets = [d for d in frame_datasets(wide) if pd.concat([ours, bicubic])[f"psnr_y_{d}"].notna().any()]
    ref_sets = [d for d in ref.datasets if d not in run_sets]
    ranks = [(_size_rank(r["size"]), _method_rank(r["method"]), r["run"]) for r in ours.to_dict("records")]
    ours = ours.iloc[sorted(range(len(ours)), key=lambda i: ranks[i])]
    dup = bool(ours.duplicated(["method", "size"], keep=False).any() or ours["tag"].notna().any())

    rows: list[dict[str, str]] = []
    matched_ids: set[int] = set()
    for _, r in pd.concat([bicubic, ours]).iterrows():
        paper = _paper_match(ref, r["method"], r["size"])
        if paper is not None:
            matched_ids.add(id(paper))
        row: dict[str, str] = {"Model": r["label"]}
        if dup:
            row["Run"] = f"`{r['run']}`"
        row |= {
            "Params (deployed, true)": fmt_int(r["params_deployed"]),
            "Params (paper conv.)": fmt_k(r["params_paper"]),
            "MACs (1280x720)": fmt_g(r["macs"]),
            "FLOPs (paper conv.)": fmt_g(r["flops_paper"]),
            "#Conv": fmt_int(r["n_conv"]),
            "Paper: Params / FLOPs / #Conv": (
                f"{fmt_float(paper.get('params_k'), 2)}K / {fmt_float(paper.get('flops_g'), 2)}G / {fmt_int(paper.get('n_conv'))}"
                if paper is not None and paper.get("params_k") is not None else MISSING
            ),
        }
        for d in run_sets:
            label = dataset_label(d)
            psnr, ssim = r.get(f"psnr_y_{d}"), r.get(f"ssim_y_{d}")
            row[f"{label} PSNR / SSIM"] = _psnr_ssim(psnr, ssim)
            pp = ref.value(paper, "psnr", d) if paper is not None else None
            ps = ref.value(paper, "ssim", d) if paper is not None else None
            if d in ref.datasets:
                row[f"{label} paper"] = _psnr_ssim(pp, ps)
                dp, ds = _delta(psnr, pp), _delta(ssim, ps)
                row[f"{label} Δ"] = MISSING if dp is None and ds is None else f"{fmt_delta(dp, 2)} / {fmt_delta(ds, 4)}"
        for d in ref_sets:
            row[f"{dataset_label(d)} paper"] = _psnr_ssim(
                ref.value(paper, "psnr", d) if paper is not None else None,
                ref.value(paper, "ssim", d) if paper is not None else None,
            )
        rows.append(row)
    right = {k for k in rows[0] if k not in ("Model", "Run")} if rows else set()

    lines = _header(
        f"Table 2: tiny SR networks (x{scale}, Y channel)",
        ctx.preset,
        ctx.runs.root,
        ref,
        "PSNR / SSIM on the Y channel (border = scale shaved). *Params (deployed, true)* is `sum(p.numel())` of the "
        "merged network; *Params (paper conv.)* is the paper's Table 2 convention (conv weights + biases + 2 x PReLU "
        "slopes; SESR: conv weights only), and *FLOPs (paper conv.)* is that count x the LR pixels of a 1280x720 "
        "output. *MACs* are fvcore's count of the deployed network (one multiply-add = 1) for a 1280x720 output.",
    )
    if len(ours) == 0:
        lines += [_fill_hint("table2", f"x{scale} Y-channel (colors 1) runs of the Table 2 methods"), ""]
    if rows:
        lines += [_md_table(rows, right), ""]
    unmatched = [r for r in ref.rows if id(r) not in matched_ids]
    if unmatched:
        lines += ["## Paper rows without a matching run in this preset", ""]
        paper_rows = []
        for p in unmatched:
            prow = {
                "Id": str(p.get("id", "")),
                "Paper row": str(p.get("label", "")),
                "Params / FLOPs / #Conv": f"{fmt_float(p.get('params_k'), 2)}K / {fmt_float(p.get('flops_g'), 2)}G / {fmt_int(p.get('n_conv'))}",
            }
            for d in ref.datasets:
                prow[f"{dataset_label(d)} PSNR / SSIM"] = _psnr_ssim(ref.value(p, "psnr", d), ref.value(p, "ssim", d))
            paper_rows.append(prow)
        lines += [_md_table(paper_rows, {k for k in paper_rows[0] if k not in ("Id", "Paper row")}), ""]
    notes = list(ref.notes)
    notes += [f"{p.get('label')}: {' '.join(str(p['note']).split())}" for p in ref.rows if p.get("note")]
    missing_measure = [r["run"] for _, r in ours.iterrows() if _is_blank(r["params_deployed"]) and _is_blank(r["macs"])]
    missing_eval = [r["run"] for _, r in ours.iterrows() if not any(_num(r.get(f"psnr_y_{d}")) for d in run_sets)]
    if missing_measure:
        notes.append("no measure.json yet (run `repbench measure`): " + ", ".join(f"`{m}`" for m in missing_measure))
    if missing_eval:
        notes.append("no eval/*.json yet (run `repbench eval`): " + ", ".join(f"`{m}`" for m in missing_eval))
    if len(bicubic) == 0:
        notes.append(f"no bicubic baseline: `repbench eval --model bicubic --scale {scale}` writes bicubic-x{scale}/eval/")
    notes += ctx.runs.notes
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"


# --------------------------------------------------------------------------- Tables 1, 4-7 (fixed paper rows)


@dataclass(frozen=True)
class AblationSpec:
    table: str
    title: str
    run_key: Callable[[dict[str, Any]], Hashable]  # a run -> the key of the paper row it reproduces
    ref_key: Callable[[dict[str, Any]], Hashable]  # a paper row -> its key
    key_text: Callable[[Hashable], str]  # a key -> the row name shown for runs the paper lacks
    needs: str  # which runs fill the table (said when none does)


def _ref_bn(row: dict[str, Any]) -> str:
    options, training = row.get("options") or {}, row.get("training") or {}
    if not options.get("bn"):
        return "no_bn"
    return "frozen_bn" if training.get("frozen_bn") else "bn"


def _ref_option(name: str, default: Any) -> Callable[[dict[str, Any]], Hashable]:
    return lambda row: (row.get("options") or {}).get(name, default)


_BN_TEXT = {"no_bn": "w/o BN", "bn": "w/ BN", "frozen_bn": "w/ BN, frozen BN (Proposed)"}

ABLATIONS: dict[str, AblationSpec] = {
    "table1": AblationSpec(
        "table1", "Table 1: BN strategies in EDSR (x2)",
        run_key=lambda r: r["bn_strategy"], ref_key=_ref_bn, key_text=lambda k: _BN_TEXT.get(str(k), str(k)),
        needs="x2 EDSR runs with options.bn false, bn true, and bn true + frozen BN (train.json bn_frozen_at)",
    ),
    "table4": AblationSpec(
        "table4", "Table 4: re-parameterization methods vs EDSR, large models (x4)",
        run_key=lambda r: r["method"], ref_key=lambda row: row.get("method"), key_text=lambda k: METHOD_LABELS.get(str(k), str(k)),
        needs="x4 RGB (colors 3) runs of plain, repvgg, ecbsr, edsr and repsr with default options",
    ),
    "table5": AblationSpec(
        "table5", "Table 5: RepSR block ablations (x4)",
        run_key=lambda r: r["variant"], ref_key=_ref_option("variant", "repsr"), key_text=lambda k: f"variant={k}",
        needs="x4 RGB repsr runs with options.variant in repsr, no_residual, residual_bn, c3bn_c1bn, c3bnc1bn, c1bnc3",
    ),
    "table6": AblationSpec(
        "table6", "Table 6: RepSR width multiplier (x4)",
        run_key=lambda r: _int(r["expand"]), ref_key=lambda row: _int(_ref_option("expand", 2)(row)),
        key_text=lambda k: f"expand={k}", needs="x4 RGB repsr runs with options.expand 1..4",
    ),
    "table7": AblationSpec(
        "table7", "Table 7: RepSR number of branches (x4)",
        run_key=lambda r: _int(r["branches"]), ref_key=lambda row: _int(_ref_option("branches", 2)(row)),
        key_text=lambda k: f"branches={k}", needs="x4 RGB repsr runs with options.branches 1..4",
    ),
}


def _metric_for(ref: Reference) -> tuple[str, str]:
    """(column prefix, words) of the PSNR the paper's table used: RGB where its setting says so, else Y."""
    channel = str(ref.setting.get("channel") or "").upper()
    if channel == "RGB":
        return "psnr_rgb", "PSNR on RGB (as the paper's table)"
    if channel == "Y":
        return "psnr_y", "PSNR on the Y channel (as the paper's table)"
    return "psnr_y", "PSNR on the Y channel (the paper does not state its channel)"


def render_ablation(ctx: ReportContext, spec: AblationSpec) -> str:
    ref = ctx.ref(spec.table)
    metric, metric_words = _metric_for(ref)
    ours = members(ctx.wide, spec.table)
    ours = ours.assign(_key=[spec.run_key(r) for r in ours.to_dict("records")])
    run_sets = [d for d in frame_datasets(ctx.wide) if ours[f"{metric}_{d}"].notna().any()] if len(ours) else []
    sets = run_sets + [d for d in ref.datasets if d not in run_sets]

    def cells(label: str, run: dict[str, Any] | None, paper: dict[str, Any] | None) -> dict[str, str]:
        row = {
            "Row": label,
            "Run": f"`{run['run']}`" if run else "no run",
            "Size": str(run["size"]) if run and run.get("size") else MISSING,
        }
        for d in sets:
            name = dataset_label(d)
            mine = run.get(f"{metric}_{d}") if run else None
            theirs = ref.value(paper, "psnr", d) if paper else None
            if d in run_sets:
                row[f"{name} ours"] = fmt_float(mine, 2)
            if d in ref.datasets:
                row[f"{name} paper"] = fmt_float(theirs, 2)
            if d in run_sets and d in ref.datasets:
                row[f"{name} Δ"] = fmt_delta(_delta(mine, theirs), 2)
        return row

    rows: list[dict[str, str]] = []
    used: set[str] = set()
    for paper in ref.rows:
        key = spec.ref_key(paper)
        matches = [r for r in ours.to_dict("records") if r["_key"] == key]
        used.update(r["run"] for r in matches)
        label = str(paper.get("label", spec.key_text(key)))
        rows += [cells(label, r, paper) for r in matches] or [cells(label, None, paper)]
    for r in ours.to_dict("records"):
        if r["run"] not in used:
            rows.append(cells(f"{spec.key_text(r['_key'])} (not in the paper)", r, None))

    lines = _header(spec.title, ctx.preset, ctx.runs.root, ref, f"{metric_words}, border = scale shaved.")
    if len(ours) == 0:
        lines += [_fill_hint(spec.table, spec.needs), ""]
    if rows:
        lines += [_md_table(rows, {k for k in rows[0] if k not in ("Row", "Run", "Size")}), ""]
    if spec.table == "table1":
        lines += _bn_drop_section(ours, run_sets, metric)
    notes = list(ref.notes)
    if not ref.found:
        notes.append(f"no reference numbers found for {spec.table} in {ctx.references_dir}/repsr2022.yaml")
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"


def _bn_drop_section(ours: pd.DataFrame, sets: list[str], metric: str) -> list[str]:
    """The paper's point in Table 1: how far each BN strategy moves PSNR from the run without BN."""
    base = ours[ours["_key"] == "no_bn"]
    if len(base) == 0 or len(ours) < 2 or not sets:
        return []
    ref_run = base.iloc[0]
    rows = []
    for r in ours.to_dict("records"):
        if r["run"] == ref_run["run"]:
            continue
        row = {"Strategy": _BN_TEXT.get(str(r["_key"]), str(r["_key"])), "Run": f"`{r['run']}`"}
        for d in sets:
            row[f"{dataset_label(d)} Δ vs w/o BN"] = fmt_delta(_delta(r.get(f"{metric}_{d}"), ref_run.get(f"{metric}_{d}")), 2)
        rows.append(row)
    if not rows:
        return []
    return [f"## Ours: PSNR change vs our run without BN (`{ref_run['run']}`)", "",
            _md_table(rows, {k for k in rows[0] if k not in ("Strategy", "Run")}), ""]


# --------------------------------------------------------------------------- Table 3 (training time)


def render_table3(ctx: ReportContext) -> str:
    ref = ctx.ref("table3")
    ours = members(ctx.wide, "table3").to_dict("records")
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in ours:
        by_key.setdefault((r["method"], str(r["size"])), []).append(r)
    keys = [(str(p.get("method")), str(p.get("size"))) for p in ref.rows]
    for r in sorted(ours, key=lambda r: (_size_rank(r["size"]), _method_rank(r["method"]))):
        if (r["method"], str(r["size"])) not in keys:
            keys.append((r["method"], str(r["size"])))
    paper_of = {(str(p.get("method")), str(p.get("size"))): p for p in ref.rows}

    def hours(r: dict[str, Any]) -> float | None:
        projected = _num(r.get("projected_hours"))
        if projected is not None:
            return projected
        spi = _num(r.get("sec_per_iter"))
        return spi * PAPER_ITERATIONS / 3600 if spi is not None else None

    def reduction(size: str, mine: float | None, get: Callable[[str], float | None]) -> str:
        ecb = get(size)
        return fmt_delta(100 * (mine / ecb - 1), 0) + "%" if mine is not None and ecb else MISSING

    def ours_hours(method: str, size: str) -> float | None:
        runs = by_key.get((method, size), [])
        return hours(runs[0]) if runs else None

    def paper_hours(method: str, size: str) -> float | None:
        p = paper_of.get((method, size))
        minutes = _num(p.get("train_minutes")) if p else None
        return minutes / 60 if minutes is not None else None

    rows = []
    seen: set[tuple[str, str]] = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        method, size = key
        paper = paper_of.get(key)
        for r in by_key.get(key, [None]):  # type: ignore[list-item]
            row = {
                "Method": METHOD_LABELS.get(method, method) if paper is None else str(paper.get("label", method)),
                "Size": size,
                "Run": f"`{r['run']}`" if r else "no run",
                "s/iter (training run)": fmt_float(r.get("sec_per_iter"), 4) if r else MISSING,
                "Training run: iterations / time / device": (
                    f"{fmt_int(r.get('iterations'))} / {fmt_duration(r.get('train_seconds'))} / {r.get('train_device') or MISSING}"
                    if r else MISSING
                ),
                "s/iter (measured)": fmt_float(r.get("train_speed_sec_per_iter"), 4) if r else MISSING,
                "Measured at batch / LR patch / device": (
                    f"{fmt_int(r.get('train_speed_batch'))} / {fmt_int(r.get('train_speed_patch'))} / {r.get('train_speed_device') or MISSING}"
                    if r and _num(r.get("train_speed_sec_per_iter")) is not None else MISSING
                ),
                "Projected 1000K it. (h)": fmt_float(hours(r), 1) if r else MISSING,
                "Paper time": str(paper.get("train_time")) if paper else MISSING,
                "Paper (h)": fmt_float(paper_hours(method, size), 1),
                "Ours vs ECBSR": reduction(size, ours_hours(method, size), lambda s: ours_hours("ecbsr", s)) if method == "repsr" else "",
                "Paper vs ECBSR": reduction(size, paper_hours(method, size), lambda s: paper_hours("ecbsr", s)) if method == "repsr" else "",
            }
            rows.append(row)
    lines = _header(
        "Table 3: training time, ECBSR vs RepSR (x4, Y channel)",
        ctx.preset,
        ctx.runs.root,
        ref,
        "*s/iter (measured)* is `repbench measure --train-speed` (forward + backward + Adam step on random batches, "
        "no data loading) at the batch and patch shown; *s/iter (training run)* is the real run's wall time divided "
        "by its iterations. *Projected 1000K it.* uses the measured s/iter when present, else the training run's, "
        f"times {PAPER_ITERATIONS:,} iterations. The paper measured its times on {ref.setting.get('hardware', 'its GPU cluster')}; "
        "compare ratios (*vs ECBSR*), not hours, across machines.",
    )
    if not ours:
        lines += [_fill_hint("table3", "x4 Y-channel ecbsr and repsr runs (ideally at M4C16, M10C16, M10C32, M16C64)"), ""]
    right = {k for k in (rows[0] if rows else {}) if k not in ("Method", "Size", "Run", "Training run: iterations / time / device", "Measured at batch / LR patch / device", "Paper time")}
    lines += [_md_table(rows, right), ""]
    return "\n".join(lines + _footer(ref.notes)).rstrip() + "\n"


# --------------------------------------------------------------------------- figures


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG ids and no timestamp: reruns on unchanged runs give identical files.
    matplotlib.rcParams["svg.hashsalt"] = "repbench"
    matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as paths: the SVG needs no font files
    return plt


def _save_figure(fig: Any, stem: Path) -> list[Path]:
    out = []
    for ext, meta in ((".png", {"Software": None}), (".svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext[1:], dpi=150, bbox_inches="tight", metadata=meta)
        out.append(write_atomic(stem.with_suffix(ext), buf.getvalue()))
    return out


def figure_svg_text(fig: Any) -> str:
    """The figure as an inline <svg> element (XML declaration and DOCTYPE dropped)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


_MARKERS = "osD^vP*Xph"


def pareto_mask(cost: Sequence[float], gain: Sequence[float]) -> list[bool]:
    """True where no other point has cost <= and gain >= with one of them strictly better."""
    points = list(zip(cost, gain))
    mask = []
    for i, (c, g) in enumerate(points):
        dominated = any(
            (c2 <= c and g2 >= g) and (c2 < c or g2 > g) for j, (c2, g2) in enumerate(points) if j != i
        )
        mask.append(not dominated)
    return mask


def figure_tradeoff(ctx: ReportContext) -> Any:
    plt = _matplotlib()
    wide = ctx.wide
    dataset = primary_dataset(wide)
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    data = wide[wide["throughput"].notna()] if "throughput" in wide else wide.iloc[0:0]
    if dataset is not None:
        data = data[data[f"psnr_y_{dataset}"].notna()]
    else:
        data = data.iloc[0:0]
    devices = sorted({str(d) for d in data.get("throughput_device", pd.Series(dtype=object)).dropna()})
    setting = sorted({
        f"{r['throughput_dtype']}, batch {_int(r['throughput_batch'])}, {_int(r['throughput_lr_width'])}x{_int(r['throughput_lr_height'])} LR"
        for r in data.to_dict("records") if r.get("throughput_dtype")
    })
    if len(data) == 0:
        ax.text(0.5, 0.5, "no run has both a throughput (repbench measure)\nand a PSNR (repbench eval) yet",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        title = f"PSNR vs throughput: nothing measured yet (preset {ctx.preset})"
    else:
        methods = sorted(data["method"].unique(), key=_method_rank)
        cmap = plt.get_cmap("tab10")
        for i, method in enumerate(methods):
            part = data[data["method"] == method]
            ax.scatter(part["throughput"], part[f"psnr_y_{dataset}"], s=48, marker=_MARKERS[i % len(_MARKERS)],
                       color=cmap(i % 10), label=METHOD_LABELS.get(method, method), zorder=3)
            for r in part.to_dict("records"):
                ax.annotate(f"{r['size']} x{_int(r['scale'])}{' RGB' if _int(r.get('colors')) == 3 else ''}" if r.get("size") else r["run"],
                            (r["throughput"], r[f"psnr_y_{dataset}"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
        for (scale, colors), group in data.groupby(["scale", "colors"], dropna=False):
            front = group[pareto_mask(list(-group["throughput"]), list(group[f"psnr_y_{dataset}"]))]
            front = front.sort_values("throughput")
            if len(front) > 1:
                ax.plot(front["throughput"], front[f"psnr_y_{dataset}"], "--", color="0.5", lw=1, zorder=2)
        ax.set_xscale("log")
        ax.set_xlabel("throughput of the deployed network (images/s, log scale)")
        ax.set_ylabel(f"PSNR on {dataset_label(dataset)}, Y channel (dB)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        title = f"PSNR ({dataset_label(dataset)}, Y) vs throughput on {', '.join(devices) or 'unknown device'}"
        if setting:
            title += "\n" + "; ".join(setting)
        title += f" — preset {ctx.preset}"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _curve_runs(ctx: ReportContext) -> list[Run]:
    by_name = {r.name: r for r in ctx.runs.runs}
    if ctx.curves:
        unknown = [c for c in ctx.curves if c not in by_name]
        if unknown:
            raise RepbenchError(
                f"--curves names unknown runs: {', '.join(unknown)}; runs under {ctx.runs.root}: {', '.join(sorted(by_name))}"
            )
        return [by_name[c] for c in ctx.curves]
    chosen = [by_name[n] for n in members(ctx.wide, "table2")["run"] if n in by_name]
    with_metrics = [r for r in chosen if r.metrics is not None]
    return with_metrics or [r for r in ctx.runs.runs if r.metrics is not None]


def figure_curves(ctx: ReportContext) -> Any:
    plt = _matplotlib()
    runs = _curve_runs(ctx)
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(11, 4.2))
    drawn = 0
    for i, run in enumerate(runs):
        m = run.metrics
        if m is None:
            continue
        color = plt.get_cmap("tab10")(i % 10)
        label = model_label(run.method, run.size, run.train.get("options")) + f" x{run.scale}"
        loss = m[m["loss"].notna()] if "loss" in m else m.iloc[0:0]
        val = m[m["val_psnr"].notna()] if "val_psnr" in m else m.iloc[0:0]
        if len(loss):
            ax_loss.plot(loss["iteration"], loss["loss"], lw=1, color=color, label=label)
        if len(val):
            ax_psnr.plot(val["iteration"], val["val_psnr"], lw=1.2, marker="o", ms=3, color=color, label=label)
        drawn += bool(len(loss) or len(val))
        frozen = _num(run.train.get("bn_frozen_at"))
        if frozen is not None:
            for ax in (ax_loss, ax_psnr):
                ax.axvline(frozen, color=color, ls=":", lw=1)
    if drawn == 0:
        for ax in (ax_loss, ax_psnr):
            ax.text(0.5, 0.5, "no metrics.csv yet (repbench train writes it)", ha="center", va="center", transform=ax.transAxes)
    ax_loss.set_title("training loss (L1)", fontsize=10)
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    if drawn and (pd.concat([r.metrics["loss"] for r in runs if r.metrics is not None and "loss" in r.metrics]) > 0).all():
        ax_loss.set_yscale("log")
    ax_psnr.set_title("validation PSNR (Y)", fontsize=10)
    ax_psnr.set_xlabel("iteration")
    ax_psnr.set_ylabel("PSNR (dB)")
    for ax in (ax_loss, ax_psnr):
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(fontsize=7)
    fig.suptitle(f"Training curves (dotted: BN frozen) — preset {ctx.preset}", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str  # "number" or "text": how the page sorts it
    title: str = ""


def leaderboard_columns(datasets: Sequence[str]) -> list[Column]:
    cols = [
        Column("method", "Model", "text", "method-size; click a row's 'details' for its config and curves"),
        Column("size", "Size", "text"),
        Column("scale", "Scale", "number"),
        Column("colors", "Ch.", "text", "Y: one channel; RGB: three"),
        Column("params_deployed", "Params", "number", "true deployed count: sum(p.numel()) of the merged network"),
        Column("params_paper", "Params (paper conv.)", "number", "the paper's Table 2 convention; reference rows give the paper's printed count"),
        Column("macs", "MACs (G)", "number", "fvcore MACs of the deployed network for a 1280x720 output"),
        Column("flops_paper", "FLOPs (paper conv., G)", "number", "paper-convention params x LR pixels; reference rows: as printed"),
        Column("n_conv", "#Conv", "number"),
    ]
    for d in datasets:
        label = dataset_label(d)
        cols.append(Column(f"psnr_{d}", f"{label} PSNR", "number", f"{label}, Y channel, dB"))
        cols.append(Column(f"ssim_{d}", f"{label} SSIM", "number", f"{label}, Y channel"))
    cols += [
        Column("throughput", "Throughput (img/s)", "number", "deployed network, fastest measured mode; device in the next column"),
        Column("device", "Device", "text"),
        Column("train_seconds", "Train time", "number", "wall time of the training run"),
        Column("iterations", "Iters", "number"),
        Column("tables", "Tables", "text", "the paper tables this row belongs to"),
    ]
    return cols


def _device_text(r: dict[str, Any]) -> str:
    if _is_blank(r.get("throughput")):
        return ""
    parts = [str(r.get("throughput_device") or "")]
    details = [str(r[k]) for k in ("throughput_dtype", "throughput_mode") if r.get(k)]
    if _int(r.get("throughput_batch")):
        details.append(f"batch {_int(r['throughput_batch'])}")
    if _int(r.get("throughput_lr_width")) and _int(r.get("throughput_lr_height")):
        details.append(f"{_int(r['throughput_lr_width'])}x{_int(r['throughput_lr_height'])} LR")
    return parts[0] + (f" ({', '.join(details)})" if details else "")


def _cell(value: Any, text: str) -> dict[str, str]:
    num = _num(value)
    if num is not None:
        return {"value": repr(num) if not float(num).is_integer() else str(int(num)), "text": text}
    if value is None or _is_blank(value):
        return {"value": "", "text": ""}
    return {"value": str(value), "text": text}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "run"


def curve_svg(xs: Sequence[float], ys: Sequence[float], title: str, *, width: int = 300, height: int = 90, logy: bool = False) -> str:
    """A tiny dependency-free line chart (inline SVG) for a run's detail panel."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if _num(x) is not None and _num(y) is not None and (not logy or y > 0)]
    esc = html.escape(title)
    if not pts:
        return f'<svg class="curve" width="{width}" height="{height}" role="img" aria-label="{esc}: no data"><text x="8" y="{height // 2}" font-size="11">{esc}: no data</text></svg>'
    tr = (lambda v: math.log10(v)) if logy else (lambda v: v)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(tr(p[1]) for p in pts), max(tr(p[1]) for p in pts)
    pad_l, pad_r, pad_t, pad_b = 44, 8, 16, 16
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (w * (x - x0) / (x1 - x0) if x1 > x0 else w / 2)

    def sy(y: float) -> float:
        return pad_t + (h * (1 - (tr(y) - y0) / (y1 - y0)) if y1 > y0 else h / 2)

    poly = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
    lo, hi = min(p[1] for p in pts), max(p[1] for p in pts)
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2"/>' for x, y in pts) if len(pts) <= 30 else ""
    return (
        f'<svg class="curve" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc}">'
        f"<title>{esc}</title>"
        f'<text x="{pad_l}" y="11" font-size="11" font-weight="600">{esc}{" (log)" if logy else ""}</text>'
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="9" text-anchor="end">{hi:.4g}</text>'
        f'<text x="{pad_l - 4}" y="{pad_t + h}" font-size="9" text-anchor="end">{lo:.4g}</text>'
        f'<text x="{pad_l}" y="{height - 3}" font-size="9">{x0:g}</text>'
        f'<text x="{width - pad_r}" y="{height - 3}" font-size="9" text-anchor="end">{x1:g} it.</text>'
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
        f'<polyline points="{poly}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        f'<g fill="currentColor">{dots}</g></svg>'
    )


def _run_detail(run: Run, r: dict[str, Any], datasets: Sequence[str]) -> dict[str, Any]:
    t = run.train
    config = [
        ("run folder", str(run.path)),
        ("method / size / scale / colors", f"{r['method']} / {r.get('size') or MISSING} / x{_int(r.get('scale')) or MISSING} / "
                                           f"{_int(r.get('colors')) or MISSING}"),
        ("options", json.dumps(t.get("options", {}), sort_keys=True) if t else MISSING),
        ("tables", str(r.get("tables") or MISSING).replace(",", ", ")),
    ]
    for key in ("iterations", "batch_size", "patch_size", "seed", "device", "torch", "train_data", "val_data", "bn_frozen_at"):
        if key in t and t[key] is not None:
            config.append((key, json.dumps(t[key]) if isinstance(t[key], (list, dict)) else str(t[key])))
    if not _is_blank(r.get("train_seconds")):
        config.append(("training time", f"{fmt_duration(r['train_seconds'])} ({fmt_float(r.get('sec_per_iter'), 4)} s/iter)"))
    measured = []
    if not _is_blank(r.get("params_deployed")):
        measured.append(("params (deployed / training-time / paper conv.)",
                         f"{fmt_int(r.get('params_deployed'))} / {fmt_int(r.get('params_train'))} / {fmt_int(r.get('params_paper'))}"))
    if not _is_blank(r.get("macs")):
        measured.append(("MACs (1280x720 output) / #conv", f"{fmt_g(r.get('macs'), 3)} / {fmt_int(r.get('n_conv'))}"))
    if not _is_blank(r.get("throughput")):
        speedup = ""
        if _num(r.get("throughput_unmerged")):
            speedup = f"; unmerged {r['throughput_unmerged']:.1f} img/s (merging: x{r['throughput'] / r['throughput_unmerged']:.2f})"
        measured.append(("throughput", f"{r['throughput']:.1f} img/s on {_device_text(r)}{speedup}"))
        if r.get("throughput_label"):
            measured.append(("protocol", str(r["throughput_label"])))
    if not _is_blank(r.get("train_speed_sec_per_iter")):
        measured.append(("training speed", f"{r['train_speed_sec_per_iter']:.4f} s/iter at batch {fmt_int(r.get('train_speed_batch'))}, "
                                           f"projected {fmt_float(r.get('projected_hours'), 1)} h for 1000K iterations"))
    scores = [
        {"dataset": dataset_label(d), "psnr_y": fmt_float(r.get(f"psnr_y_{d}"), 3), "ssim_y": fmt_float(r.get(f"ssim_y_{d}"), 4),
         "psnr_rgb": fmt_float(r.get(f"psnr_rgb_{d}"), 3)}
        for d in datasets if not _is_blank(r.get(f"psnr_y_{d}"))
    ]
    curves = []
    m = run.metrics
    if m is not None:
        if "loss" in m:
            loss = m[m["loss"].notna()]
            curves.append(curve_svg(list(loss["iteration"]), list(loss["loss"]), "training loss",
                                    logy=bool(len(loss)) and bool((loss["loss"] > 0).all())))
        if "val_psnr" in m:
            val = m[m["val_psnr"].notna()]
            curves.append(curve_svg(list(val["iteration"]), list(val["val_psnr"]), "validation PSNR (dB)"))
    return {"id": "run-" + _slug(run.name), "title": r["label"] + f" x{_int(r.get('scale'))}", "run": run.name,
            "config": config, "measured": measured, "scores": scores, "curves": curves}


def _reference_rows(ctx: ReportContext) -> tuple[list[dict[str, Any]], str]:
    """The paper's Table 2 rows as leaderboard entries (its numbers are x4, Y channel)."""
    ref = ctx.ref("table2")
    scale = _int(ref.setting.get("scale")) or 4
    colors = _int(ref.setting.get("colors")) or 1
    rows = []
    for p in ref.rows:
        row: dict[str, Any] = {
            "kind": "paper",
            "run": None,
            "paper_id": p.get("id"),
            "method": str(p.get("method") or ""),
            "size": p.get("size"),
            "scale": scale,
            "colors": colors,
            "label": str(p.get("label") or p.get("method")),
            "params_paper": _num(p.get("params_k")) * 1e3 if _num(p.get("params_k")) is not None else None,
            "flops_paper": _num(p.get("flops_g")) * 1e9 if _num(p.get("flops_g")) is not None else None,
            "n_conv": _int(p.get("n_conv")),
            "note": " ".join(str(p.get("note") or "").split()),
        }
        for d in ref.datasets:
            row[f"psnr_y_{d}"] = ref.value(p, "psnr", d)
            row[f"ssim_y_{d}"] = ref.value(p, "ssim", d)
        rows.append(row)
    source = f"RepSR paper, Table 2 (x{scale}, Y channel)" if ref.found else ""
    return rows, source


def leaderboard_frame(ctx: ReportContext) -> tuple[pd.DataFrame, str]:
    """Every run and every reference row, raw numbers; `pareto` marks the PSNR-vs-MACs front of our runs."""
    refs, source = _reference_rows(ctx)
    runs = ctx.wide.assign(kind="run").drop(columns=["options_dict", "declared_experiments", "_rank"], errors="ignore")
    frame = pd.concat([runs, pd.DataFrame(refs)], ignore_index=True) if refs else runs
    dataset = primary_dataset(ctx.wide)
    frame["pareto"] = False
    if dataset is not None:
        scored = frame[(frame["kind"] == "run") & frame["macs"].notna() & frame[f"psnr_y_{dataset}"].notna()]
        for _, group in scored.groupby(["scale", "colors"], dropna=False):
            if len(group) < 2:  # a lone model is trivially "on the front": a badge would say nothing
                continue
            mask = pareto_mask(list(group["macs"].astype(float)), list(group[f"psnr_y_{dataset}"].astype(float)))
            frame.loc[group.index[mask], "pareto"] = True
    # Default order: by scale, then model size (true count, else the paper's), ours before the paper's.
    keys = [
        (_num(r["scale"]) or 0.0,
         _num(r.get("params_deployed")) if _num(r.get("params_deployed")) is not None else (_num(r.get("params_paper")) or -1.0),
         r["kind"] != "run", _method_rank(r["method"]), str(r.get("label")))
        for r in frame.to_dict("records")
    ]
    order = sorted(range(len(frame)), key=lambda i: keys[i])
    return frame.iloc[order].reset_index(drop=True), source


# Counts that pandas turns into floats as soon as one row lacks them; the CSV writes them back as integers.
INT_COLUMNS = (
    "scale", "colors", "iterations", "seed", "bn_frozen_at", "expand", "branches", "params_deployed", "params_train",
    "params_paper", "macs", "flops_paper", "n_conv", "throughput_batch", "throughput_lr_height", "throughput_lr_width",
    "train_speed_batch", "train_speed_patch", "macs_lr_height", "macs_lr_width",
)


def leaderboard_csv(frame: pd.DataFrame) -> str:
    front = ["kind", "run", "paper_id", "label", "method", "size", "scale", "colors", "pareto"]
    cols = [c for c in front if c in frame] + [c for c in frame.columns if c not in front]
    out = frame[cols].copy()
    for column in INT_COLUMNS:
        if column in out:
            values = pd.to_numeric(out[column], errors="coerce")
            if values.dropna().map(lambda v: float(v).is_integer()).all():
                out[column] = values.round().astype("Int64")
    return out.to_csv(index=False)


def render_leaderboard(ctx: ReportContext, tradeoff_svg: str) -> tuple[str, str]:
    """(html, csv). The page inlines its style, script and plot: it works offline from file://."""
    import jinja2
    from markupsafe import Markup

    frame, ref_source = leaderboard_frame(ctx)
    datasets = ordered_datasets(
        {c[len("psnr_y_"):] for c in frame.columns if c.startswith("psnr_y_") and frame[c].notna().any()}
    )
    columns = leaderboard_columns(datasets)
    by_name = {r.name: r for r in ctx.runs.runs}
    rows, details = [], []
    for order, r in enumerate(frame.to_dict("records")):
        is_run = r["kind"] == "run"
        colors = _int(r.get("colors"))
        cells = {
            "method": {"value": str(r.get("label") or r["method"]), "text": str(r.get("label") or r["method"])},
            "size": _cell(r.get("size"), str(r.get("size") or "")),
            "scale": _cell(r.get("scale"), f"x{_int(r['scale'])}" if _int(r.get("scale")) else ""),
            "colors": _cell({1: "Y", 3: "RGB"}.get(colors or 0), {1: "Y", 3: "RGB"}.get(colors or 0, "")),
            "params_deployed": _cell(r.get("params_deployed"), fmt_int(r.get("params_deployed"))),
            "params_paper": _cell(r.get("params_paper"), fmt_k(r.get("params_paper"))),
            "macs": _cell(r.get("macs"), fmt_float(_num(r.get("macs")) and r["macs"] / 1e9, 3)),
            "flops_paper": _cell(r.get("flops_paper"), fmt_float(_num(r.get("flops_paper")) and r["flops_paper"] / 1e9, 2)),
            "n_conv": _cell(r.get("n_conv"), fmt_int(r.get("n_conv"))),
            "throughput": _cell(r.get("throughput"), fmt_float(r.get("throughput"), 1)),
            "device": _cell(_device_text(r) or None, _device_text(r)),
            "train_seconds": _cell(r.get("train_seconds"), fmt_duration(r.get("train_seconds"))),
            "iterations": _cell(r.get("iterations"), fmt_int(r.get("iterations"))),
            "tables": _cell(r.get("tables") or None, str(r.get("tables") or "").replace(",", ", ")),
        }
        for d in datasets:
            cells[f"psnr_{d}"] = _cell(r.get(f"psnr_y_{d}"), fmt_float(r.get(f"psnr_y_{d}"), 2))
            cells[f"ssim_{d}"] = _cell(r.get(f"ssim_y_{d}"), fmt_float(r.get(f"ssim_y_{d}"), 4))
        for cell in cells.values():
            if cell["text"] == MISSING:
                cell["text"] = ""
        detail_id = None
        if is_run and r["run"] in by_name:
            detail = _run_detail(by_name[r["run"]], r, datasets)
            details.append(detail)
            detail_id = detail["id"]
        rows.append({
            "kind": r["kind"],
            "method": r["method"],
            "size": str(r.get("size") or ""),
            "scale": str(_int(r.get("scale")) or ""),
            "run": r.get("run") or "",
            "order": order,
            "pareto": bool(r.get("pareto")),
            "detail_id": detail_id,
            "paper_id": r.get("paper_id") or "",
            "note": r.get("note") if isinstance(r.get("note"), str) else "",
            "cells": [cells[c.key] for c in columns],
        })
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("repbench", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for d in details:
        d["curves"] = [Markup(c) for c in d["curves"]]
    dataset = primary_dataset(ctx.wide)
    page = env.get_template("leaderboard.html.j2").render(
        preset=ctx.preset,
        runs_root=str(ctx.runs.root),
        columns=columns,
        rows=rows,
        details=details,
        n_runs=sum(r["kind"] == "run" for r in rows),
        n_paper=sum(r["kind"] == "paper" for r in rows),
        methods=sorted({r["method"] for r in rows}, key=lambda m: (_method_rank(m), m)),
        scales=sorted({r["scale"] for r in rows if r["scale"]}, key=int),
        reference_source=ref_source,
        pareto_dataset=dataset_label(dataset) if dataset else None,
        tradeoff_svg=Markup(tradeoff_svg),
        notes=[n.replace("`", "") for n in ctx.runs.notes],  # the notes are Markdown; the page shows plain text
    )
    return page, leaderboard_csv(frame)


# --------------------------------------------------------------------------- the whole report


def build_context(runs_root: str | os.PathLike, preset: str | None = None, curves: Sequence[str] | None = None,
                  references_dir: Path = REFERENCES_DIR) -> ReportContext:
    runs = load_runs(runs_root)
    tidy = tidy_frame(runs)
    return ReportContext(runs, tidy, wide_frame(tidy), preset or Path(runs_root).resolve().name,
                         references_dir, list(curves) if curves else None)


def check_targets(only: Iterable[str] | None) -> list[str]:
    chosen = list(only) if only else list(DEFAULT_TARGETS)
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown:
        raise RepbenchError(f"unknown report target(s) {', '.join(unknown)}; valid: {', '.join(TARGETS)}")
    return chosen


def build_report(runs_root: str | os.PathLike, out_dir: str | os.PathLike, preset: str | None = None,
                 only: Iterable[str] | None = None, curves: Sequence[str] | None = None,
                 references_dir: Path = REFERENCES_DIR) -> list[Path]:
    """Render the chosen targets (DEFAULT_TARGETS by default) into out_dir; returns the files written."""
    targets = check_targets(only)
    ctx = build_context(runs_root, preset, curves, references_dir)
    out = Path(out_dir)
    written: list[Path] = []
    for table in TABLES:
        if table not in targets:
            continue
        if table == "table2":
            text = render_table2(ctx)
        elif table == "table3":
            text = render_table3(ctx)
        else:
            text = render_ablation(ctx, ABLATIONS[table])
        written.append(write_atomic(out / f"{table}.md", text))
    if any(t in targets for t in NTIRE_TABLES):
        from repbench import report_ntire  # imported here: it builds on this module

        data = report_ntire.collect(ctx)
        for table in NTIRE_TABLES:
            if table in targets:
                written.append(write_atomic(out / f"{table}.md", report_ntire.render(ctx, table, data)))
    if "fig1" in targets or "leaderboard" in targets:
        plt = _matplotlib()
        fig = figure_tradeoff(ctx)
        if "fig1" in targets:
            written += _save_figure(fig, out / "fig1_tradeoff")
        svg = figure_svg_text(fig)
        plt.close(fig)
        if "leaderboard" in targets:
            page, csv_text = render_leaderboard(ctx, svg)
            written.append(write_atomic(out / "leaderboard.html", page))
            written.append(write_atomic(out / "leaderboard.csv", csv_text))
    if "fig6" in targets:
        plt = _matplotlib()
        fig = figure_curves(ctx)
        written += _save_figure(fig, out / "fig6_curves")
        plt.close(fig)
    return written
