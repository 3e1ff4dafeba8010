# Counts for every run; timing only where a target shows it.
#
# `count` (params, MACs, #conv) is exact and cheap, so it runs on one core beside training. Tables
# 1, 2 and 4-7 and the NTIRE tables need only it. `measure` adds throughput and the synthetic
# training step: those are clocks, so the job takes every core and no training job runs beside it.
# Table 3, the figures and the leaderboard need it. On SLURM it asks for a node of its own
# (--exclusive): another user's job on the same node would be in the clocks.


rule count:
    input:
        model=f"{RUNS}/{{run}}/final.pt",
    output:
        f"{RUNS}/{{run}}/counts.json",
    resources:
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/counts.log",
    shell:
        "repbench measure --model {input.model} --out {output} --threads 1 --device cpu > {log} 2>&1"


rule measure:
    input:
        model=f"{RUNS}/{{run}}/final.pt",
    output:
        f"{RUNS}/{{run}}/measure.json",
    params:
        args=pipeline_config.measure_cli_args(PRESET),
    threads: TIMING_THREADS
    resources:
        gpu=GPU,
        slurm_extra="--exclusive",
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/measure.log",
    shell:
        GPU_LAUNCHER + "repbench measure --model {input.model} --out {output} --threads {threads} {params.args} > {log} 2>&1"
