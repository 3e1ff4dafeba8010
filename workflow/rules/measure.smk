# Counts for every run; timing only where a target shows it.
#
# `count` (params, MACs, #conv) is exact and cheap, so it runs on one core beside training. Tables
# 1, 2 and 4-7 and the NTIRE tables need only it. `measure` adds throughput and the synthetic
# training step: those are clocks, so the job takes every core and no training job runs beside it.
# Table 3, the figures and the leaderboard need it. On SLURM it asks for a node of its own
# (--exclusive): another user's job on the same node would be in the clocks.


def protocol_args(wildcards):
    """A published model is also counted the challenges' way (NTIRE protocol), to set beside its published figures."""
    return "--protocol ntire" if wildcards.run in PUBLISHED else ""


rule count:
    input:
        model=f"{RUNS}/{{run}}/final.pt",
    output:
        f"{RUNS}/{{run}}/counts.json",
    params:
        protocol=protocol_args,
    resources:
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/counts.log",
    shell:
        "repbench measure --model {input.model} --out {output} --threads 1 --device cpu {params.protocol} > {log} 2>&1"


# One timing per deployed network: every run whose merged network is the same graph on the same shapes
# (plain, RepVGG, ECBSR and RepSR at one Mx-Cy size) copies it, so identical networks can never read
# apart by timing noise. `repbench measure --deployed-timing` checks the network's signature first.
DEPLOYED_ARCH, TIMED_RUN = timing_groups.timing_groups([PLAN.spec(r) for r in RUN_IDS + PUBLISHED], prefer=PUBLISHED)
TIMINGS = f"results/timing/{NAME}"


rule time_deployed:
    input:
        model=lambda w: f"{RUNS}/{TIMED_RUN[w.arch]}/final.pt",
    output:
        f"{TIMINGS}/{{arch}}.json",
    params:
        args=pipeline_config.measure_cli_args(PRESET, timing_only=True),
    wildcard_constraints:
        arch="|".join(re.escape(a) for a in TIMED_RUN) or "no-networks",
    threads: TIMING_THREADS
    resources:
        gpu=GPU,
        slurm_extra="--exclusive",
        **CLUSTER,
    log:
        f"{TIMINGS}/{{arch}}.log",
    shell:
        GPU_LAUNCHER + "repbench measure --model {input.model} --out {output} --threads {threads} {params.args} --deployed-only > {log} 2>&1"


TIMES_THROUGHPUT = "--throughput" in pipeline_config.measure_cli_args(PRESET)


def shared_timing(wildcards):
    """The deployed network's one timing, where the preset times throughput."""
    return [f"{TIMINGS}/{DEPLOYED_ARCH[wildcards.run]}.json"] if TIMES_THROUGHPUT else []


rule measure:
    input:
        model=f"{RUNS}/{{run}}/final.pt",
        deployed=shared_timing,
    output:
        f"{RUNS}/{{run}}/measure.json",
    params:
        args=pipeline_config.measure_cli_args(PRESET),
        # the per-image latency of the challenges, on the first test set, beside the throughput
        protocol=lambda w: protocol_args(w) + (f" --latency-dataset {PLAN.test_data[0]}" if w.run in PUBLISHED else ""),
        shared=lambda w, input: f"--deployed-timing {input.deployed}" if input.deployed else "",
    threads: TIMING_THREADS
    resources:
        gpu=GPU,
        slurm_extra="--exclusive",
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/measure.log",
    shell:
        GPU_LAUNCHER + "repbench measure --model {input.model} --out {output} --threads {threads} {params.args} {params.protocol} {params.shared} > {log} 2>&1"
