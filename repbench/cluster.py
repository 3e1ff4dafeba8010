"""Where the pipeline's jobs run: SLURM partition and account from the user's config, one GPU per job.

A Snakemake profile cannot read the workflow's config, so the partition and account are not in
workflow/profiles/slurm: the user gives them as config (`--config slurm_partition=gpu
slurm_account=proj42`, or the same keys in a --configfile) and every rule passes them to the SLURM
executor plugin as its `slurm_partition` / `slurm_account` resources. A SLURM run without them
stops before submitting anything (`slurm_check`): the plugin would otherwise guess an account and
use the cluster's default partition, which often has no GPU.
"""
from __future__ import annotations

import shlex
import sys
from typing import Any, Mapping

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
    `repbench.gpuslot`, which gives each concurrent job a different one (CUDA_VISIBLE_DEVICES).

    It goes into the shell text, never into a rule's params: both profiles rerun a job on changed
    inputs or params only (`rerun-triggers: [mtime, params]`), so changing N retrains nothing."""
    if gpu_jobs < 1 or slots < 2:
        return ""
    return f"{shlex.quote(sys.executable)} -m repbench.gpuslot --slots {slots} -- "
