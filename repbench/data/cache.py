"""The prepared-pair cache: modcropped HR and MATLAB-bicubic LR per scale, built once, then loaded."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from repbench.data.download import archive_path
from repbench.data.registry import SCALES, Dataset, Pair, cache_root, get_dataset, load_registry, locked, override_env_var
from repbench.data.sources import Resolved, hr_images, resolve, source_fingerprint
from repbench.errors import RepbenchError
from repbench.scoring.images import list_images, read_image, write_image
from repbench.scoring.imresize import imresize, modcrop


def _scale_dir(name: str, scale: int) -> Path:
    return cache_root() / name / f"X{scale}"


def read_manifest(name: str, scale: int) -> dict | None:
    path = _scale_dir(name, scale) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _check_scale(scale: int) -> int:
    if scale not in SCALES:
        raise RepbenchError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    return int(scale)


def make_pair(name: str, hr: np.ndarray, scale: int) -> Pair:
    """Modcrop an HR image and make its MATLAB-bicubic LR (errors name the image)."""
    h, w = hr.shape[:2]
    if h < scale or w < scale:
        raise RepbenchError(f"image {name} is {w}x{h} pixels, smaller than the scale {scale}; remove it from the dataset")
    hr = modcrop(hr, scale)
    return Pair(name=name, hr=hr, lr=imresize(hr, 1.0 / scale))


def prepare(
    name: str,
    scales: tuple[int, ...] | list[int] = SCALES,
    path: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[int, Path]:
    """Materialise HR/LR pairs of `name` for each scale in the cache; skip what is up to date."""
    ds = get_dataset(name)
    scales = sorted({_check_scale(s) for s in scales})
    resolved = resolve(ds, path)
    fingerprint = source_fingerprint(ds, resolved)
    dirs = {s: _scale_dir(ds.name, s) for s in scales}
    # One preparer per dataset at a time (parallel pipeline jobs): the second waits, then finds it done.
    with locked(cache_root() / ds.name / ".lock"):
        _remove_stale_staging(cache_root() / ds.name)
        todo = [s for s in scales if (read_manifest(ds.name, s) or {}).get("fingerprint") != fingerprint]
        if todo:
            _build(ds, resolved, fingerprint, todo, dirs, progress)
    return dirs


_STAGING_PREFIXES = tuple(f".X{s}." for s in SCALES)  # tempfile.mkdtemp names made by _build


def _remove_stale_staging(folder: Path) -> list[Path]:
    """Delete staging folders left by a killed preparer. Call with the dataset's lock held:
    staging folders only exist while their preparer holds that lock, so every one found now is stale."""
    removed = []
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_dir() and entry.name.startswith(_STAGING_PREFIXES):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _build(ds: Dataset, resolved: Resolved, fingerprint: str, todo: list[int], dirs: dict[int, Path], progress: bool) -> None:

    images = hr_images(ds, resolved, progress)
    staging = {s: Path(tempfile.mkdtemp(dir=_ensure(cache_root() / ds.name), prefix=f".X{s}.")) for s in todo}
    entries: dict[int, list[dict]] = {s: [] for s in todo}
    try:
        with tqdm(total=len(images) * len(todo), desc=f"prepare {ds.name} x{','.join(map(str, todo))}",
                  unit="img", disable=not progress) as bar:
            for image, load in images:
                hr_full = load()
                for s in todo:
                    pair = make_pair(image, hr_full, s)
                    # Fast PNG compression: the cache is rebuilt from the source whenever needed.
                    write_image(staging[s] / "HR" / f"{image}.png", pair.hr, compress_level=1)
                    write_image(staging[s] / "LR" / f"{image}.png", pair.lr, compress_level=1)
                    entries[s].append({"name": image, "hr_shape": list(pair.hr.shape), "lr_shape": list(pair.lr.shape)})
                    bar.update(1)
        for s in todo:
            manifest = {
                "dataset": ds.name,
                "scale": s,
                "fingerprint": fingerprint,
                "source": resolved.source.kind,
                "location": str(resolved.folder or resolved.source.url or "scikit-image"),
                "resize": "matlab-bicubic symmetric",
                "images": entries[s],
            }
            (staging[s] / "manifest.json").write_text(json.dumps(manifest, indent=1))
            if dirs[s].exists():
                shutil.rmtree(dirs[s])
            os.replace(staging[s], dirs[s])
    finally:
        for tmp in staging.values():
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def pair_paths(name: str, scale: int, path: str | os.PathLike | None = None) -> list[tuple[str, Path, Path]]:
    """(image name, HR file, LR file) of the prepared cache, preparing it when needed.

    For training code that wants to read images lazily rather than hold them all.
    """
    ds = get_dataset(name)
    scale = _check_scale(scale)
    manifest = read_manifest(ds.name, scale)
    if manifest is None or path is not None or _stale(ds, scale, manifest):
        prepare(ds.name, [scale], path=path, progress=True)
        manifest = read_manifest(ds.name, scale)
        assert manifest is not None
    folder = _scale_dir(ds.name, scale)
    return [(e["name"], folder / "HR" / f"{e['name']}.png", folder / "LR" / f"{e['name']}.png") for e in manifest["images"]]


def _stale(ds: Dataset, scale: int, manifest: dict) -> bool:
    try:
        resolved = resolve(ds)
    except RepbenchError:
        return False  # the source is gone but the cache is whole: keep using it
    if resolved.source.kind == "download" and not archive_path(resolved.source).is_file():
        return False  # never start a download just to refresh a cache that is whole
    return manifest.get("fingerprint") != source_fingerprint(ds, resolved)


def load_pairs(name: str, scale: int, path: str | os.PathLike | None = None) -> list[Pair]:
    """HR (modcropped) / LR (MATLAB bicubic) pairs of a registered dataset, from the cache."""
    return [Pair(n, read_image(hr), read_image(lr)) for n, hr, lr in pair_paths(name, scale, path)]


def pairs_from_folder(folder: str | os.PathLike, scale: int) -> list[Pair]:
    """Pairs made on the fly from a folder of HR images (no cache): `repbench eval --dataset-dir`."""
    scale = _check_scale(scale)
    return [make_pair(p.stem, read_image(p), scale) for p in list_images(folder)]


def iter_status() -> Iterator[dict]:
    """One row per registered dataset for `repbench data list`."""
    registry, _ = load_registry()
    for ds in registry.values():
        prepared = [s for s in SCALES if read_manifest(ds.name, s)]
        try:
            resolved = resolve(ds)
            kind = resolved.source.kind
            where = str(resolved.folder) if resolved.folder else (resolved.source.url or "scikit-image")
            if kind == "download" and not archive_path(resolved.source).is_file():
                where = f"{where} (not downloaded)"
        except RepbenchError:
            kind, where = "missing", f"set {override_env_var(ds.name)} or use --path"
        yield {
            "name": ds.name,
            "role": ds.role,
            "source": kind,
            "location": where,
            "prepared": prepared,
            "available": available(ds.name),
            "description": ds.description,
        }


def available(name: str) -> bool:
    """True when `name` can be loaded without the network: prepared, local, embedded or already downloaded."""
    try:
        ds = get_dataset(name)
    except RepbenchError:
        return False
    if any(read_manifest(ds.name, s) for s in SCALES):
        return True
    try:
        resolved = resolve(ds)
    except RepbenchError:
        return False
    if resolved.source.kind == "download":
        return archive_path(resolved.source).is_file()
    return True


def default_dataset(role: str) -> str:
    """The first available dataset in the registry's default list for `role`."""
    registry, defaults = load_registry()
    for name in defaults.get(role, []):
        if name in registry and available(name):
            return name
    raise RepbenchError(f"no {role} dataset is available; run `repbench data list` to see the options")
