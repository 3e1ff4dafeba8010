"""The dataset registry (data/datasets.yaml), the prepared-pair cache, and downloads.

`load_pairs(name, scale)` is the one call most code needs: it returns HR images
modcropped to a multiple of `scale` with their MATLAB-bicubic LR, preparing the
cache first when it is missing or out of date. Cache layout, per dataset and scale:

    <cache>/<name>/X<s>/HR/<image>.png     HR, modcropped
    <cache>/<name>/X<s>/LR/<image>.png     imresize(HR, 1/s), symmetric border
    <cache>/<name>/X<s>/manifest.json      written last; records the source fingerprint

A scale whose manifest matches the current source is never rebuilt (idempotent).
"""
from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import http.client
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import numpy as np

from repbench.errors import RepbenchError
from repbench.images import list_images, read_image, write_image
from repbench.imresize import imresize, modcrop

ROLES = ("train", "test")
KINDS = ("local", "download", "embedded")
SCALES = (2, 3, 4)
# Bump when the prepared files would change (resize port, conversions): old caches are rebuilt.
CACHE_FORMAT = 1
_CHUNK = 1 << 20


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


# ----------------------------------------------------------------------------- locations


def repo_root() -> Path:
    """The checkout holding `repbench/` (editable install), else the current directory."""
    candidate = Path(__file__).resolve().parent.parent
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


# ----------------------------------------------------------------------------- registry


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
    import yaml

    path = registry_path()
    if not path.is_file():
        raise RepbenchError(f"dataset registry {path} not found; run from the repbench checkout or set REPBENCH_DATASETS_YAML")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RepbenchError(f"dataset registry {path} is not valid YAML: {err}") from err
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
        )
    defaults = {role: [str(n) for n in (raw.get("defaults") or {}).get(role, [])] for role in ROLES}
    return registry, defaults


def get_dataset(name: str) -> Dataset:
    registry, _ = load_registry()
    if name in registry:
        return registry[name]
    folded = {k.lower(): v for k, v in registry.items()}
    if name.lower() in folded:
        return folded[name.lower()]
    raise RepbenchError(f"unknown dataset {name!r}; registered: {', '.join(registry)} (see `repbench data list`)")


def default_dataset(role: str) -> str:
    """The first available dataset in the registry's default list for `role`."""
    registry, defaults = load_registry()
    for name in defaults.get(role, []):
        if name in registry and available(name):
            return name
    raise RepbenchError(f"no {role} dataset is available; run `repbench data list` to see the options")


# ----------------------------------------------------------------------------- sources


def _local_folder(source: Source) -> Path:
    text = os.path.expandvars(str(source.path)).replace("{datasets_root}", str(datasets_root()))
    return Path(text).expanduser()


@dataclass(frozen=True)
class _Resolved:
    """The source a dataset will be built from, after overrides and existence checks."""

    source: Source
    folder: Path | None = None  # local folder (or an override)


def _resolve(ds: Dataset, path: str | os.PathLike | None = None) -> _Resolved:
    override = path or os.environ.get(override_env_var(ds.name))
    if override:
        folder = Path(override).expanduser()
        return _Resolved(Source(kind="local", path=str(folder)), folder)
    missing: list[str] = []
    for source in ds.sources:
        if source.kind == "local":
            folder = _local_folder(source)
            if folder.is_dir():
                return _Resolved(source, folder)
            missing.append(str(folder))
        else:
            return _Resolved(source)
    raise RepbenchError(
        f"dataset {ds.name!r} is not present: folder {', '.join(missing)} does not exist. "
        f"Point it at your HR images with {override_env_var(ds.name)}=/path/to/HR or `--path`"
    )


def _embedded_folder() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def _archive_path(source: Source) -> Path:
    filename = PurePosixPath(urllib.parse.urlparse(source.url or "").path).name or "download"
    return downloads_root() / filename


def _fingerprint(ds: Dataset, resolved: _Resolved) -> str:
    """Changes whenever the images a prepare would read change."""
    src = resolved.source
    if src.kind == "local":
        assert resolved.folder is not None
        files = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in list_images(resolved.folder)]
        blob = json.dumps(["local", str(resolved.folder.resolve()), files])
    elif src.kind == "download":
        blob = json.dumps(["download", src.url, src.sha256, src.md5, src.members])
    else:
        import skimage

        blob = json.dumps(["embedded", skimage.__version__, list(src.images)])
    return hashlib.sha256(f"{CACHE_FORMAT}:{blob}".encode()).hexdigest()[:16]


