# PSNR/SSIM of every deployed model and of the floors (bicubic, nearest neighbour) on each test set.


rule evaluate:
    # Every test set in one job: the imports and the model load are paid once per run.
    input:
        model=f"{RUNS}/{{run}}/deployed.pt",
    output:
        [f"{RUNS}/{{run}}/eval/{d}-x{{scale}}.json" for d in PLAN.test_data],
    log:
        f"{RUNS}/{{run}}/eval/x{{scale}}.log",
    params:
        device=PRESET["device"],
        datasets=" ".join(PLAN.test_data),
        out=lambda w: f"{RUNS}/{w.run}/eval/{{dataset}}-x{w.scale}.json",
    resources:
        gpu=GPU,  # it runs the model on the preset's device: on SLURM, a GPU job needs a GPU allocated
        **CLUSTER,
    shell:
        GPU_LAUNCHER + "repbench eval --model {input.model} --dataset {params.datasets} --scale {wildcards.scale} "
        "--device {params.device} --out '{params.out}' > {log} 2>&1"


rule evaluate_bicubic:
    output:
        f"{RUNS}/bicubic-x{{scale}}/eval/{{dataset}}-x{{scale}}.json",
    log:
        f"{RUNS}/bicubic-x{{scale}}/eval/{{dataset}}-x{{scale}}.log",
    resources:
        **CLUSTER,
    shell:
        "repbench eval --model bicubic --dataset {wildcards.dataset} --scale {wildcards.scale} "
        "--out {output} > {log} 2>&1"


rule evaluate_nearest:
    output:
        f"{RUNS}/nearest-x{{scale}}/eval/{{dataset}}-x{{scale}}.json",
    log:
        f"{RUNS}/nearest-x{{scale}}/eval/{{dataset}}-x{{scale}}.log",
    resources:
        **CLUSTER,
    shell:
        "repbench eval --model nearest --dataset {wildcards.dataset} --scale {wildcards.scale} "
        "--out {output} > {log} 2>&1"


def bn_runs():
    """Table 1's runs whose network has BatchNorm: the paper's BN artifact analysis applies to them."""
    return [r for r in PLAN.experiments.get("table1", []) if PLAN.runs[r].options.get("bn")]


rule bn_diagnose:
    input:
        model=f"{RUNS}/{{run}}/final.pt",
    output:
        f"{RUNS}/{{run}}/bn/bn_diagnose.json",
    params:
        dataset=PLAN.test_data[0],
        scale=lambda w: PLAN.runs[w.run].scale,
        run_dir=f"{RUNS}/{{run}}",
        device=PRESET["device"],
    resources:
        gpu=GPU,
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/bn/bn_diagnose.log",
    shell:
        GPU_LAUNCHER + "repbench bn-diagnose {params.run_dir} --dataset {params.dataset} --scale {params.scale} "
        "--device {params.device} --out {params.run_dir}/bn --threads 1 > {log} 2>&1"
