"""repbench.provenance: train.json's `finished_at` and `git_commit` (real git in temporary repositories)."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from repbench import provenance

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    # An identity on the command line: the test must not depend on the machine's git config.
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                          cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """A repository with one committed package folder `pkg/`."""
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("x = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "pkg/__init__.py")
    _git(repo, "commit", "-q", "-m", "first")
    return repo


def test_utc_now_is_an_iso_utc_date_time() -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = provenance.utc_now()
    parsed = dt.datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == dt.timedelta(0) and stamp.endswith("+00:00")
    assert before <= parsed <= dt.datetime.now(dt.timezone.utc)
    assert parsed.microsecond == 0 and "T" in stamp


@needs_git
def test_clean_checkout_gives_head(checkout: Path) -> None:
    head = _git(checkout, "rev-parse", "HEAD")
    assert len(head) == 40
    assert provenance.git_commit(checkout / "pkg") == head
    # a new untracked file (a run folder, a cache) is not a change to the code
    (checkout / "pkg" / "scratch.txt").write_text("notes")
    assert provenance.git_commit(checkout / "pkg") == head


@needs_git
def test_changed_tracked_file_marks_dirty(checkout: Path) -> None:
    head = _git(checkout, "rev-parse", "HEAD")
    (checkout / "pkg" / "__init__.py").write_text("x = 2\n")
    assert provenance.git_commit(checkout / "pkg") == head + "-dirty"
    _git(checkout, "commit", "-q", "-am", "second")  # committed: clean again, at the new commit
    assert provenance.git_commit(checkout / "pkg") == _git(checkout, "rev-parse", "HEAD") != head


@needs_git
def test_outside_a_checkout_or_untracked_is_none(tmp_path: Path, checkout: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert provenance.git_commit(plain) is None
    assert provenance.git_commit(tmp_path / "missing") is None
    # a copy installed inside another project's work tree (an untracked virtualenv) is not that project's code
    venv_pkg = checkout / ".venv" / "site-packages" / "pkg"
    venv_pkg.mkdir(parents=True)
    (venv_pkg / "__init__.py").write_text("x = 1\n")
    assert provenance.git_commit(venv_pkg) is None
    # a repository without any commit has no HEAD
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "-q")
    assert provenance.git_commit(empty) is None


def test_missing_git_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_git(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("git")

    monkeypatch.setattr(provenance.subprocess, "run", no_git)
    assert provenance.git_commit(tmp_path) is None
    record = provenance.run_provenance()  # training still gets its record, with the commit unknown
    assert record["git_commit"] is None and dt.datetime.fromisoformat(str(record["finished_at"]))


def test_hung_git_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hung(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired("git", 20)

    monkeypatch.setattr(provenance.subprocess, "run", hung)
    assert provenance.git_commit(tmp_path) is None


@needs_git
def test_this_package_reports_its_own_checkout() -> None:
    repo = provenance.PACKAGE_DIR.parent
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True).returncode != 0:
        pytest.skip("repbench is not running from a git checkout")
    head = _git(repo, "rev-parse", "HEAD")
    assert provenance.run_provenance()["git_commit"] in (head, head + "-dirty")


@needs_git
def test_unreadable_status_is_not_called_clean(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head = _git(checkout, "rev-parse", "HEAD")
    real = provenance._git

    def status_fails(args: list[str], cwd: Path) -> str | None:
        return None if args[0] == "status" else real(args, cwd)

    monkeypatch.setattr(provenance, "_git", status_fails)
    assert provenance.git_commit(checkout / "pkg") == head + "-dirty"
