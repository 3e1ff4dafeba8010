"""When a run finished and which code made it, for train.json: a result can then be traced to the
exact source that produced it (the report shows both beside every run).

    finished_at   UTC ISO 8601 date-time, e.g. "2025-03-04T12:00:00+00:00"
    git_commit    `git rev-parse HEAD` of the checkout this package runs from, plus "-dirty" when a
                  tracked file differs from that commit; None outside a git checkout or without git

Nothing here raises: a missing or broken git must never cost a finished training run its train.json.
"""
from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DIRTY_SUFFIX = "-dirty"
# git answers in well under a second; the bound guards against a hung filesystem, and is generous
# because a machine busy training can make `git status` (which reads every tracked file's metadata) slow.
_GIT_TIMEOUT_S = 60.0


def utc_now() -> str:
    """The current UTC time as an ISO 8601 date-time with an explicit offset, to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _git(args: list[str], cwd: Path) -> str | None:
    """git's stdout, or None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace",
                              timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_commit(directory: Path = PACKAGE_DIR) -> str | None:
    """The commit of the code in `directory` (default: this package), "-dirty" appended when tracked
    files have uncommitted changes (or the status cannot be read); None when that code is not tracked
    by a git checkout."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    head = (_git(["rev-parse", "--verify", "HEAD"], directory) or "").strip()
    if not head:
        return None
    # An installed copy (e.g. a virtualenv inside some other project's checkout) sits in a git work tree
    # without being tracked by it: that repository's commit would name the wrong code.
    tracked = _git(["ls-files", "--", "."], directory)
    if not (tracked or "").strip():
        return None
    # Untracked files (run folders, caches) are not the code: only changes to tracked files count.
    status = _git(["status", "--porcelain", "--untracked-files=no"], directory)
    # A status that cannot be read says nothing about local changes: claim no clean checkout then.
    return head + (DIRTY_SUFFIX if status is None or status.strip() else "")


def run_provenance() -> dict[str, str | None]:
    """train.json's `finished_at` and `git_commit` for a run finishing now."""
    return {"finished_at": utc_now(), "git_commit": git_commit()}
