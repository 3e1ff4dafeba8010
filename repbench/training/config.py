"""The training config: one dataclass, its recipe profiles, how layers combine, and what is valid.

    cfg = resolve_config({"method": "repsr", "size": "M4C16", "scale": 4})

Layers, later wins: the dataclass defaults < the recipe profile (`profile`, see RECIPES) < each
mapping given to `resolve_config` (a config file, command-line flags, `--set`). The pipeline
resolves a run's config once, when it builds its plan, and hands the whole object to
`repbench train --config-json`; `config_from_json` reads it back without layering it again.
Nothing here imports torch, so the plan and the CLI parsers stay light.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from methods import registry
from repbench.errors import RepbenchError
from repbench.yamlfile import read_yaml

PAPER_ITERATIONS = 1_000_000  # every model of the papers trains for 1000K iterations


def _field(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING, runtime: bool = False,
           set_by: str | None = None, shown: bool = False) -> Any:
    """A config field with its facts beside it, read by `fields_where` / `pipeline_set`:
    runtime: may differ when a run is resumed (it changes how, not what, is computed);
    set_by: the pipeline sets it itself from this part of a preset, never from a `train` section;
    shown: listed in a run's config panel on the leaderboard."""
    meta = {"runtime": runtime, "set_by": set_by, "shown": shown}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    # --- what to train ---
    method: str = _field("", set_by="the run entry")  # a registered method (`repbench methods`): plain, repvgg, ecbsr, sesr, repsr, edsr, ...
    size: str = _field("M4C16", set_by="the run entry's sizes")  # the method's size string: Mx-Cy for the VGG-style nets, e.g. R16C64 for EDSR
    scale: int = _field(4, set_by="the experiment or run entry")  # 2, 3 or 4
    colors: int = _field(1, set_by="the experiment or run entry")  # 1: Y channel (the paper's tiny models, Table 2); 3: RGB (ablations, large models)
    options: dict = _field(factory=dict, set_by="the run entry")  # method build options, e.g. {expand: 2, branches: 2} for repsr
    train_data: str = _field("skimage-train", set_by="the data section", shown=True)  # a dataset name of the data registry; several: "DIV2K-train,Flickr2K"
    # Validation Y-PSNR during training ("" = none): "holdout:N" keeps N images of the training data out of
    # training and validates on them (evenly spaced by name); a dataset name validates on that set instead.
    val_data: str = _field("", set_by="the data section", shown=True)

    # --- the recipe; defaults are the paper's tiny-model recipe (docs/conventions.md, "Training recipe") ---
    profile: str = "tiny"  # tiny, large or short: fills in every recipe field not set explicitly (see RECIPES)
    iterations: int = _field(PAPER_ITERATIONS, shown=True)  # optimizer steps
    batch_size: int = _field(32, shown=True)
    patch_size: int = _field(64, shown=True)  # LR patch side in pixels; HR patches are scale x larger (large recipe: 48)
    patch_size_stage2: int = 0  # two-stage training (IMDN + CLB): LR patch side from stage2_start on; 0 = off
    stage2_start: int = 0  # first iteration of stage 2 (counted from 0)
    lr: float = 4e-4  # Adam learning rate (large recipe: 2e-4)
    schedule: str = "multistep"  # multistep | cosine (with restarts) | constant
    milestones: list = field(default_factory=lambda: [0.2, 0.4, 0.6, 0.8])  # multistep: fractions of the run
    gamma: float = 0.5  # multistep: lr factor at each milestone (ECBSR halves at 200/400/600/800 of 1000 epochs)
    cycles: int = 4  # cosine: equal cycles (restarts) over the run; the paper uses 4 for large models
    lr_min: float = 1e-7  # cosine: floor of each cycle
    warmup: float = 0.0  # fraction of the run over which the lr ramps up linearly from lr/W to lr (any schedule)
    betas: list = field(default_factory=lambda: [0.9, 0.999])  # Adam betas
    grad_clip: float = 0.0  # clip the global gradient norm to this value; 0 = off
    # On a loss spike (a 10-step block's mean loss above 2x the median of the blocks before it), start the
    # run again from its initial weights at a quarter of the rate, at most this many times; 0 = off
    # (repbench/training/spikes.py).
    spike_backoffs: int = 0
    frozen_bn_fraction: float = 0.05  # last fraction of iterations with BN on population statistics (paper: <10%)
    # Once BN is frozen every RepSR/RepVGG block is linear: train it as its one merged conv from then on
    # (same function and gradients, fewer activations; ECB/SESR get the same from their `collapsed` option).
    collapse_frozen: bool = True
    augment: bool = True  # random flips and 90-degree rotations of the patches

    # --- how to run it ---
    seed: int = _field(0, shown=True)  # model init and patch sampling; same seed + CPU = same weights
    device: str = _field("auto", runtime=True, set_by="the preset's device", shown=True)  # auto (cuda if present, else cpu), cpu, cuda, cuda:1, ...
    amp: bool = True  # fp16 autocast + gradient scaling on CUDA; ignored on CPU
    deterministic: bool = False  # deterministic cuDNN kernels (slower); CPU runs are deterministic anyway
    workers: int = _field(-1, runtime=True)  # patch-sampling processes; -1 = auto: 0 on CPU (sampling is ~1% of a step), 4 on CUDA
    threads: int = _field(0, runtime=True, set_by="the preset's threads")  # torch CPU threads; 0 = torch's default
    log_every: int = _field(100, runtime=True)  # iterations per metrics row (and NaN check)
    val_every: int = _field(5000, runtime=True)  # iterations between validations; 0 = only at the end
    checkpoint_every: int = _field(1000, runtime=True)  # iterations between writes of checkpoints/last.pt
    snapshot_every: int = _field(0, runtime=True)  # also keep checkpoints/iter_<N>.pt every N iterations; 0 = off
    progress: bool = _field(True, runtime=True, set_by="the pipeline (off: plain progress lines instead of a bar)")  # tqdm progress bar (only shown on a terminal)


