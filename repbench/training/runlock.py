"""One trainer per run folder: an exclusive lock held for the whole of `repbench train`.

Two trainers writing one folder would interleave checkpoints, metrics rows and final
weights from different runs. The lock is an flock on RUN/.lock, so the kernel drops it
when its holder exits or is killed: a crash never leaves a folder locked. The holder
writes its PID into the file, which lets the second trainer say who holds it.

Why not filelock: that diagnosis needs the lock file's content to survive a losing attempt, and
filelock 3.x opens the lock file with O_TRUNC on every acquire (a second trainer would erase the
first one's PID before failing); 4.x behaves differently, and which major version is installed is
torch's choice, since filelock is not a dependency of repbench. flock itself is a few lines.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from repbench.errors import RepbenchError

LOCK_NAME = ".lock"


def holder_pid(run_dir: str | os.PathLike) -> int | None:
    """The PID written by the trainer that holds (or last held) the folder's lock."""
    try:
        text = (Path(run_dir) / LOCK_NAME).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold RUN/.lock for the block, or raise RepbenchError at once if another process holds it."""
    run_dir = Path(run_dir)
    try:
        import fcntl
    except ImportError:  # not POSIX: no inter-process lock
        yield
        return
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fh = open(run_dir / LOCK_NAME, "a+")
    except OSError as err:
        raise RepbenchError(f"cannot use run folder {run_dir}: {err.strerror or err}; choose another --run-dir") from err
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = holder_pid(run_dir)
            who = f"process {pid}" if pid else "another process"
            raise RepbenchError(
                f"run folder {run_dir} is in use: {who} is training into it. Wait for it to finish "
                f"(or stop it, e.g. `kill {pid or 'PID'}`, which checkpoints), or use another --run-dir"
            ) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
