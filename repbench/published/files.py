"""Where a released checkpoint's bytes come from: the cache, a local copy, or a download.

One path for every registered model: a file in the cache (data/downloads/checkpoints/) is used
once its sha256 matches; else a local copy ($REPBENCH_SHARED_CHECKPOINTS, or ../shared/checkpoints
beside the checkout) is verified and copied into the cache; else the file is downloaded through the
datasets' resumable, checksum-verified `download`. Every way in ends with a verified file under its
final name (a copy goes through a temporary file and a rename), so the cache never holds half a file.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from repbench.data.download import file_digest, download
from repbench.data.registry import locked, repo_root
from repbench.errors import RepbenchError
from repbench.published.registry import PublishedModel


def checkpoints_cache() -> Path:
    env = os.environ.get("REPBENCH_CHECKPOINTS")
    return Path(env).expanduser() if env else repo_root() / "data" / "downloads" / "checkpoints"


def local_copies() -> Path:
    """A folder of released files put there by hand or shipped beside the checkout (never committed)."""
    env = os.environ.get("REPBENCH_SHARED_CHECKPOINTS")
    return Path(env).expanduser() if env else repo_root().parent / "shared" / "checkpoints"


def sha256_of(path: Path) -> str:
    return file_digest(path, "sha256")


def _copy_verified(src: Path, dest: Path, sha256: str) -> Path:
    actual = sha256_of(src)
    if actual != sha256:
        raise RepbenchError(f"{src} has sha256 {actual}, not the registry's {sha256}: it is another file (or a "
                            "damaged copy); replace it with the released file or delete it")
    tmp = dest.with_name(f".{dest.name}.copy")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


def fetch(model: PublishedModel, offline: bool = False, progress: bool = True) -> Path:
    """The verified file of `model` in the cache, copied or downloaded there if needed."""
    cache = checkpoints_cache()
    dest = cache / model.file
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / f".{model.file}.lock"):
        if dest.is_file():
            actual = sha256_of(dest)
            if actual == model.sha256:
                return dest
            raise RepbenchError(f"{dest} has sha256 {actual}, not the registry's {model.sha256} for {model.name!r}: "
                                "delete it and run again to fetch the released file")
        local = local_copies() / model.file
        if local.is_file():
            return _copy_verified(local, dest, model.sha256)
    if offline:
        raise RepbenchError(_missing(model, dest))
    try:
        return download(model.url, dest, sha256=model.sha256, progress=progress)
    except RepbenchError as err:
        raise RepbenchError(f"{err}\n{_missing(model, dest)}") from err


def _missing(model: PublishedModel, dest: Path) -> str:
    return (f"the released checkpoint of {model.name!r} ({model.file}) is not here: download it from {model.url} "
            f"(sha256 {model.sha256}) and put it at {dest} or in {local_copies()}")