# Recipe profiles sit between the dataclass defaults and the user's layers.
RECIPES: dict[str, dict[str, Any]] = {
    "tiny": {},  # the dataclass defaults: LR patch 64, lr 4e-4, multi-step decay
    "large": {"patch_size": 48, "lr": 2e-4, "schedule": "cosine", "cycles": 4},
    # Short budgets (thousands of iterations, not 1000K): a linear warm-up over the first 5 %, then one
    # cosine decay to zero, so the run ends converged to what its budget allows instead of on a plateau
    # of a schedule built for 1000K iterations. lr 2e-3 from a sweep on the plain network (README).
    # A run whose loss spikes starts again at a quarter of the rate, up to 3 times (spike_backoffs).
    "short": {"lr": 2e-3, "schedule": "cosine", "cycles": 1, "lr_min": 0.0, "warmup": 0.05, "spike_backoffs": 3},
}

def fields_where(fact: str) -> tuple[str, ...]:
    """The config fields, in declaration order, whose `_field` fact (runtime, shown) is true."""
    return tuple(f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get(fact))


def pipeline_set() -> dict[str, str]:
    """Fields the pipeline sets itself -> the part of a preset they come from."""
    return {f.name: f.metadata["set_by"] for f in dataclasses.fields(TrainConfig) if f.metadata.get("set_by")}


RUNTIME_FIELDS = frozenset(fields_where("runtime"))

