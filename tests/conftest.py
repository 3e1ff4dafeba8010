"""Shared test fixtures. Tests never write into the repository's data/cache."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_datasets_dir() -> Path:
    env = os.environ.get("REPBENCH_SHARED_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _isolated_data_cache(tmp_path_factory: pytest.TempPathFactory):
    """Point the prepared-data cache and downloads at a per-session temporary folder."""
    saved = {k: os.environ.get(k) for k in ("REPBENCH_DATA_CACHE", "REPBENCH_DATA_DOWNLOADS", "REPBENCH_CHECKPOINTS")}
    root = tmp_path_factory.mktemp("repbench-data")
    os.environ["REPBENCH_DATA_CACHE"] = str(root / "cache")
    os.environ["REPBENCH_DATA_DOWNLOADS"] = str(root / "downloads")
    os.environ["REPBENCH_CHECKPOINTS"] = str(root / "checkpoints")  # released checkpoints, verified copies
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def shared_datasets() -> Path:
    """The real SR datasets folder (research licences: never copied into the repo); skip without it."""
    folder = shared_datasets_dir()
    if not (folder / "Set5" / "HR").is_dir():
        pytest.skip(f"real SR datasets not found at {folder} (set REPBENCH_SHARED_DATASETS)")
    return folder


def shared_checkpoints_dir() -> Path:
    env = os.environ.get("REPBENCH_SHARED_CHECKPOINTS")
    return Path(env) if env else REPO.parent / "shared" / "checkpoints"


@pytest.fixture
def shared_checkpoints() -> Path:
    """Copies of the released checkpoints (never committed); skip without them."""
    folder = shared_checkpoints_dir()
    if not (folder / "ntire2022_imdn_baseline_x4.pth").is_file():
        pytest.skip(f"released checkpoints not found at {folder} (set REPBENCH_SHARED_CHECKPOINTS)")
    return folder


@pytest.fixture
def data_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty cache and downloads folder for one test."""
    monkeypatch.setenv("REPBENCH_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REPBENCH_DATA_DOWNLOADS", str(tmp_path / "downloads"))
    return tmp_path / "cache"
