"""Stopping and resuming the pipeline: a run killed outright resumes with the same command (its stale
locks are removed), and SIGTERM to Snakemake reaches the training jobs, which checkpoint; either way
the final weights equal an uninterrupted run's."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from repbench.pipeline import cluster
from repbench.pipeline import config as pipeline_config

try:
    from test_pipeline import _fresh_clone, _snakemake
except ImportError:  # tests collected as a package
    from tests.test_pipeline import _fresh_clone, _snakemake

RUN = "plain-M1C4-x2"
TARGET = f"results/runs/smoke/{RUN}/train.json"
LONG = {"iterations": 3000, "checkpoint_every": 100, "log_every": 50, "val_every": 1000}


def _preset(clone: Path) -> Path:
    preset = pipeline_config.load_preset({"preset": "smoke"}, clone)
    preset["experiments"] = {"table2": {"scale": 2, "colors": 1, "runs": [{"method": "plain", "sizes": ["M1C4"]}]}}
    preset["train"] = {**preset["train"], **LONG}
    path = clone / "long.yaml"
    path.write_text(yaml.safe_dump(preset))
    return path


def _start(clone: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "snakemake", TARGET, "--cores", "1", "--configfile",
                             str(_preset(clone))], cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _wait_for_training(run_dir: Path, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        path = run_dir / "metrics.csv"
        if path.is_file() and len(path.read_text().splitlines()) > 4 and (run_dir / "checkpoints" / "last.pt").is_file():
            return
        time.sleep(0.2)
    raise AssertionError("the training job did not get going")


def _weights(clone: Path) -> dict[str, torch.Tensor]:
    return torch.load(clone / "results" / "runs" / "smoke" / RUN / "final.pt", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    clone = _fresh_clone(tmp_path_factory.mktemp("whole") / "clone")
    done = _snakemake(TARGET, "--cores", "1", "--configfile", str(_preset(clone)), cwd=clone)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return _weights(clone)


@pytest.mark.slow
def test_a_pipeline_killed_outright_resumes_with_the_same_command(uninterrupted: dict, tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    proc = _start(clone)
    _wait_for_training(clone / "results" / "runs" / "smoke" / RUN)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and its job, as a lost machine would
    proc.wait()
    assert list((clone / ".snakemake" / "locks").glob("*.lock"))  # what used to stop the rerun
    again = _snakemake(TARGET, "--cores", "1", "--configfile", str(_preset(clone)), cwd=clone)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-3000:]
    assert "removed the locks of a pipeline run that was killed" in out
    assert "resuming at iteration" in (clone / "results" / "runs" / "smoke" / RUN / "train.log").read_text()
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted.values(), _weights(clone).values()))


@pytest.mark.slow
def test_sigterm_to_the_pipeline_reaches_training_which_checkpoints(uninterrupted: dict, tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    proc = _start(clone)
    run_dir = clone / "results" / "runs" / "smoke" / RUN
    _wait_for_training(run_dir)
    proc.send_signal(signal.SIGTERM)  # to Snakemake alone
    out, _ = proc.communicate(timeout=120)
    log = (run_dir / "train.log").read_text()
    assert proc.returncode != 0 and "SIGTERM received" in log, out[-2000:]
    assert "checkpoint saved" in log and not (run_dir / "train.json").exists()  # stopped, not run to its end
    again = _snakemake(TARGET, "--cores", "1", "--configfile", str(_preset(clone)), cwd=clone)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted.values(), _weights(clone).values()))


def test_only_the_locks_of_a_dead_run_are_removed(tmp_path: Path) -> None:
    state = tmp_path / ".snakemake"
    (state / "locks").mkdir(parents=True)
    lock = state / "locks" / "0.output.lock"
    lock.write_text("results/x\n")
    assert cluster.clear_stale_locks(state) is None and lock.exists()  # whose they are is unknown
    cluster.claim_workdir(state)  # this live process holds them
    assert cluster.clear_stale_locks(state) is None and lock.exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (state / cluster.OWNER_FILE).write_text(json.dumps({"pid": dead.pid, "started": 0.0}))
    note = cluster.clear_stale_locks(state)
    assert note and str(dead.pid) in note and not lock.exists() and not (state / cluster.OWNER_FILE).exists()


@pytest.mark.slow
def test_the_pipeline_rewrites_a_damaged_plan_file_and_train_json(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    preset = pipeline_config.load_preset({"preset": "smoke"}, clone)
    preset["experiments"] = {"table2": {"scale": 2, "colors": 1, "runs": [{"method": "plain", "sizes": ["M1C4"]}]}}
    (clone / "p.yaml").write_text(yaml.safe_dump(preset))
    args = ("results/table2.md", "--cores", "1", "--configfile", str(clone / "p.yaml"))
    first = _snakemake(*args, cwd=clone)
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    runs = clone / "results" / "runs" / "smoke"
    weights = _weights(clone)
    (runs / pipeline_config.PLAN_FILE).write_text('{"experiments": {"table2": ["plain-')  # cut short
    summary = (runs / RUN / "train.json").read_text()
    (runs / RUN / "train.json").write_text(summary[: len(summary) // 2])
    again = _snakemake(*args, cwd=clone)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-3000:]
    assert out.count("was damaged") == 2 and (runs / RUN / "train.json.corrupt").is_file()
    assert json.loads((runs / pipeline_config.PLAN_FILE).read_text())["experiments"]["table2"] == [RUN]
    assert json.loads((runs / RUN / "train.json").read_text())["status"] == "complete"
    assert all(torch.equal(a, b) for a, b in zip(weights.values(), _weights(clone).values()))  # not retrained
    table = clone / "results" / "table2.md"
    assert table.is_file() and "skipped" not in table.read_text()  # rendered again, from the rebuilt file
