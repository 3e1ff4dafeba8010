"""Where jobs run: SLURM partition/account from the config, one GPU per job, exclusive timing nodes."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from repbench.pipeline import cluster
from repbench.pipeline import gpuslot
from repbench.pipeline import config as pipeline_config

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "workflow" / "rules"
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"


# ----------------------------------------------------------------------------- SLURM settings


def test_partition_and_account_come_from_the_config() -> None:
    config = {"preset": "paper", "slurm_partition": "gpuq", "slurm_account": 12345}
    assert cluster.cluster_resources(config) == {"slurm_partition": "gpuq", "slurm_account": "12345"}
    assert cluster.cluster_resources({"preset": "paper", "slurm_account": ""}) == {}
    # The keys pass the preset schema, from --config or from a user's --configfile alike.
    preset = pipeline_config.load_preset(config, REPO)
    pipeline_config.validate_preset(preset, REPO)
    assert cluster.cluster_resources(preset) == {"slurm_partition": "gpuq", "slurm_account": "12345"}


def test_a_slurm_run_without_partition_or_account_is_stopped_with_the_fix() -> None:
    problem = cluster.slurm_check("slurm", {"slurm_partition": "gpuq"})
    assert problem and problem.startswith("a SLURM run needs slurm_account from your config")
    assert cluster.EXAMPLE in problem and "Nothing was submitted" in problem
    assert "slurm_partition and slurm_account" in cluster.slurm_check("slurm", {})
    assert cluster.slurm_check("slurm", {"slurm_partition": "gpuq", "slurm_account": "p"}) is None
    # Local runs and the jobs SLURM runs (`slurm-jobstep`) never need them.
    for executor in (None, "local", "dryrun", "slurm-jobstep"):
        assert cluster.slurm_check(executor, {}) is None


def test_the_workflow_checks_the_executor_before_submitting() -> None:
    common = (RULES / "common.smk").read_text()
    onstart = common.split("onstart:", 1)[1]
    assert "cluster.slurm_check(" in onstart and "workflow.executor_plugin" in onstart and "raise WorkflowError" in onstart


def test_every_rule_that_runs_a_job_passes_partition_and_account() -> None:
    text = "\n".join(p.read_text() for p in sorted(RULES.glob("*.smk")))
    local = set(re.findall(r"^    (\w+),$", re.search(r"^localrules:\n((?:    \w+,\n)+)", text, re.M).group(1), re.M))
    assert local == {"membership", "table", "figures", "figure_bn", "leaderboard", "sweep"}  # seconds of writing: not worth a job
    bodies = dict(chunk.split(":", 1) for chunk in text.split("\nrule ")[1:])
    assert {"train", "count", "time_deployed", "measure", "evaluate", "evaluate_floor", "bn_diagnose"} <= set(bodies)
    for rule, body in bodies.items():
        assert rule in local or "**CLUSTER," in body, f"rule {rule} does not pass slurm_partition/slurm_account"


def test_the_slurm_profile_hard_codes_no_partition_and_no_gres() -> None:
    profile = yaml.safe_load(PROFILE.read_text())
    resources = {**profile["default-resources"], **{k: v for r in profile["set-resources"].values() for k, v in r.items()}}
    assert "slurm_partition" not in resources and "slurm_account" not in resources
    # `gpu=1` in the rules becomes --gpus=1; the plugin refuses a job that also asks through gres.
    assert "gres" not in resources
    assert profile["rerun-triggers"] == ["mtime", "params", "input"]  # as the default profile: no retraining for edited rules
    text = PROFILE.read_text()
    assert "checkpoints/last.pt" in text and "--set-resources train:runtime=" in text  # splitting long runs


def test_timing_jobs_ask_for_an_exclusive_node_and_counts_do_not() -> None:
    measure = (RULES / "measure.smk").read_text()
    count, timings = measure.split("\nrule time_deployed:", 1)
    deployed, timing = timings.split("\nrule measure:", 1)
    for rule in (deployed, timing):  # the one timing of a deployed network, and each run's own clocks
        assert 'slurm_extra="--exclusive"' in rule and "threads: TIMING_THREADS" in rule  # never workflow.cores
    assert "slurm_extra" not in count


def test_timing_threads_without_a_core_count() -> None:
    assert cluster.timing_threads({"_cores": 16}, 4) == 16
    assert cluster.timing_threads({"_cores": None}, 4) == 4
    assert cluster.timing_threads({}, 0) == 1


# ----------------------------------------------------------------------------- one GPU per job


def test_gpu_rules_start_through_the_launcher_only_with_several_gpus() -> None:
    assert cluster.gpu_slots({"gpu": 2}) == 2 and cluster.gpu_slots({}) == 0 and cluster.gpu_slots({"gpu": None}) == 0
    assert cluster.gpu_launcher(1, 1) == "" and cluster.gpu_launcher(0, 4) == ""
    assert cluster.gpu_launcher(1, 3).endswith("-m repbench.pipeline.gpuslot --slots 3 -- ")
    rules = "".join(p.read_text() for p in sorted(RULES.glob("*.smk")))
    # train, evaluate, bn-diagnose, time_deployed, measure
    assert len(re.findall(r'GPU_LAUNCHER\s*\+\s*"repbench ', rules)) == 5
    assert rules.count("gpu=GPU,") == 5


def test_devices_to_share_out() -> None:
    assert gpuslot.devices(2, {}) == ["0", "1"]
    assert gpuslot.devices(1, {}) == ["0"]
    assert gpuslot.devices(4, {"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert gpuslot.devices(2, {"CUDA_VISIBLE_DEVICES": "GPU-aaaa"}) == ["GPU-aaaa"]  # SLURM's allocation: keep it
    assert gpuslot.devices(2, {"CUDA_VISIBLE_DEVICES": ""}) == []


def test_concurrent_jobs_get_distinct_gpus_and_a_dead_job_frees_its_gpu(tmp_path: Path) -> None:
    env = {**os.environ, "REPBENCH_GPU_LOCKS": str(tmp_path / "locks"), "PYTHONPATH": str(REPO)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    hold = [sys.executable, "-c", "import os, time; print(os.environ['CUDA_VISIBLE_DEVICES'], flush=True); time.sleep(30)"]
    launcher = [sys.executable, "-m", "repbench.pipeline.gpuslot", "--slots", "2", "--"]
    first = subprocess.Popen(launcher + hold, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(launcher + hold, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = {first.stdout.readline().strip(), second.stdout.readline().strip()}
        assert seen == {"0", "1"}
        first.kill()  # the lock belongs to the command's process: killing it frees the GPU
        first.wait()
        third = subprocess.run(launcher + [sys.executable, "-c", "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert third.returncode == 0 and third.stdout.strip() in seen
        assert "running on GPU" in third.stderr
    finally:
        for proc in (first, second):
            proc.kill()
            proc.wait()


def test_a_job_with_its_own_device_runs_as_it_is(tmp_path: Path) -> None:
    env = {**os.environ, "REPBENCH_GPU_LOCKS": str(tmp_path / "locks"), "CUDA_VISIBLE_DEVICES": "3"}
    result = subprocess.run([sys.executable, "-m", "repbench.pipeline.gpuslot", "--slots", "4", "--", sys.executable, "-c",
                             "import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"],
                            env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "3" and result.stderr == ""
    assert not (tmp_path / "locks").exists()
    missing = subprocess.run([sys.executable, "-m", "repbench.pipeline.gpuslot", "--slots", "1", "--", "no-such-command-xyz"],
                             env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 127 and "no-such-command-xyz" in missing.stderr
