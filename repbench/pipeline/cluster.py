"""Where the pipeline's jobs run and how a run stops and resumes: SLURM partition and account from the
user's config, one GPU per job, stale locks of a killed run, SIGTERM passed on to the jobs.

A Snakemake profile cannot read the workflow's config, so the partition and account are not in
workflow/profiles/slurm: the user gives them as config (`--config slurm_partition=gpu
slurm_account=proj42`, or the same keys in a --configfile) and every rule passes them to the SLURM
executor plugin as its `slurm_partition` / `slurm_account` resources. A SLURM run without them
stops before submitting anything (`slurm_check`): the plugin would otherwise guess an account and
use the cluster's default partition, which often has no GPU.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

CLUSTER_KEYS: tuple[str, ...] = ("slurm_partition", "slurm_account")
EXAMPLE = "--config slurm_partition=gpu slurm_account=proj42"


def cluster_resources(config: Mapping[str, Any]) -> dict[str, str]:
    """The rule resources the SLURM executor reads, for the keys the user set (numbers as text:
    `--config slurm_account=12345` arrives as an int)."""
    return {key: str(config[key]) for key in CLUSTER_KEYS if config.get(key) not in (None, "")}


def slurm_check(executor: str | None, config: Mapping[str, Any]) -> str | None:
    """The message that stops a SLURM run lacking partition or account; None when it may go on.

    Only the submitting process checks (`slurm`): the jobs themselves run under `slurm-jobstep`."""
    if executor != "slurm":
        return None
    missing = [key for key in CLUSTER_KEYS if key not in cluster_resources(config)]
    if not missing:
        return None
    return (
        f"a SLURM run needs {' and '.join(missing)} from your config, e.g. "
        f"`snakemake --workflow-profile workflow/profiles/slurm {EXAMPLE}` "
        "(or the same keys in your --configfile; README, \"On a SLURM cluster\"). Nothing was submitted."
    )


def gpu_slots(global_resources: Mapping[str, Any]) -> int:
    """N of `--resources gpu=N`: how many GPU jobs Snakemake runs at once on this machine (0 when unset)."""
    value = global_resources.get("gpu")
    value = getattr(value, "value", value)  # Snakemake >= 9 wraps it in a Resource
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def timing_threads(global_resources: Mapping[str, Any], fallback: int) -> int:
    """Threads of a timing job: every core of a local run (`--cores`). A cluster run has no core
    count (asking `workflow.cores` for it stops the run), so there it is `fallback`, the preset's
    threads per job; the timing job has its node to itself either way."""
    cores = global_resources.get("_cores")
    cores = getattr(cores, "value", cores)
    return int(cores) if cores else max(1, int(fallback))


def gpu_launcher(gpu_jobs: int, slots: int) -> str:
    """What a GPU rule puts before its command: nothing for CPU presets or one GPU; with N > 1 GPUs,
    `repbench.pipeline.gpuslot`, which gives each concurrent job a different one (CUDA_VISIBLE_DEVICES).

    It goes into the shell text, never into a rule's params: both profiles rerun a job on changed
    inputs or params only (`rerun-triggers: [mtime, params]`), so changing N retrains nothing."""
    if gpu_jobs < 1 or slots < 2:
        return ""
    return f"{shlex.quote(sys.executable)} -m repbench.pipeline.gpuslot --slots {slots} -- "


# ---------------------------------------------------------------- stopping and resuming a local run
# Snakemake locks the working directory while it runs (.snakemake/locks/) and removes the locks when
# it ends; a Snakemake killed outright (SIGKILL, a lost machine) leaves them, and the next run is
# refused until someone finds `--unlock`. The locks do not say whose they are, so the pipeline's own
# main process records itself beside them (OWNER_FILE) and the next run removes locks whose owner is
# gone. Locks of a live run, or of a run that recorded nothing, are left to Snakemake's own check.
OWNER_FILE = "repbench-owner.json"


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def claim_workdir(state_dir: str | os.PathLike) -> None:
    """Record this process (pid and start time: a pid alone may be reused) as the run holding the locks."""
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    (state / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "started": _process_start(os.getpid())}))


def release_workdir(state_dir: str | os.PathLike) -> None:
    (Path(state_dir) / OWNER_FILE).unlink(missing_ok=True)


def clear_stale_locks(state_dir: str | os.PathLike) -> str | None:
    """Remove the locks of a pipeline run that was killed; the note to print, or None when nothing was done."""
    state = Path(state_dir)
    locks = sorted((state / "locks").glob("*.lock"))
    owner_path = state / OWNER_FILE
    if not locks or not owner_path.is_file():
        return None
    try:
        owner = json.loads(owner_path.read_text())
        pid, started = int(owner["pid"]), owner.get("started")
    except (ValueError, KeyError, TypeError):
        return None  # not ours to judge: Snakemake's own message (with --unlock) stands
    alive = _process_start(pid)
    if alive is not None and (started is None or abs(alive - float(started)) < 1.0):
        return None  # that run is still going
    for lock in locks:
        lock.unlink(missing_ok=True)
    owner_path.unlink(missing_ok=True)
    return (f"repbench: removed the locks of a pipeline run that was killed (pid {pid}); resuming where it "
            "stopped (training continues from each run's checkpoints/last.pt)")


def forward_sigterm_to_jobs() -> None:
    """Pass SIGTERM on to the running jobs' processes, then let Snakemake handle it as before.

    Snakemake takes SIGTERM as 'start no new job, wait for the running ones': a pipeline stopped that
    way would still run every training job to its end. Each job's processes get the signal too, so
    training checkpoints after its current step and exits (143), and the same command resumes it."""
    import signal

    import psutil

    previous = signal.getsignal(signal.SIGTERM)

    def forward(signum: int, frame: Any) -> None:
        for child in psutil.Process().children(recursive=True):
            try:
                child.send_signal(signal.SIGTERM)
            except psutil.Error:
                pass
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, forward)


def _json_object(path: Path, required: tuple[str, ...] = ()) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # truncated, not JSON, not UTF-8
        return False
    return isinstance(data, dict) and all(key in data for key in required)


def repair_outputs(runs_dir: str | os.PathLike, run_ids: Iterable[str], plan_file: str) -> list[tuple[str, str]]:
    """Set aside the small files this pipeline writes last (the plan file, each run's train.json) when they
    can no longer be read; returns (path, note) for each, and the workflow then forces the rule that writes
    the path to run again on this same command (Snakemake alone takes a damaged file for an up-to-date one,
    and does not rebuild a missing one that an existing table was made from): the plan is written anew, a
    finished run resumes from its checkpoints/last.pt at its final step (nothing is retrained) and an
    imported model is imported again. The damaged file is kept beside as <name>.corrupt."""
    runs = Path(runs_dir)
    wanted = [(runs / plan_file, ("experiments",))]
    wanted += [(runs / rid / "train.json", ("status",)) for rid in run_ids]
    notes: list[tuple[str, str]] = []
    for path, required in wanted:
        if path.is_file() and not _json_object(path, required):
            aside = path.with_name(path.name + ".corrupt")
            os.replace(path, aside)
            notes.append((str(path), f"repbench: {path} was damaged (kept as {aside.name}); the pipeline writes it again"))
    return notes


def made_from(inputs_of: Mapping[str, Iterable[str]], damaged: Iterable[str]) -> list[str]:
    """The outputs (of `inputs_of`: output -> its input files) that exist and read one of the `damaged` files."""
    bad = {os.path.normpath(p) for p in damaged}
    return [out for out, inputs in inputs_of.items()
            if Path(out).exists() and bad & {os.path.normpath(str(i)) for i in inputs}]
