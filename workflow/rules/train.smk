# Data preparation and training. A killed run resumes from checkpoints/last.pt when rerun:
# only files written at the very end are declared outputs, so Snakemake never deletes progress.


def data_manifest(name, scale):
    from repbench import data

    return str(data.cache_root() / name / f"X{scale}" / "manifest.json")


rule prepare_data:
    output:
        data_manifest("{name}", "{scale}"),
    wildcard_constraints:
        name="|".join(re.escape(d) for d in set(PLAN.train_data) | set(PLAN.test_data)),
    log:
        f"results/logs/prepare-{{name}}-x{{scale}}.log",
    shell:
        "repbench data prepare {wildcards.name} --scales {wildcards.scale} > {log} 2>&1"


def train_inputs(wildcards):
    spec = PLAN.runs[wildcards.run]
    names = set(PLAN.train_data) | {PLAN.val_data}
    return [data_manifest(n, spec.scale) for n in sorted(names)]


def train_args(wildcards):
    spec = PLAN.runs[wildcards.run]
    return pipeline_config.train_cli_args(spec, PLAN, PRESET)


rule train:
    input:
        train_inputs,
    output:
        summary=f"{RUNS}/{{run}}/train.json",
        final=f"{RUNS}/{{run}}/final.pt",
        deployed=f"{RUNS}/{{run}}/deployed.pt",
    params:
        args=train_args,
        run_dir=f"{RUNS}/{{run}}",
    threads: PRESET.get("threads", 1)
    resources:
        gpu=GPU,
    log:
        f"{RUNS}/{{run}}/train.log",
    shell:
        "repbench train --run-dir {params.run_dir} {params.args} --set threads={threads} > {log} 2>&1"
