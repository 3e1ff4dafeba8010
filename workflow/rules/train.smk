# Training. A killed run resumes from checkpoints/last.pt when rerun: only files written at the
# very end are declared outputs, so Snakemake never deletes progress. That is also how a run longer
# than a cluster's wall-time limit finishes: the job ends at the limit (SIGTERM: checkpoint, exit
# 143) and the next submission of the same pipeline continues it.
# A changed training config (an edited preset) reruns the job; `--on-config-change supersede`
# moves the old run to RUN/superseded/<time>-<hash>/ and trains afresh, so nothing finished is
# lost and no old checkpoint is mixed into the new run.
#
# The run's whole training config travels as one JSON object (`--config-json`), resolved and
# validated when the plan was built; being a rule parameter, any change to it reruns the job.
#
# Datasets are not rule inputs: `repbench train` / `eval` prepare them on first use (once, under a
# per-dataset lock, cached in data/cache/). A re-made cache therefore never retrains finished runs.


# Progress: the trainer runs with progress=false (no bar in a log file) and prints one short line per
# log point instead ("RUN it 1200/3000 loss ... elapsed 6m02s ETA 9m03s"). `tee` shows them on the
# terminal while writing the log; pipefail makes the job's status the trainer's, not tee's. tee
# ignores Ctrl-C and SIGTERM and ends when the trainer closes the pipe, so a trainer that is
# stopping (checkpointing after the current step) still gets its last lines into the log.


def train_args(wildcards):
    spec = PLAN.runs[wildcards.run]
    return pipeline_config.train_cli_args(spec, PLAN, PRESET)


rule train:
    output:
        summary=f"{RUNS}/{{run}}/train.json",
        final=f"{RUNS}/{{run}}/final.pt",
        deployed=f"{RUNS}/{{run}}/deployed.pt",
    params:
        args=train_args,
        run_dir=f"{RUNS}/{{run}}",
    wildcard_constraints:
        run=TRAINED_RUN,  # a published model's folder is written by rule import_published
    threads: PRESET.get("threads", 1)
    priority: lambda w: pipeline_config.train_priority(PLAN.runs[w.run])  # longest first
    resources:
        gpu=GPU,
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/train.log",
    shell:
        "set -o pipefail; "
        + GPU_LAUNCHER
        + "repbench train --run-dir {params.run_dir} --on-config-change supersede {params.args} --set threads={threads} "
        "2>&1 | (trap '' INT TERM; exec tee {log})"
