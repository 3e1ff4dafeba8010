# Counts, MACs, throughput and training speed. Timing jobs take every core so that no
# training job runs beside them and skews the clock.


rule measure:
    input:
        model=f"{RUNS}/{{run}}/final.pt",
    output:
        f"{RUNS}/{{run}}/measure.json",
    params:
        args=pipeline_config.measure_cli_args(PRESET),
    threads: workflow.cores
    resources:
        gpu=GPU,
    log:
        f"{RUNS}/{{run}}/measure.log",
    shell:
        "repbench measure --model {input.model} --out {output} --threads {threads} {params.args} > {log} 2>&1"
