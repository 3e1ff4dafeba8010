"""Downloads: checksum-verified, resumable, and archives unpacked once.

Why not pooch: pooch streams each download into a fresh temporary file and deletes it when the
transfer fails, so an interrupted DIV2K archive (0.45 GB valid, 3.5 GB train) starts again from
zero; here the partial `.part` file is resumed with an HTTP Range request. pooch is not a
dependency either (it would add requests and platformdirs) for what is one function here.
The lock (registry.locked) is a plain flock; see registry.py for why not filelock.
"""
from __future__ import annotations

import fnmatch
import hashlib
import http.client
import os
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Any
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from repbench.data.registry import CHUNK, Dataset, Source, cache_root, downloads_root, locked
from repbench.errors import RepbenchError


def file_digest(path: Path, algo: str) -> str:
    """The hex digest of a file, read in chunks (archives and checkpoints can be large)."""
    digest = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, sha256: str | None, md5: str | None) -> tuple[bool, str, str]:
    """(ok, algorithm, actual digest)."""
    algo, expected = ("sha256", sha256) if sha256 else ("md5", md5)
    actual = file_digest(path, algo)
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
    with locked(dest.with_name(dest.name + ".lock")):
        return _download_unlocked(url, dest, sha256, md5, size, progress, timeout)


def _open(url: str, dest: Path, offset: int, timeout: float) -> Any:
    """The HTTP response for `url` from byte `offset` on; None when the partial file is already whole."""
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
    return response


def _receive(response: Any, url: str, dest: Path, part: Path, offset: int, size: int | None, progress: bool) -> None:
    """Append the response's bytes to `part` (or start it over where the server ignored Range)."""
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
                for chunk in iter(lambda: response.read(CHUNK), b""):
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


def _download_unlocked(
    url: str, dest: Path, sha256: str | None, md5: str | None, size: int | None, progress: bool, timeout: float
) -> Path:

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

    response = _open(url, dest, offset, timeout)
    if response is not None:
        _receive(response, url, dest, part, offset, size, progress)

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


def extract(ds: Dataset, src: Source, progress: bool) -> Path:
    """Download the archive (once) and extract the matching HR members into the cache."""

    target = cache_root() / ds.name / "source"
    marker = target / ".complete"
    if marker.is_file() and marker.read_text().strip() == (src.sha256 or src.md5):
        return target
    archive = download(src.url, archive_path(src), sha256=src.sha256, md5=src.md5, size=src.size, progress=progress)  # type: ignore[arg-type]
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


def archive_path(source: Source) -> Path:
    filename = PurePosixPath(urllib.parse.urlparse(source.url or "").path).name or "download"
    return downloads_root() / filename
