"""The pipeline on a real SLURM cluster: a single-node cluster on this machine (.ci/local-slurm: munge,
slurmctld, slurmd from Debian's packages), jobs submitted with real `sbatch` through
workflow/profiles/slurm. The results must equal a local run's; a training job that SLURM requeues
(`scontrol requeue`: SIGTERM, then the same job again) resumes from its checkpoint to bit-identical
weights, within the same `snakemake` command.

Marked `slurm`; skipped with the reason where the cluster cannot be started (not root, SLURM not
installed: `.ci/local-slurm install`). `.ci/run` installs and starts it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from repbench.pipeline import config as pipeline_config

try:
    from test_pipeline import REPO, _fresh_clone, _snakemake
except ImportError:  # tests collected as a package
    from tests.test_pipeline import REPO, _fresh_clone, _snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SCRIPT = REPO / ".ci" / "local-slurm"
RUN = "plain-M1C4-x4"
# The node has this machine's 2 cores: the profile's defaults (4 cores, 16 GB) would never be scheduled.
SMALL_JOBS = ["--default-resources", "mem_mb=2000", "cpus_per_task=1", "runtime=30",
              "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
              "--slurm-status-command", "squeue"]


@pytest.fixture(scope="module")
def slurm_conf() -> str:
    if os.geteuid() != 0 or not shutil.which("slurmctld") or not shutil.which("sbatch"):
        pytest.skip("a local SLURM cluster needs root and Debian's slurmctld/slurmd (`.ci/local-slurm install`)")
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="the slurm extra is not installed")
    started = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    return started.stdout.strip().split("=", 1)[1]


def _preset(clone: Path, name: str, **train: object) -> Path:
    preset = pipeline_config.load_preset({"preset": "smoke"}, clone)
    preset["experiments"] = {"table2": {"scale": 4, "colors": 1, "runs": [{"method": "plain", "sizes": ["M1C4"]}]}}
    preset["train"] = {**preset["train"], **train}
    path = clone / name
    path.write_text(yaml.safe_dump(preset))
    return path


def _on_slurm(clone: Path, conf: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "SLURM_CONF": conf}
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args, "--workflow-profile", "workflow/profiles/slurm",
         "--config", "slurm_partition=local", "slurm_account=repbench", *SMALL_JOBS],
        cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: int = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "final.pt", weights_only=True)["state_dict"]


def _without_clocks(table: str) -> str:
    """The table with its training-seconds cells blanked (a clock differs between any two runs)."""
    lines, clock_columns = [], []
    for line in table.splitlines():
        cells = line.split("|")
        if line.startswith("|") and any(re.search(r"Train s|s/iter|seconds", c) for c in cells):
            clock_columns = [i for i, c in enumerate(cells) if re.search(r"Train s|s/iter|seconds", c)]
        elif not line.startswith("|"):
            clock_columns = []
        for i in clock_columns:
            if i < len(cells) and not set(cells[i].strip()) <= set(":-"):
                cells[i] = " "
        lines.append("|".join(cells))
    return "\n".join(lines)


def test_the_smoke_preset_on_slurm_equals_a_local_run(slurm_conf: str, tmp_path: Path) -> None:
    local, cluster = _fresh_clone(tmp_path / "local"), _fresh_clone(tmp_path / "cluster")
    done = _snakemake("results/table2.md", "--cores", "2", "--configfile", str(_preset(local, "p.yaml")), cwd=local)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = _finish(_on_slurm(cluster, slurm_conf, "results/table2.md", "--configfile", str(_preset(cluster, "p.yaml"))))
    assert "Job 0 has been submitted with SLURM jobid" in out or "submitted with SLURM jobid" in out
    runs = [c / "results" / "runs" / "smoke" / RUN for c in (local, cluster)]
    assert all(torch.equal(a, b) for a, b in zip(_weights(runs[0]).values(), _weights(runs[1]).values()))
    tables = [(c / "results" / "table2.md").read_text() for c in (local, cluster)]
    assert RUN in tables[0] and _without_clocks(tables[0]) == _without_clocks(tables[1])


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _metrics_rows(run_dir: Path) -> int:
    path = run_dir / "metrics.csv"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def test_a_requeued_training_job_resumes_to_bit_identical_weights(slurm_conf: str, tmp_path: Path) -> None:
    long = {"iterations": 3000, "checkpoint_every": 100, "log_every": 50, "val_every": 1000}
    local, cluster = _fresh_clone(tmp_path / "local"), _fresh_clone(tmp_path / "cluster")
    target = f"results/runs/smoke/{RUN}/train.json"
    done = _snakemake(target, "--cores", "1", "--configfile", str(_preset(local, "p.yaml", **long)), cwd=local)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]

    proc = _on_slurm(cluster, slurm_conf, target, "--configfile", str(_preset(cluster, "p.yaml", **long)))
    run_dir = cluster / "results" / "runs" / "smoke" / RUN
    _wait_for(lambda: _metrics_rows(run_dir) > 6, 300, "the training job to log a few steps")
    env = {**os.environ, "SLURM_CONF": slurm_conf}
    jobs = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i"], env=env, capture_output=True, text=True)
    job = jobs.stdout.split()[0]
    subprocess.run(["scontrol", "requeue", job], env=env, check=True)
    # A requeued job waits before it is eligible again; let it start at once.
    _wait_for(lambda: "PENDING" in subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=env,
                                                  capture_output=True, text=True).stdout, 60, "the requeue")
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=env, check=True)
    _finish(proc)
    log = (run_dir / "train.log").read_text()
    assert re.search(r"resuming at iteration [1-9]\d* of 3000", log), log[:500]  # it did stop part-way
    assert all(torch.equal(a, b) for a, b in zip(_weights(local / "results" / "runs" / "smoke" / RUN).values(),
                                                 _weights(run_dir).values()))