def _hr_images(ds: Dataset, resolved: _Resolved, progress: bool) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """(image name, loader) for every HR image of the resolved source, sorted by name."""
    src = resolved.source
    if src.kind == "local":
        assert resolved.folder is not None
        files = list_images(resolved.folder)
    elif src.kind == "embedded":
        folder = _embedded_folder()
        files = []
        for image in src.images:
            file = folder / image
            if not file.is_file():
                raise RepbenchError(
                    f"dataset {ds.name!r}: scikit-image has no bundled {image} (looked in {folder}); "
                    "update data/datasets.yaml for this scikit-image version"
                )
            files.append(file)
    else:
        files = list_images(_extract(ds, src, progress))
    stems: dict[str, Path] = {}
    for file in files:
        if file.stem in stems:
            raise RepbenchError(f"dataset {ds.name!r}: two images share the name {file.stem!r}: {stems[file.stem]} and {file}")
        stems[file.stem] = file
    return [(stem, (lambda f=file: read_image(f))) for stem, file in sorted(stems.items())]


# ----------------------------------------------------------------------------- downloads


def _hash_file(path: Path, algo: str) -> str:
    digest = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, sha256: str | None, md5: str | None) -> tuple[bool, str, str]:
    """(ok, algorithm, actual digest)."""
    algo, expected = ("sha256", sha256) if sha256 else ("md5", md5)
    actual = _hash_file(path, algo)
    return actual == expected, algo, actual


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    md5: str | None = None,
    size: int | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download `url` to `dest`, resuming a partial `dest.part` with an HTTP Range request.

    The checksum is verified before the file takes its final name, so an existing
    `dest` is always complete. A wrong checksum deletes the partial file and raises.
    """
    if not (sha256 or md5):
        raise RepbenchError(f"refusing to download {url} without a checksum to verify it against")
    dest = Path(dest)
    # Several datasets can share one archive: never let two processes append to the same .part.
    with _locked(dest.with_name(dest.name + ".lock")):
        return _download_unlocked(url, dest, sha256, md5, size, progress, timeout)


def _download_unlocked(
    url: str, dest: Path, sha256: str | None, md5: str | None, size: int | None, progress: bool, timeout: float
) -> Path:
    from tqdm import tqdm

    if dest.is_file():
        ok, algo, actual = _verify(dest, sha256, md5)
        if ok:
            return dest
        raise RepbenchError(
            f"{dest} exists but its {algo} is {actual}, not {sha256 or md5}; delete it and run again to re-download"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0

    headers = {"User-Agent": "repbench"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to fetch: the partial file is already whole
            response = None
        else:
            raise RepbenchError(f"downloading {url} failed: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise RepbenchError(
            f"cannot download {url} ({getattr(err, 'reason', err)}); check the network, or fetch the file "
            f"yourself and put it at {dest}"
        ) from err

    if response is not None:
        with response:
            resumed = offset > 0 and response.status == 206
            if offset and not resumed:
                offset = 0  # the server ignored Range: start over
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length else size
            try:
                with open(part, "ab" if resumed else "wb") as fh, tqdm(
                    total=total, initial=offset, unit="B", unit_scale=True, desc=dest.name, disable=not progress
                ) as bar:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        fh.write(chunk)
                        bar.update(len(chunk))
            except (OSError, urllib.error.URLError, http.client.HTTPException) as err:
                raise RepbenchError(
                    f"download of {url} was interrupted after {part.stat().st_size} bytes ({err}); "
                    "run the same command again to resume"
                ) from err
        got = part.stat().st_size
        if length and got < offset + int(length):
            raise RepbenchError(
                f"download of {url} stopped after {got} of {offset + int(length)} bytes; run the same command again to resume"
            )

    ok, algo, actual = _verify(part, sha256, md5)
    if not ok:
        part.unlink()
        raise RepbenchError(
            f"checksum mismatch for {url}: expected {algo} {sha256 or md5}, got {actual}. "
            "The partial file was deleted; run again to retry, and if it persists the registry's checksum "
            "or the server's file has changed"
        )
    os.replace(part, dest)
    return dest


def _extract(ds: Dataset, src: Source, progress: bool) -> Path:
    """Download the archive (once) and extract the matching HR members into the cache."""
    from tqdm import tqdm

    target = cache_root() / ds.name / "source"
    marker = target / ".complete"
    if marker.is_file() and marker.read_text().strip() == (src.sha256 or src.md5):
        return target
    archive = download(src.url, _archive_path(src), sha256=src.sha256, md5=src.md5, size=src.size, progress=progress)  # type: ignore[arg-type]
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    count = 0
    try:
        if src.archive == "zip":
            with zipfile.ZipFile(archive) as zf:
                names = [n for n in zf.namelist() if fnmatch.fnmatch(n, src.members) and not n.endswith("/")]  # type: ignore[arg-type]
                for name in tqdm(names, desc=f"extract {ds.name}", disable=not progress):
                    (target / Path(name).name).write_bytes(zf.read(name))  # basename only: no path escapes
                    count += 1
        else:
            with tarfile.open(archive) as tf:
                members = [m for m in tf.getmembers() if m.isfile() and fnmatch.fnmatch(m.name, src.members)]  # type: ignore[arg-type]
                for member in tqdm(members, desc=f"extract {ds.name}", disable=not progress):
                    data = tf.extractfile(member)
                    assert data is not None
                    (target / Path(member.name).name).write_bytes(data.read())
                    count += 1
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as err:
        raise RepbenchError(f"cannot extract {archive}: {err}; delete it and run again") from err
    if count == 0:
        raise RepbenchError(f"archive {archive} has no member matching {src.members!r}; the registry entry for {ds.name!r} is wrong")
    marker.write_text(src.sha256 or src.md5 or "")
    return target


# ----------------------------------------------------------------------------- prepare / load


def _scale_dir(name: str, scale: int) -> Path:
    return cache_root() / name / f"X{scale}"


def _read_manifest(name: str, scale: int) -> dict | None:
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
    resolved = _resolve(ds, path)
    fingerprint = _fingerprint(ds, resolved)
    dirs = {s: _scale_dir(ds.name, s) for s in scales}
    # One preparer per dataset at a time (parallel pipeline jobs): the second waits, then finds it done.
    with _locked(cache_root() / ds.name / ".lock"):
        _remove_stale_staging(cache_root() / ds.name)
        todo = [s for s in scales if (_read_manifest(ds.name, s) or {}).get("fingerprint") != fingerprint]
        if todo:
            _build(ds, resolved, fingerprint, todo, dirs, progress)
    return dirs


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
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


def _build(ds: Dataset, resolved: _Resolved, fingerprint: str, todo: list[int], dirs: dict[int, Path], progress: bool) -> None:
    from tqdm import tqdm

    images = _hr_images(ds, resolved, progress)
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
    manifest = _read_manifest(ds.name, scale)
    if manifest is None or path is not None or _stale(ds, scale, manifest):
        prepare(ds.name, [scale], path=path, progress=True)
        manifest = _read_manifest(ds.name, scale)
        assert manifest is not None
    folder = _scale_dir(ds.name, scale)
    return [(e["name"], folder / "HR" / f"{e['name']}.png", folder / "LR" / f"{e['name']}.png") for e in manifest["images"]]


def _stale(ds: Dataset, scale: int, manifest: dict) -> bool:
    try:
        resolved = _resolve(ds)
    except RepbenchError:
        return False  # the source is gone but the cache is whole: keep using it
    if resolved.source.kind == "download" and not _archive_path(resolved.source).is_file():
        return False  # never start a download just to refresh a cache that is whole
    return manifest.get("fingerprint") != _fingerprint(ds, resolved)


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
        prepared = [s for s in SCALES if _read_manifest(ds.name, s)]
        try:
            resolved = _resolve(ds)
            kind = resolved.source.kind
            where = str(resolved.folder) if resolved.folder else (resolved.source.url or "scikit-image")
            if kind == "download" and not _archive_path(resolved.source).is_file():
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
    if any(_read_manifest(ds.name, s) for s in SCALES):
        return True
    try:
        resolved = _resolve(ds)
    except RepbenchError:
        return False
    if resolved.source.kind == "download":
        return _archive_path(resolved.source).is_file()
    return True
