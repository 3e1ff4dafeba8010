"""What a run folder already holds, and what `repbench train` may do with it.

A folder is resumed only with the config it was started with (runtime-only fields such as
device or threads may differ). A different config either is refused (the default: a
mistyped --run-dir must not clobber a finished run) or, when the caller asks for it
(the pipeline, whose preset was edited), supersedes the old run: its files move to
RUN/superseded/<time>-<config hash>/ and training starts afresh. Nothing finished is
deleted and the old run's checkpoint is never mixed into the new one.

Checkpoints are only written with finite tensors, so "the last good checkpoint" is good.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import yaml

from repbench.errors import RepbenchError
from repbench.training.runlock import LOCK_NAME

ON_CONFIG_CHANGE = ("refuse", "supersede")
SUPERSEDED = "superseded"
# Files that show work was done in a folder; without any of them there is nothing to lose.
_PROGRESS = ("checkpoints", "final.pt", "deployed.pt", "train.json")


def _read_yaml(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def stored_config(run_dir: Path, fields: Mapping[str, Any],
                  renamed: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The folder's config.yaml, fields renamed since it was written under their new names; for a
    finished run without one, the config fields train.json records."""
    stored = _read_yaml(run_dir / "config.yaml")
    if stored is not None:
        return {(renamed or {}).get(k, k): v for k, v in stored.items()}
    record = _read_json(run_dir / "train.json")
    if record is not None:
        return {k: v for k, v in record.items() if k in fields}
    return None


def config_diff(stored: Mapping[str, Any], current: Mapping[str, Any], defaults: Mapping[str, Any],
                ignore: frozenset[str]) -> dict[str, tuple[Any, Any]]:
    """{field: (stored, current)} for every field that changes what is computed.

    A field the stored config does not name (written before the field existed) counts as
    its default, so adding a field with a neutral default does not orphan older runs.
    """
    diff = {}
    for key, value in current.items():
        if key in ignore:
            continue
        old = stored.get(key, defaults.get(key))
        if old != value:
            diff[key] = (old, value)
    return diff


def has_progress(run_dir: Path) -> bool:
    ckpts = run_dir / "checkpoints"
    return any((run_dir / name).is_file() for name in _PROGRESS[1:]) or (ckpts.is_dir() and any(ckpts.iterdir()))


def config_hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]


def supersede(run_dir: Path, old_config: Mapping[str, Any]) -> Path:
    """Move the folder's run files into RUN/superseded/<UTC time>-<hash of the old config>/.

    The lock, earlier superseded runs and *.log files stay: a log may be the open output of
    the job that is running now (Snakemake redirects `repbench train` into RUN/train.log).
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = run_dir / SUPERSEDED / f"{stamp}-{config_hash(old_config)}"
    dest, n = base, 1
    while dest.exists():
        n += 1
        dest = base.with_name(f"{base.name}-{n}")
    dest.mkdir(parents=True)
    for entry in sorted(run_dir.iterdir()):
        if entry.name in (LOCK_NAME, SUPERSEDED) or (entry.is_file() and entry.suffix == ".log"):
            continue
        os.replace(entry, dest / entry.name)  # same file system: a rename, atomic per entry
    return dest


def _describe(diff: Mapping[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{k}: {a!r} in the folder vs {b!r} now" for k, (a, b) in diff.items())


def check_run_dir(
    run_dir: Path,
    config: Mapping[str, Any],
    defaults: Mapping[str, Any],
    runtime_fields: frozenset[str],
    on_config_change: str,
    log: Callable[[str], None],
    renamed: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """Decide what to do with `run_dir` before training into it (call with the run lock held).

    Returns the train.json record when the folder holds a finished run of this config
    (nothing to do); None when training should start or resume. Raises RepbenchError when
    the folder holds another config's work and `on_config_change` is "refuse".
    """
    if on_config_change not in ON_CONFIG_CHANGE:
        raise RepbenchError(f"on_config_change must be one of {', '.join(ON_CONFIG_CHANGE)}, got {on_config_change!r}")
    record = _read_json(run_dir / "train.json")
    complete = bool(record and record.get("status") == "complete")
    stored = stored_config(run_dir, config, renamed)
    diff = config_diff(stored, config, defaults, runtime_fields) if stored is not None else {}
    if not diff:
        if complete:
            log(f"{run_dir}: already complete ({record.get('iterations')} iterations); nothing to do")
            return record
        return None
    if not has_progress(run_dir):
        return None  # a start that never checkpointed: nothing to keep
    what = "a finished run" if complete else "an unfinished run"
    if on_config_change == "refuse":
        raise RepbenchError(
            f"{run_dir} holds {what} with another config ({_describe(diff)}). Use a new --run-dir; "
            f"or pass --on-config-change supersede to move the old run to {run_dir / SUPERSEDED}/ and train "
            "afresh; or delete the folder to start over"
        )
    dest = supersede(run_dir, stored or {})
    log(f"{run_dir}: the config changed ({_describe(diff)}); the old run moved to {dest}, training afresh")
    return None


# ----------------------------------------------------------------------------- checkpoint sanity


def _tensors(obj: Any, prefix: str) -> Any:
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _tensors(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{prefix}[{i}]")


def nonfinite_tensors(state: Mapping[str, Any], keys: tuple[str, ...] = ("model", "optimizer")) -> list[str]:
    """Names of the floating-point tensors under `keys` of a checkpoint that hold inf or NaN."""
    bad = []
    for key in keys:
        for name, t in _tensors(state.get(key, {}), key):
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                bad.append(name)
    return bad


def refuse_nonfinite(path: Path, state: Mapping[str, Any], kept_iteration: Callable[[Path], int | None]) -> None:
    """Raise RepbenchError instead of writing a checkpoint whose weights or Adam moments are inf/NaN.

    The loss is checked before a step, so a step with an absurd learning rate can poison the
    weights while every logged loss looked fine; the checkpoint on disk stays the last good one.
    """
    bad = nonfinite_tensors(state)
    if not bad:
        return
    groups = (state.get("optimizer") or {}).get("param_groups") or [{}]
    lr = groups[0].get("lr")
    kept = kept_iteration(path) if path.is_file() else None
    where = f"the last good checkpoint (iteration {kept}) is kept" if kept else "no checkpoint was written"
    lr_text = f" (lr {lr:.3g})" if isinstance(lr, float) and math.isfinite(lr) else ""
    raise RepbenchError(
        f"the weights became inf/NaN by iteration {state.get('iteration')}{lr_text}, first in {bad[0]}; {where}. "
        "The run diverged: lower lr or set grad_clip (e.g. --set grad_clip=1), in a new --run-dir"
    )
