"""Output paths checked before any work: a command that would fail to write its result after minutes
of computing refuses at once instead, with one line that says what to change.

Three ways an output cannot be written, each its own message:

* a folder stands where a file is to go (or a file where a folder is to go);
* the path lies under an existing file (out.json/x.json), which no mkdir can turn into a folder;
* its folder cannot be created or written (a read-only file system, no permission, /proc).

The last one is only known by trying: a temporary file is created and removed in the folder that
will hold the output or, where that folder does not exist yet, in its nearest existing ancestor,
where the first missing folder would be created. Nothing is left behind, not even an empty folder:
a command refused later for another reason (no runs to report) leaves the file system as it was.

`write_error` is the backstop for what no check can foresee (a disk that fills up while writing):
repbench.atomic turns every OSError of a write into it. Torch-free and light: the CLI handlers call
this before importing anything heavy.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from repbench.errors import RepbenchError

_PROBE_PREFIX = ".repbench-write-check."


def write_error(path: str | os.PathLike, err: OSError) -> RepbenchError:
    """The one-line error for an OSError while writing `path`."""
    reason = err.strerror or str(err) or type(err).__name__
    return RepbenchError(f"cannot write {path}: {reason}; choose another output path")


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of `path` that exists (the root always does)."""
    return next(p for p in path.absolute().parents if os.path.lexists(p))


def _refuse_under_a_file(path: Path, what: str) -> None:
    ancestor = _existing_ancestor(path)
    if not ancestor.is_dir():
        raise RepbenchError(f"{what} {path} lies under {ancestor}, which is a file, not a folder; "
                            "choose another output path")


def _probe(folder: Path, path: Path, what: str) -> None:
    """Create and remove a temporary file where `folder` is, or would be created."""
    where = next(p for p in (folder.absolute(), *folder.absolute().parents) if os.path.lexists(p))
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=_PROBE_PREFIX)
    except OSError as err:
        reason = err.strerror or str(err)
        raise RepbenchError(f"{what} {path} cannot be written: {reason} (in {where}); "
                            "choose another output path") from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: str | os.PathLike, what: str = "--out") -> Path:
    """Refuse, before any work, a file output that cannot be written; returns it as a Path.

    `what` names the output in the message: the flag (--out) or what the file is."""
    path = Path(path)
    if path.is_dir():
        raise RepbenchError(f"{what} {path} is a folder, not a file; give a file path (or move the folder away)")
    _refuse_under_a_file(path, what)
    _probe(path.parent, path, what)
    return path


def check_output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """Refuse, before any work, an output folder that cannot be created or written; returns it as a Path."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise RepbenchError(f"{what} {path} is a file, not a folder; give a folder (it is created when missing)")
    _refuse_under_a_file(path, what)
    _probe(path, path, what)
    return path
