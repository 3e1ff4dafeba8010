"""Atomic file writes: a temp file in the same folder, then a rename.

Readers (a report running beside a training job, a resumed run after a crash) see the
old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from repbench.outputs import write_error


def default_mode() -> int:
    """The mode an ordinary new file gets here: 0o666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; it replaces `path` only if the block succeeds.

    An OSError on the way (read-only folder, a folder named like the file, a full disk) becomes a
    RepbenchError naming `path`: commands check their outputs before working (repbench.outputs),
    and this is the backstop for what such a check cannot foresee."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise write_error(path, err) from err
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_mode())  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except OSError as err:
        raise write_error(path, err) from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, non-finite floats to None.

    PSNR of identical images is infinite, and strict JSON has no infinity: it is written as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | os.PathLike, obj: Any, strict: bool = False) -> Path:
    """Indented JSON, atomically. strict: numpy scalars made plain and non-finite numbers written as null."""
    if strict:
        return write_text(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")
    return write_text(path, json.dumps(obj, indent=2) + "\n")
