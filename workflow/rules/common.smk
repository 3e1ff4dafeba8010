# Loads the preset, validates it, and expands its experiments into run ids; where jobs run.
import re
import sys
from pathlib import Path

from repbench.pipeline import cluster
from repbench.pipeline import config as pipeline_config
from repbench.pipeline import targets
from repbench.pipeline import timing_groups

PRESET = pipeline_config.load_preset(config, Path(workflow.basedir))
pipeline_config.validate_preset(PRESET, Path(workflow.basedir))  # the schema, names filled in from the registry
PLAN = pipeline_config.plan(PRESET)  # raises with the valid names on an unknown method/size/dataset

# Missing real data is not an error (the fallback keeps a fresh clone running), so it must be loud:
# printed before anything runs, dry runs included, and repeated in every table's header.
DATA_WARNING = pipeline_config.data_warning(PRESET, PLAN)
if DATA_WARNING and getattr(workflow, "is_main_process", True):
    print(f"\n{DATA_WARNING}\n", file=sys.stderr, flush=True)

NAME = PRESET["preset"]
RUNS = f"results/runs/{NAME}"
MEMBERSHIP_NAME = pipeline_config.PLAN_FILE
MEMBERSHIP = f"{RUNS}/{MEMBERSHIP_NAME}"  # which runs fill which table (rule `membership`)
RUN_IDS = sorted(PLAN.runs)
PUBLISHED = list(PLAN.published)  # released checkpoints: imported (rule import_published), never trained
GPU = 1 if PRESET["device"] == "cuda" else 0
# SLURM partition/account from the user's config (a profile cannot read config): every rule passes
# them on as resources, `**CLUSTER`. The GPU rules start through GPU_LAUNCHER, which gives each of
# the N jobs of a local `--resources gpu=N` its own GPU (on SLURM each job's allocation does that).
CLUSTER = cluster.cluster_resources(PRESET)
GPU_LAUNCHER = cluster.gpu_launcher(GPU, cluster.gpu_slots(workflow.global_resources))
TIMING_THREADS = cluster.timing_threads(workflow.global_resources, PRESET.get("threads", 1))


# A pipeline killed outright left Snakemake's locks behind: the same command resumes it (README,
# "Stopping and resuming"). Only the main process looks, before Snakemake checks its locks.
if getattr(workflow, "is_main_process", True):
    STALE = cluster.clear_stale_locks(Path(".snakemake"))
    if STALE:
        print(STALE, file=sys.stderr, flush=True)
    # A damaged plan file or train.json (a disk filled up, a file cut short by hand) is set aside; the
    # report files made from it are removed at the end of report.smk, so that rendering them again
    # makes its own rule write it again (Snakemake rebuilds a missing file only for an output it must make).
    REPAIRED = cluster.repair_outputs(RUNS, RUN_IDS + PUBLISHED, MEMBERSHIP_NAME)
    for _, note in REPAIRED:
        print(note, file=sys.stderr, flush=True)
else:
    REPAIRED = []


onstart:
    # The submitting process knows its executor only now: stop a SLURM run without partition or
    # account before the first sbatch.
    problem = cluster.slurm_check(getattr(workflow.executor_plugin, "name", None), PRESET)
    if problem:
        raise WorkflowError(problem)
    cluster.claim_workdir(Path(".snakemake"))  # whose locks these are, for a rerun
    cluster.forward_sigterm_to_jobs()


onsuccess:
    cluster.release_workdir(Path(".snakemake"))


onerror:
    cluster.release_workdir(Path(".snakemake"))


TRAINED_RUN = "|".join(re.escape(r) for r in RUN_IDS) or "no-runs"


wildcard_constraints:
    run="|".join(re.escape(r) for r in RUN_IDS + PUBLISHED) or "no-runs",
    dataset="|".join(re.escape(d) for d in PLAN.test_data),
    scale="[234]",


def run_outputs(run_ids, kinds=("train", "measure", "eval")):
    """The files of finished runs that a report rule reads: kinds from train, counts, measure, eval.
    A published model's folder holds the same files (train.json is written by its import)."""
    files = []
    for rid in run_ids:
        spec = PLAN.spec(rid)
        if "train" in kinds:
            files += [f"{RUNS}/{rid}/train.json", f"{RUNS}/{rid}/deployed.pt"]
        # A seed copy has seed 0's architecture, so its counts and clocks would be seed 0's again:
        # the report takes them from seed 0 (repbench/results/seeds.py).
        if "counts" in kinds and spec.seed == 0:
            files.append(f"{RUNS}/{rid}/counts.json")
        if "measure" in kinds and spec.seed == 0:
            files.append(f"{RUNS}/{rid}/measure.json")
        if "eval" in kinds:
            files += [f"{RUNS}/{rid}/eval/{d}-x{spec.scale}.json" for d in PLAN.test_data]
    return files


def bicubic_outputs(scales):
    """The floors of every table at these scales: bicubic and nearest-neighbour upsampling, evaluated."""
    return [f"{RUNS}/{m}-x{s}/eval/{d}-x{s}.json" for m in ("bicubic", "nearest") for s in sorted(scales) for d in PLAN.test_data]


def bn_outputs(run_ids):
    return [f"{RUNS}/{r}/bn/bn_diagnose.json" for r in run_ids]


def experiment_inputs(name, timed=None):
    """A table's runs, floors and (Table 1) BN diagnoses. Timing (measure.json) only where shown."""
    rids = PLAN.experiments.get(name, [])
    timed = name in targets.TIMED if timed is None else timed
    scales = {PLAN.spec(r).scale for r in rids}
    extra = bn_outputs(bn_runs()) if name == "table1" else []
    kinds = ("train", "measure", "eval") if timed else ("train", "counts", "eval")
    return run_outputs(rids, kinds) + bicubic_outputs(scales) + extra + [MEMBERSHIP]


# Every target; a budget sweep only where the preset has its experiment (workflow/presets/sweep.yaml).
REPORT_TARGETS = [f"results/{f}" for t in targets.TARGETS if t not in targets.SWEEPS or t in PLAN.experiments
                  for f in targets.target_files(t)]