# Fields renamed since runs were first written: a stored config is read with the new names, so an
# old run folder still matches its unchanged config.
RENAMED_FIELDS = {"recipe": "profile"}
SCHEDULE_NAMES = ("multistep", "cosine", "constant")  # repbench.schedules.SCHEDULES builds them
HOLDOUT = "holdout:"  # val_data prefix: validate on N images held out of the training data


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _coerce(name: str, value: Any, kind: Any) -> Any:
    """Turn a YAML / command-line value into the field's type, or explain what is expected."""
    origin = typing.get_origin(kind) or kind
    try:
        if origin is bool:
            if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
                return value.lower() in ("true", "yes", "on", "1")
            if isinstance(value, bool):
                return value
            raise ValueError
        if origin is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = float(value.replace("_", "")) if any(c in value for c in ".eE") else int(value.replace("_", ""))
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if origin is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)  # also parses "1e-4", which YAML 1.1 reads as a string
        if origin is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return "" if value is None else str(value)
        if origin is list:
            if isinstance(value, str):
                value = [v for v in value.strip("[]").split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise ValueError
            return [float(v) for v in value]
        if origin is dict:
            if value is None:
                return {}
            if not isinstance(value, dict):
                raise ValueError
            return dict(value)
    except (TypeError, ValueError):
        pass
    expected = "a list of numbers" if origin is list else f"of type {getattr(origin, '__name__', origin)}"
    raise RepbenchError(f"config field {name!r} must be {expected}, got {value!r}")


def parse_set(items: list[str]) -> dict[str, Any]:
    """`--set key=value` pairs -> a dict. Values are YAML (numbers, lists, true/false);
    `options.KEY=VALUE` sets one method option."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RepbenchError(f"--set expects key=value, got {item!r} (e.g. --set iterations=2000)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if key.startswith("options."):
            out.setdefault("options", {})[key[len("options.") :]] = value
        else:
            out[key] = value
    return out


def load_yaml_config(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML mapping of config fields (`repbench train --config FILE`)."""
    data = read_yaml(path, "config file") or {}
    if not isinstance(data, dict):
        raise RepbenchError(f"config file {path} must be a YAML mapping of config fields (e.g. `iterations: 2000`)")
    return data


def layered(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """The one way settings combine, here and in the pipeline's presets: later layers win; a mapping laid
    over a mapping merges key by key (one level: `options`, a preset's `train` or `data` section),
    anything else is replaced."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            below = out.get(key)
            out[key] = {**below, **value} if isinstance(value, Mapping) and isinstance(below, Mapping) else value
    return out


def resolve_config(*layers: Mapping[str, Any]) -> TrainConfig:
    """Defaults < recipe profile < each layer in order (e.g. config file, command-line flags, --set).

    Layers combine by `layered` (`options` merges key by key). Unknown keys are errors.
    """
    types = _field_types()
    renamed = [{RENAMED_FIELDS.get(k, k): v for k, v in layer.items()} for layer in layers]
    for layer in renamed:
        unknown = sorted(set(layer) - set(types))
        if unknown:
            raise RepbenchError(
                f"unknown config field(s) {', '.join(unknown)}; valid fields: {', '.join(types)}"
            )
    merged = layered(*renamed)
    profile = str(merged.get("profile", TrainConfig.profile))
    if profile not in RECIPES:
        raise RepbenchError(f"unknown recipe profile {profile!r}; valid: {', '.join(RECIPES)}")
    values = {**RECIPES[profile], **merged}
    cfg = TrainConfig(**{k: _coerce(k, v, types[k]) for k, v in values.items()})
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    """Raise RepbenchError naming the first field whose value `repbench train` cannot use."""
    if not cfg.method:
        raise RepbenchError(f"no method given; use --method (one of {', '.join(registry.METHODS)})")
    try:
        registry.parse_size(cfg.method, cfg.size)
        if cfg.scale not in registry.SCALES:
            raise ValueError(f"scale must be one of {registry.SCALES}, got {cfg.scale}")
        if cfg.colors not in registry.COLORS:
            raise ValueError(f"colors must be 1 (Y) or 3 (RGB), got {cfg.colors}")
        valid = registry.options_of(cfg.method)
        unknown = sorted(set(cfg.options) - set(valid))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for {cfg.method}; valid: {valid}")
    except ValueError as err:
        raise RepbenchError(str(err)) from err
    checks = [
        (cfg.iterations >= 1, "iterations must be >= 1"),
        (cfg.batch_size >= 1, "batch_size must be >= 1"),
        (cfg.patch_size >= 1, "patch_size must be >= 1"),
        (cfg.patch_size_stage2 >= 0, "patch_size_stage2 must be >= 0 (0 = single stage)"),
        (0 < cfg.lr <= 1, f"lr must be in (0, 1] (the paper uses 4e-4), got {cfg.lr}"),
        (0.0 <= cfg.warmup < 1.0, "warmup must be a fraction of the run in [0, 1)"),
        (not cfg.val_data.startswith(HOLDOUT) or holdout_count(cfg.val_data) >= 1,
         f"val_data {cfg.val_data!r}: write {HOLDOUT}N with N >= 1 images, e.g. {HOLDOUT}10"),
        (cfg.schedule in SCHEDULE_NAMES, f"schedule must be one of {', '.join(SCHEDULE_NAMES)}"),
        (_increasing_fractions(cfg.milestones),
         f"milestones must be increasing fractions of the run in (0, 1), e.g. [0.2, 0.4, 0.6, 0.8]; got {cfg.milestones}"),
        (0 < cfg.gamma <= 1, f"gamma must be in (0, 1] (the lr factor at each milestone), got {cfg.gamma}"),
        (cfg.cycles >= 1, f"cycles must be >= 1 (cosine: equal cycles over the run; 1 = one decay), got {cfg.cycles}"),
        (0 <= cfg.lr_min < cfg.lr, f"lr_min must be in [0, lr), got {cfg.lr_min} with lr {cfg.lr}"),
        (cfg.stage2_start >= 0 and (cfg.patch_size_stage2 == 0 or cfg.stage2_start < cfg.iterations),
         f"stage2_start must be >= 0 and, with two stages, below iterations ({cfg.iterations}); got {cfg.stage2_start}"),
        (cfg.seed >= 0, f"seed must be >= 0, got {cfg.seed}"),
        (cfg.workers >= -1 and cfg.threads >= 0, "workers must be >= -1 (-1 = auto) and threads >= 0 (0 = torch's default)"),
        (0.0 <= cfg.frozen_bn_fraction < 1.0, "frozen_bn_fraction must be in [0, 1)"),
        (cfg.grad_clip >= 0, "grad_clip must be >= 0 (0 = off)"),
        (cfg.spike_backoffs >= 0, "spike_backoffs must be >= 0 (0 = off)"),
        (len(cfg.betas) == 2 and all(0 <= b < 1 for b in cfg.betas), "betas must be two numbers in [0, 1), e.g. [0.9, 0.999]"),
        (min(cfg.log_every, cfg.checkpoint_every) >= 1, "log_every and checkpoint_every must be >= 1"),
        (min(cfg.val_every, cfg.snapshot_every) >= 0, "val_every and snapshot_every must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise RepbenchError(message)


def _increasing_fractions(values: Any) -> bool:
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return False
    return all(0 < v < 1 for v in numbers) and all(a < b for a, b in zip(numbers, numbers[1:]))


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_json(cfg: TrainConfig) -> str:
    """The whole config as one compact JSON object (what the pipeline passes to `--config-json`)."""
    return json.dumps(config_dict(cfg), separators=(",", ":"))


def config_from_json(text_or_path: str) -> dict[str, Any]:
    """A config object from `--config-json`: inline JSON text, or the path of a JSON file."""
    text = text_or_path
    if not text_or_path.lstrip().startswith("{"):
        path = Path(text_or_path)
        if not path.is_file():
            raise RepbenchError(f"--config-json {text_or_path!r} is neither a JSON object nor an existing file")
        text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RepbenchError(f"--config-json is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise RepbenchError("--config-json must be a JSON object of config fields, e.g. {\"iterations\": 2000}")
    return data


def freeze_start(cfg: TrainConfig) -> int | None:
    """0-based index of the first iteration trained with frozen BN (None: never).

    Any positive fraction freezes at least one iteration, so short test runs take the switch too.
    """
    frozen = math.ceil(cfg.iterations * cfg.frozen_bn_fraction - 1e-9)
    return cfg.iterations - frozen if frozen > 0 else None



def holdout_count(val_data: str) -> int:
    """N of "holdout:N"; 0 when N is not a whole number (validate reports it)."""
    try:
        return int(val_data[len(HOLDOUT):])
    except ValueError:
        return 0


