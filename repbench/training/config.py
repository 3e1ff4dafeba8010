"""The training loop: one config dataclass, one function, one run folder.

    cfg = resolve_config({"method": "repsr", "size": "M4C16", "scale": 4})
    record = train(cfg, "results/runs/cpu/repsr-M4C16-x4")

The run folder holds everything later stages read:

    config.yaml         the resolved config (every field, after recipe / file / command-line layers)
    metrics.csv         iteration, loss, lr, seconds, val_psnr, event   (one row per log point)
    checkpoints/last.pt model, optimizer, grad scaler, RNG states; written atomically
    final.pt            training-time weights (methods.save)
    deployed.pt         the merged network (methods.merge), or the training-time net if not mergeable
    train.json          raw facts of the run; status "complete" marks a finished run

Iterations are counted from 1: the metrics row of iteration k describes the k-th
optimizer step, and checkpoints hold the state after that many steps. Rerunning
on a folder resumes from its checkpoint; the result is bit-identical to an
uninterrupted run on CPU because every source of randomness is either restored
(torch / numpy / python RNG states) or a pure function of (seed, iteration)
(the patch sampler, the learning-rate schedule).
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import json
import math
import os
import random
import sys
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from repbench import atomic, runlock, runstate
from repbench.device import device_name, model_device, resolve_device
from repbench.errors import RepbenchError
from repbench.stopsignals import StopFlag


@dataclass
class TrainConfig:
    # --- what to train ---
    method: str = ""  # a registered method (`repbench methods`): plain, repvgg, ecbsr, sesr, repsr, edsr, ...
    size: str = "M4C16"  # the method's size string: Mx-Cy for the VGG-style nets, e.g. R16C64 for EDSR
    scale: int = 4  # 2, 3 or 4
    colors: int = 1  # 1: Y channel (the paper's tiny models, Table 2); 3: RGB (ablations, large models)
    options: dict = field(default_factory=dict)  # method build options, e.g. {expand: 2, branches: 2} for repsr
    train_data: str = "skimage-train"  # a dataset name of the data registry; several: "DIV2K-train,Flickr2K"
    # Validation Y-PSNR during training ("" = none): "holdout:N" keeps N images of the training data out of
    # training and validates on them (evenly spaced by name); a dataset name validates on that set instead.
    val_data: str = ""

    # --- the recipe; defaults are the paper's tiny-model recipe (SPEC section 5) ---
    recipe: str = "tiny"  # tiny, large or short: fills in every recipe field not set explicitly (see RECIPES)
    iterations: int = 1_000_000  # optimizer steps (the paper: 1000K)
    batch_size: int = 32
    patch_size: int = 64  # LR patch side in pixels; HR patches are scale x larger (large recipe: 48)
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
    frozen_bn_fraction: float = 0.05  # last fraction of iterations with BN on population statistics (paper: <10%)
    # Once BN is frozen every RepSR/RepVGG block is linear: train it as its one merged conv from then on
    # (same function and gradients, fewer activations; ECB/SESR get the same from their `collapsed` option).
    collapse_frozen: bool = True
    augment: bool = True  # random flips and 90-degree rotations of the patches

    # --- how to run it ---
    seed: int = 0  # model init and patch sampling; same seed + CPU = same weights
    device: str = "auto"  # auto (cuda if present, else cpu), cpu, cuda, cuda:1, ...
    amp: bool = True  # fp16 autocast + gradient scaling on CUDA; ignored on CPU
    deterministic: bool = False  # deterministic cuDNN kernels (slower); CPU runs are deterministic anyway
    workers: int = -1  # patch-sampling processes; -1 = auto: 0 on CPU (sampling is ~1% of a step), 4 on CUDA
    threads: int = 0  # torch CPU threads; 0 = torch's default
    log_every: int = 100  # iterations per metrics row (and NaN check)
    val_every: int = 5000  # iterations between validations; 0 = only at the end
    checkpoint_every: int = 1000  # iterations between writes of checkpoints/last.pt
    snapshot_every: int = 0  # also keep checkpoints/iter_<N>.pt every N iterations; 0 = off
    progress: bool = True  # tqdm progress bar (only shown on a terminal)


# Recipe presets sit between the dataclass defaults and the user's layers.
RECIPES: dict[str, dict[str, Any]] = {
    "tiny": {},  # the dataclass defaults: LR patch 64, lr 4e-4, multi-step decay
    "large": {"patch_size": 48, "lr": 2e-4, "schedule": "cosine", "cycles": 4},
    # Short budgets (thousands of iterations, not 1000K): a linear warm-up over the first 5 %, then one
    # cosine decay to zero, so the run ends converged to what its budget allows instead of on a plateau
    # of a schedule built for 1000K iterations. lr 2e-3 from a sweep on the plain network (README).
    "short": {"lr": 2e-3, "schedule": "cosine", "cycles": 1, "lr_min": 0.0, "warmup": 0.05},
}

# Fields that may differ when a run is resumed: they change how, not what, is computed.
RUNTIME_FIELDS = frozenset(
    {"device", "workers", "threads", "log_every", "val_every", "checkpoint_every", "snapshot_every", "progress"}
)

METRICS_COLUMNS = ("iteration", "loss", "lr", "seconds", "val_psnr", "event")
HOLDOUT = "holdout:"  # val_data prefix: validate on N images held out of the training data


# ----------------------------------------------------------------------------- config


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
    raise RepbenchError(f"config field {name!r} must be of type {getattr(origin, '__name__', origin)}, got {value!r}")


def parse_set(items: list[str]) -> dict[str, Any]:
    """`--set key=value` pairs -> a dict. Values are YAML (numbers, lists, true/false);
    `options.KEY=VALUE` sets one method option."""
    import yaml

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
    import yaml

    path = Path(path)
    if not path.is_file():
        raise RepbenchError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RepbenchError(f"config file {path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise RepbenchError(f"config file {path} must be a YAML mapping of config fields (e.g. `iterations: 2000`)")
    return data


def resolve_config(*layers: Mapping[str, Any]) -> TrainConfig:
    """Defaults < recipe < each layer in order (e.g. config file, command-line flags, --set).

    `options` layers merge key by key; every other field is replaced. Unknown keys are errors.
    """
    types = _field_types()
    merged: dict[str, Any] = {}
    for layer in layers:
        unknown = sorted(set(layer) - set(types))
        if unknown:
            raise RepbenchError(
                f"unknown config field(s) {', '.join(unknown)}; valid fields: {', '.join(types)}"
            )
        for key, value in layer.items():
            if key == "options" and isinstance(value, dict):
                merged["options"] = {**merged.get("options", {}), **value}
            else:
                merged[key] = value
    recipe = str(merged.get("recipe", TrainConfig.recipe))
    if recipe not in RECIPES:
        raise RepbenchError(f"unknown recipe {recipe!r}; valid: {', '.join(RECIPES)}")
    values = {**RECIPES[recipe], **merged}
    cfg = TrainConfig(**{k: _coerce(k, v, types[k]) for k, v in values.items()})
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    import methods

    from repbench.schedules import SCHEDULES

    if not cfg.method:
        raise RepbenchError(f"no method given; use --method (one of {', '.join(methods.METHODS)})")
    try:
        methods.parse_size(cfg.method, cfg.size)
        if cfg.scale not in methods.SCALES:
            raise ValueError(f"scale must be one of {methods.SCALES}, got {cfg.scale}")
        if cfg.colors not in methods.COLORS:
            raise ValueError(f"colors must be 1 (Y) or 3 (RGB), got {cfg.colors}")
        valid = methods.options_of(cfg.method)
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
        (not cfg.val_data.startswith(HOLDOUT) or _holdout_count(cfg.val_data) >= 1,
         f"val_data {cfg.val_data!r}: write {HOLDOUT}N with N >= 1 images, e.g. {HOLDOUT}10"),
        (cfg.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
        (0.0 <= cfg.frozen_bn_fraction < 1.0, "frozen_bn_fraction must be in [0, 1)"),
        (cfg.grad_clip >= 0, "grad_clip must be >= 0 (0 = off)"),
        (len(cfg.betas) == 2 and all(0 <= b < 1 for b in cfg.betas), "betas must be two numbers in [0, 1), e.g. [0.9, 0.999]"),
        (min(cfg.log_every, cfg.checkpoint_every) >= 1, "log_every and checkpoint_every must be >= 1"),
        (min(cfg.val_every, cfg.snapshot_every) >= 0, "val_every and snapshot_every must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise RepbenchError(message)


def config_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def freeze_start(cfg: TrainConfig) -> int | None:
    """0-based index of the first iteration trained with frozen BN (None: never).

    Any positive fraction freezes at least one iteration, so short test runs take the switch too.
    """
    frozen = math.ceil(cfg.iterations * cfg.frozen_bn_fraction - 1e-9)
    return cfg.iterations - frozen if frozen > 0 else None


# ----------------------------------------------------------------------------- files


def write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    import yaml

    with atomic.atomic_open(path) as fh:
        yaml.safe_dump(dict(data), fh, sort_keys=False)


def read_train_json(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "train.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


class MetricsLog:
    """metrics.csv, appended row by row (flushed, so a crash loses nothing logged)."""

    def __init__(self, path: Path, resume_at: int | None):
        self.path = path
        if resume_at is None or not path.is_file():
            with atomic.atomic_open(path) as fh:
                csv.writer(fh).writerow(METRICS_COLUMNS)
        else:
            # Rows past the checkpoint describe steps that will be redone: drop them.
            with path.open(newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if r.get("iteration", "").isdigit() and int(r["iteration"]) <= resume_at]

            with atomic.atomic_open(path) as fh:
                w = csv.DictWriter(fh, METRICS_COLUMNS, extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)
        self.fh = path.open("a", newline="")
        self.writer = csv.writer(self.fh)

    def row(self, iteration: int, loss: float | None, lr: float, seconds: float, val_psnr: float | None, events: list[str]) -> None:
        self.writer.writerow([
            iteration,
            "" if loss is None else f"{loss:.6g}",
            f"{lr:.6g}",
            f"{seconds:.3f}",
            "" if val_psnr is None else f"{val_psnr:.4f}",
            ";".join(events),
        ])
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


# ----------------------------------------------------------------------------- checkpoints


def _rng_states(device: Any) -> dict[str, Any]:
    import torch

    np_state = np.random.get_state(legacy=False)
    states = {
        "torch": torch.get_rng_state(),
        "numpy": {**np_state, "state": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                                        "pos": int(np_state["state"]["pos"])}},
        "python": _to_lists(random.getstate()),
    }
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _to_lists(x: Any) -> Any:
    return [_to_lists(v) for v in x] if isinstance(x, (list, tuple)) else x


def _to_tuples(x: Any) -> Any:
    return tuple(_to_tuples(v) for v in x) if isinstance(x, list) else x


def _set_rng_states(states: Mapping[str, Any], device: Any) -> None:
    import torch

    torch.set_rng_state(states["torch"])
    np_state = dict(states["numpy"])
    np_state["state"] = {"key": states["numpy"]["state"]["key"].numpy().astype(np.uint32), "pos": states["numpy"]["state"]["pos"]}
    np.random.set_state(np_state)
    random.setstate(_to_tuples(states["python"]))
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    import torch

    runstate.refuse_nonfinite(path, state, lambda p: load_checkpoint(p)["iteration"])  # keep the last good one
    with atomic.atomic_open(path, "wb") as fh:
        torch.save(dict(state), fh)


def load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    try:
        # Everything in a checkpoint is tensors and plain containers: the safe loader suffices.
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's own text suggests weights_only=False, which is not the fix here
        ckpt = err
    missing = ["a dict"] if not isinstance(ckpt, dict) else [k for k in _CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        why = type(ckpt).__name__ if isinstance(ckpt, Exception) else f"no {', '.join(missing)}"
        raise RepbenchError(
            f"checkpoint {path} is corrupt or not a repbench checkpoint ({why}); delete it to restart the run "
            "from scratch (earlier iterations are lost), or train into a new --run-dir"
        )
    return ckpt


_CHECKPOINT_KEYS = ("iteration", "model", "optimizer", "scaler", "rng", "train_seconds")


# ----------------------------------------------------------------------------- helpers


def _load_pairs(names: str, scale: int, role: str) -> list:
    """Pairs of one dataset, or of several joined with commas (e.g. "DIV2K-train,Flickr2K")."""
    from repbench import data

    pairs = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if not data.available(name):
            raise RepbenchError(
                f"{role} dataset {name!r} is not available here; prepare it with `repbench data` "
                f"or choose another one (skimage-train and skimage-test are always available)"
            )
        pairs += data.load_pairs(name, scale)
    return pairs


def _holdout_count(val_data: str) -> int:
    try:
        return int(val_data[len(HOLDOUT):])
    except ValueError:
        return 0


def split_holdout(pairs: list, count: int) -> tuple[list, list]:
    """(training pairs, held-out pairs): `count` pairs evenly spaced through the name-sorted list.

    Held-out images never reach the patch sampler, so validation measures generalization
    without touching a test set."""
    if count >= len(pairs):
        raise RepbenchError(
            f"cannot hold out {count} of {len(pairs)} training images for validation; use fewer (e.g. {HOLDOUT}{max(1, len(pairs) // 5)})"
        )
    order = sorted(range(len(pairs)), key=lambda i: pairs[i].name)
    step = len(order) / count
    held = {order[int(step * k + step / 2)] for k in range(count)}
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


def budget_record(cfg: TrainConfig, train_seconds: float) -> dict[str, Any]:
    """What a run was given: optimizer steps, LR training pixels seen, and CPU/GPU seconds."""
    p1, p2 = cfg.patch_size, cfg.patch_size_stage2 or cfg.patch_size
    stage2 = max(0, cfg.iterations - cfg.stage2_start) if cfg.patch_size_stage2 else 0
    pixels = cfg.batch_size * ((cfg.iterations - stage2) * p1 * p1 + stage2 * p2 * p2)
    return {"iterations": cfg.iterations, "lr_pixels": pixels, "train_seconds": train_seconds}


def validate_model(model: Any, pairs: list, scale: int, device: Any = None) -> float:
    """Y-PSNR of the deployable form of `model` on `pairs`, run on `device` (default: the model's own)."""
    import torch

    import methods
    from repbench.evaluate import evaluate

    was_training = model.training
    try:
        try:
            net = methods.merge(model)  # the network that will be deployed, and faster to run
        except methods.NotMergeableError:
            net = model
        with torch.no_grad():
            return float(evaluate(net.eval(), pairs, scale, device=device or model_device(model))["psnr_y"])
    finally:
        model.train(was_training)


def deployable(model: Any) -> Any:
    import methods

    try:
        return methods.merge(model)
    except methods.NotMergeableError:
        return copy.deepcopy(model).eval()  # EDSR: the training-time net is the deployed one


def _has_bn(model: Any) -> bool:
    from torch import nn

    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


_StopFlag = StopFlag  # Ctrl-C or SIGTERM: checkpoint after the current step (repbench/stopsignals.py)


# ----------------------------------------------------------------------------- the loop


def train(
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    stop_after: int | None = None,
    loss_hook: Callable[[int, Any], Any] | None = None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
    on_config_change: str = "refuse",
) -> dict[str, Any]:
    """Train (or resume, or skip a finished run) into `run_dir`; return the train.json record.

    stop_after: checkpoint and stop once this many iterations are done, as Ctrl-C does
    (status "interrupted"; rerun to continue). loss_hook(iteration, loss) -> loss lets
    tests inject a bad loss. on_config_change: what to do when the folder holds work of
    another config, "refuse" or "supersede" (see repbench/runstate.py). The folder is
    locked for the whole call: a second trainer on it fails at once.
    """
    run_dir = Path(run_dir)
    with runlock.run_lock(run_dir):
        done = runstate.check_run_dir(run_dir, config_dict(cfg), config_dict(TrainConfig()), RUNTIME_FIELDS,
                                      on_config_change, log)
        return done if done is not None else _train_locked(cfg, run_dir, stop_after=stop_after, loss_hook=loss_hook, log=log)


def _train_locked(
    cfg: TrainConfig,
    run_dir: Path,
    *,
    stop_after: int | None,
    loss_hook: Callable[[int, Any], Any] | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    import methods
    from repbench.patches import PatchSampler, batch_loader
    from repbench.schedules import build_schedule

    # --- the folder: fresh, or resume with the same config (checked by train() under the lock) ---
    ckpt_path = run_dir / "checkpoints" / "last.pt"
    run_dir.mkdir(parents=True, exist_ok=True)
    write_yaml(run_dir / "config.yaml", config_dict(cfg))

    # --- determinism and device ---
    device = resolve_device(cfg.device, flag="--set device=")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic
        torch.backends.cudnn.deterministic = cfg.deterministic
    use_amp = cfg.amp and device.type == "cuda"
    workers = cfg.workers if cfg.workers >= 0 else (4 if device.type == "cuda" else 0)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)

    # --- data, model, optimizer ---
    train_pairs = _load_pairs(cfg.train_data, cfg.scale, "training")
    if cfg.val_data.startswith(HOLDOUT):
        train_pairs, val_pairs = split_holdout(train_pairs, _holdout_count(cfg.val_data))
    else:
        val_pairs = _load_pairs(cfg.val_data, cfg.scale, "validation") if cfg.val_data else []
    sampler = PatchSampler(
        train_pairs, cfg.scale, cfg.colors, cfg.batch_size, cfg.patch_size, seed=cfg.seed,
        patch_size_stage2=cfg.patch_size_stage2, stage2_start=cfg.stage2_start, augment=cfg.augment,
    )
    try:
        model = methods.build(cfg.method, cfg.size, cfg.scale, cfg.colors, **cfg.options)
    except ValueError as err:
        raise RepbenchError(str(err)) from err
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
    schedule = build_schedule(
        optimizer, cfg.schedule, cfg.lr, cfg.iterations,
        milestones=cfg.milestones, gamma=cfg.gamma, cycles=cfg.cycles, lr_min=cfg.lr_min, warmup=cfg.warmup,
    )
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    freeze_at = freeze_start(cfg) if _has_bn(model) else None

    start, train_seconds, bn_frozen_at, last_val = 0, 0.0, None, None
    if ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        _set_rng_states(ckpt["rng"], device)
        start, train_seconds = int(ckpt["iteration"]), float(ckpt["train_seconds"])
        bn_frozen_at, last_val = ckpt.get("bn_frozen_at"), ckpt.get("val_psnr")
        if bn_frozen_at is not None:
            methods.freeze_bn(model)
            if cfg.collapse_frozen:
                methods.collapse_linear(model)
        log(f"{run_dir}: resuming at iteration {start} of {cfg.iterations}")
    metrics = MetricsLog(run_dir / "metrics.csv", resume_at=start if start else None)
    pending_events = ["resumed"] if start else []

    def state(iteration: int) -> dict[str, Any]:
        return {
            "iteration": iteration,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": _rng_states(device),
            "sampler": {"seed": cfg.seed, "next_batch": iteration},  # batches are a function of (seed, t)
            "train_seconds": train_seconds,
            "bn_frozen_at": bn_frozen_at,
            "val_psnr": last_val,
        }

    from tqdm import tqdm

    bar = tqdm(
        total=cfg.iterations, initial=start, unit="it", dynamic_ncols=True,
        disable=not (cfg.progress and sys.stderr.isatty()), desc=f"{cfg.method}-{cfg.size}-x{cfg.scale}",
    )
    batches = batch_loader(sampler, start, cfg.iterations, workers, pin_memory=device.type == "cuda")
    loss_sum, loss_count = torch.zeros((), device=device), 0
    status, it = "complete", start
    try:
        with _StopFlag() as stop:
            tick = time.perf_counter()
            for t, lr_batch, hr_batch in batches:
                it = t + 1
                events, pending_events = pending_events, []
                if freeze_at is not None and t >= freeze_at and bn_frozen_at is None:
                    # The paper's frozen BN: population statistics from here on, affine params still train.
                    methods.freeze_bn(model)
                    if cfg.collapse_frozen:
                        methods.collapse_linear(model)
                    bn_frozen_at = it
                    events.append("bn_frozen")
                lr = schedule.apply(t)
                lr_batch = lr_batch.to(device, non_blocking=True)
                hr_batch = hr_batch.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                    loss = F.l1_loss(model(lr_batch).float(), hr_batch)
                if loss_hook is not None:
                    loss = loss_hook(it, loss)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if cfg.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                loss_sum += loss.detach()
                loss_count += 1
                bar.update(1)

                last = it == cfg.iterations
                stopping = stop.set or (stop_after is not None and it >= stop_after and not last)
                validate_now = bool(val_pairs) and ((cfg.val_every and it % cfg.val_every == 0) or last)
                checkpoint_now = it % cfg.checkpoint_every == 0 or (cfg.snapshot_every and it % cfg.snapshot_every == 0) or stopping
                if not (events or validate_now or checkpoint_now or last or it % cfg.log_every == 0):
                    continue

                # A log point: check the loss. .item() waits for every queued step, so it is also
                # where the clock reads true GPU time (one sync per log point, not per step).
                mean_loss = loss_sum.item() / loss_count
                train_seconds += time.perf_counter() - tick
                if not math.isfinite(mean_loss):
                    metrics.row(it, mean_loss, lr, train_seconds, None, events + ["nonfinite_loss"])
                    kept = load_checkpoint(ckpt_path)["iteration"] if ckpt_path.is_file() else None
                    where = f"the last good checkpoint (iteration {kept}) is kept" if kept else "no checkpoint was written yet"
                    raise RepbenchError(
                        f"the training loss became {mean_loss} by iteration {it} (lr {lr:.3g}); {where}. "
                        "The run diverged: lower lr or set grad_clip (e.g. --set grad_clip=1), in a new --run-dir"
                    )
                val = None
                if validate_now:
                    val = last_val = validate_model(model, val_pairs, cfg.scale, device)
                    if bar.disable:
                        log(f"iteration {it}/{cfg.iterations}: loss {mean_loss:.5f}, val Y-PSNR {val:.3f} dB")
                metrics.row(it, mean_loss, lr, train_seconds, val, events)
                bar.set_postfix(loss=f"{mean_loss:.4f}", **({"val": f"{last_val:.2f}"} if last_val else {}))
                loss_sum.zero_()
                loss_count = 0
                if checkpoint_now or last:
                    save_checkpoint(ckpt_path, state(it))
                    if cfg.snapshot_every and it % cfg.snapshot_every == 0:
                        save_checkpoint(run_dir / "checkpoints" / f"iter_{it:07d}.pt", state(it))
                if stopping:
                    metrics.row(it, None, lr, train_seconds, None, ["interrupted"])
                    status = "interrupted"
                    break
                tick = time.perf_counter()  # validation and checkpoint writes are not training time
    finally:
        bar.close()
        metrics.close()
        del batches  # shuts worker processes down

    if status == "interrupted":
        log(f"{run_dir}: stopped at iteration {it} of {cfg.iterations}; checkpoint saved, rerun the same command to resume")
        return {"status": "interrupted", "iteration": it, "run_dir": str(run_dir), "signal": stop.signum}

    # --- outputs of a finished run ---
    if val_pairs and last_val is None:
        last_val = validate_model(model, val_pairs, cfg.scale, device)
    model.eval()
    methods.save(model, run_dir / "final.pt")
    deployed = deployable(model)
    methods.save(deployed, run_dir / "deployed.pt")
    record = {
        "method": cfg.method,
        "size": cfg.size,
        "scale": cfg.scale,
        "colors": cfg.colors,
        "options": cfg.options,
        "train_data": cfg.train_data,
        "val_data": cfg.val_data,
        "iterations": cfg.iterations,
        "batch_size": cfg.batch_size,
        "patch_size": cfg.patch_size,
        "lr": cfg.lr,
        "schedule": cfg.schedule,
        "frozen_bn_fraction": cfg.frozen_bn_fraction,
        "train_seconds": train_seconds,
        "sec_per_iter": train_seconds / cfg.iterations,
        "budget": budget_record(cfg, train_seconds),
        "warmup": cfg.warmup,
        "device": device_name(device),
        "amp": use_amp,
        "workers": workers,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "params_train": methods.count_params(model),
        "params_deployed": methods.count_params(deployed),
        "mergeable": bool(deployed.build_args.get("merged")),
        "val_psnr": last_val,
        "bn_frozen_at": bn_frozen_at,
        "seed": cfg.seed,
        "status": "complete",
    }
    atomic.write_json(run_dir / "train.json", record)
    log(
        f"{run_dir}: done, {cfg.iterations} iterations in {train_seconds:.1f} s "
        f"({record['sec_per_iter']:.4f} s/iter)" + (f", val Y-PSNR {last_val:.3f} dB" if last_val is not None else "")
    )
    return record


# ----------------------------------------------------------------------------- merge


ONNX_TOLERANCE = 1e-4  # max |onnxruntime - PyTorch| accepted for deployed.onnx


def merge_run(run_dir: str | os.PathLike, opset: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write RUN/deployed.pt (from final.pt, if missing) and RUN/deployed.onnx, checked with onnxruntime."""
    import methods
    from repbench.onnx_export import OPSET, check_onnx, export_onnx

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RepbenchError(f"run folder {run_dir} does not exist")
    deployed_path, final_path = run_dir / "deployed.pt", run_dir / "final.pt"
    try:
        if deployed_path.is_file():
            deployed = methods.load(deployed_path)
        elif final_path.is_file():
            deployed = deployable(methods.load(final_path))
            methods.save(deployed, deployed_path)
            log(f"wrote {deployed_path}")
        else:
            raise RepbenchError(
                f"{run_dir} has neither deployed.pt nor final.pt; finish the run first (rerun `repbench train` on it)"
            )
    except ValueError as err:  # a corrupt or foreign model file
        raise RepbenchError(str(err)) from err
    onnx_path = export_onnx(deployed, run_dir / "deployed.onnx", opset=opset or OPSET)
    err = check_onnx(deployed, onnx_path)
    if err > ONNX_TOLERANCE:
        raise RepbenchError(f"{onnx_path} disagrees with PyTorch by {err:.3g} (> {ONNX_TOLERANCE}); do not deploy it")
    log(f"wrote {onnx_path} (onnxruntime vs PyTorch: max abs error {err:.2e})")
    return {"deployed": str(deployed_path), "onnx": str(onnx_path), "onnx_max_abs_err": err,
            "params": methods.count_params(deployed)}
