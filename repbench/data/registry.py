"""The dataset registry (data/datasets.yaml): datasets, their sources, and where files live."""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from repbench.errors import RepbenchError
from repbench.yamlfile import read_yaml

ROLES = ("train", "test")
KINDS = ("local", "download", "embedded")
SCALES = (2, 3, 4)
# Bump when the prepared files would change (resize port, conversions): old caches are rebuilt.
CACHE_FORMAT = 1
CHUNK = 1 << 20


@dataclass(eq=False)  # arrays inside: compare fields explicitly
class Pair:
    name: str
    hr: np.ndarray  # uint8 HxWxC, modcropped to a multiple of the scale
    lr: np.ndarray  # uint8 (H/s)x(W/s)xC, MATLAB bicubic


@dataclass(frozen=True)
class Source:
    kind: str
    path: str | None = None  # local
    url: str | None = None  # download
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    archive: str | None = None  # "zip" or "tar" (any tar compression)
    members: str | None = None  # glob over archive member names
    images: tuple[str, ...] = ()  # embedded: file names in scikit-image's data folder


@dataclass(frozen=True)
class Dataset:
    name: str
    role: str
    description: str = ""
    sources: tuple[Source, ...] = field(default_factory=tuple)
    aliases: tuple[str, ...] = ()  # other spellings users may type (e.g. an old name); resolved by get_dataset


def repo_root() -> Path:
    """The checkout holding `repbench/` (editable install), else the current directory."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").is_file() or (candidate / "data" / "datasets.yaml").is_file():
        return candidate
    return Path.cwd()


def registry_path() -> Path:
    env = os.environ.get("REPBENCH_DATASETS_YAML")
    return Path(env).expanduser() if env else repo_root() / "data" / "datasets.yaml"


def datasets_root() -> Path:
    """Where registered local datasets live: $REPBENCH_SHARED_DATASETS or ../shared/datasets."""
    env = os.environ.get("REPBENCH_SHARED_DATASETS")
    return Path(env).expanduser() if env else repo_root().parent / "shared" / "datasets"


def cache_root() -> Path:
    env = os.environ.get("REPBENCH_DATA_CACHE")
    return Path(env).expanduser() if env else repo_root() / "data" / "cache"


def downloads_root() -> Path:
    env = os.environ.get("REPBENCH_DATA_DOWNLOADS")
    if env:
        return Path(env).expanduser()
    if os.environ.get("REPBENCH_DATA_CACHE"):  # one user-chosen folder holds everything
        return cache_root() / "downloads"
    return repo_root() / "data" / "downloads"


def override_env_var(name: str) -> str:
    return "REPBENCH_DATA_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _parse_source(ds_name: str, raw: object) -> Source:
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise RepbenchError(f"dataset {ds_name!r} in {registry_path()}: each source needs kind: one of {', '.join(KINDS)}")
    kind = raw["kind"]
    known = {"kind", "path", "url", "sha256", "md5", "size", "archive", "members", "images"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RepbenchError(f"dataset {ds_name!r} in {registry_path()}: unknown source field(s) {', '.join(unknown)}")
    if kind == "local" and not raw.get("path"):
        raise RepbenchError(f"dataset {ds_name!r}: a local source needs a path")
    if kind == "download":
        missing = [k for k in ("url", "archive", "members") if not raw.get(k)]
        if missing:
            raise RepbenchError(f"dataset {ds_name!r}: a download source needs {', '.join(missing)}")
        if raw["archive"] not in ("zip", "tar"):
            raise RepbenchError(f"dataset {ds_name!r}: archive must be zip or tar, got {raw['archive']!r}")
        if not (raw.get("sha256") or raw.get("md5")):
            raise RepbenchError(f"dataset {ds_name!r}: a download source needs a sha256 (or md5) checksum")
    if kind == "embedded" and not raw.get("images"):
        raise RepbenchError(f"dataset {ds_name!r}: an embedded source needs a list of images")
    return Source(
        kind=kind,
        path=raw.get("path"),
        url=raw.get("url"),
        sha256=(raw.get("sha256") or None) and str(raw["sha256"]).lower(),
        md5=(raw.get("md5") or None) and str(raw["md5"]).lower(),
        size=int(raw["size"]) if raw.get("size") else None,
        archive=raw.get("archive"),
        members=raw.get("members"),
        images=tuple(raw.get("images") or ()),
    )


def load_registry() -> tuple[dict[str, Dataset], dict[str, list[str]]]:
    """All registered datasets (in file order) and the per-role default lists."""
    path = registry_path()
    if not path.is_file():
        raise RepbenchError(f"dataset registry {path} not found; run from the repbench checkout or set REPBENCH_DATASETS_YAML")
    raw = read_yaml(path, "dataset registry") or {}
    entries = raw.get("datasets")
    if not isinstance(entries, dict) or not entries:
        raise RepbenchError(f"dataset registry {path} has no 'datasets:' mapping")
    registry: dict[str, Dataset] = {}
    for name, body in entries.items():
        if not isinstance(body, dict) or body.get("role") not in ROLES:
            raise RepbenchError(f"dataset {name!r} in {path}: role must be one of {', '.join(ROLES)}")
        sources = body.get("sources")
        if not isinstance(sources, list) or not sources:
            raise RepbenchError(f"dataset {name!r} in {path}: needs a non-empty 'sources:' list")
        registry[str(name)] = Dataset(
            name=str(name),
            role=body["role"],
            description=str(body.get("description", "")),
            sources=tuple(_parse_source(str(name), s) for s in sources),
            aliases=tuple(str(a) for a in body.get("aliases") or ()),
        )
    defaults = {role: [str(n) for n in (raw.get("defaults") or {}).get(role, [])] for role in ROLES}
    return registry, defaults


def get_dataset(name: str) -> Dataset:
    """A registered dataset by name or alias, case-insensitively."""
    registry, _ = load_registry()
    if name in registry:
        return registry[name]
    folded = {k.lower(): v for k, v in registry.items()}
    folded.update({a.lower(): v for v in registry.values() for a in v.aliases if a.lower() not in folded})
    if name.lower() in folded:
        return folded[name.lower()]
    raise RepbenchError(f"unknown dataset {name!r}; registered: {', '.join(registry)} (see `repbench data list`)")


# Why not filelock: it is not a declared dependency (it comes with torch, in whatever major
# version torch pins, and 3.x and 4.x differ in how they open and remove the lock file), and the
# lock needed here is a blocking flock on POSIX, which the kernel drops when its holder dies.
@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        try:
            import fcntl
        except ImportError:  # not POSIX: no inter-process lock
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
