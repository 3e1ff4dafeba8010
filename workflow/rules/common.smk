# Loads the preset, validates it, and expands its experiments into run ids.
import re
from pathlib import Path

from repbench import pipeline_config, targets

PRESET = pipeline_config.load_preset(config, Path(workflow.basedir))
pipeline_config.validate_preset(PRESET, Path(workflow.basedir))  # the schema, names filled in from the registry
PLAN = pipeline_config.plan(PRESET)  # raises with the valid names on an unknown method/size/dataset

NAME = PRESET["preset"]
RUNS = f"results/runs/{NAME}"
RUN_IDS = sorted(PLAN.runs)
GPU = 1 if PRESET["device"] == "cuda" else 0


wildcard_constraints:
    run="|".join(re.escape(r) for r in RUN_IDS) or "no-runs",
    dataset="|".join(re.escape(d) for d in PLAN.test_data),
    scale="[234]",


def run_outputs(run_ids, kinds=("train", "measure", "eval")):
    """The files of finished runs that a report rule reads: kinds from train, counts, measure, eval."""
    files = []
    for rid in run_ids:
        spec = PLAN.runs[rid]
        if "train" in kinds:
            files += [f"{RUNS}/{rid}/train.json", f"{RUNS}/{rid}/deployed.pt"]
        # A seed copy has seed 0's architecture, so its counts and clocks would be seed 0's again:
        # the report takes them from seed 0 (repbench/report/seeds.py).
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
    extra = bn_outputs(bn_runs()) if name == "table1" else []
    kinds = ("train", "measure", "eval") if timed else ("train", "counts", "eval")
    return run_outputs(rids, kinds) + bicubic_outputs({PLAN.runs[r].scale for r in rids}) + extra


REPORT_TARGETS = [f"results/{f}" for t in targets.TARGETS for f in targets.target_files(t)]
