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
    shell:
        "repbench eval --model {input.model} --dataset {params.datasets} --scale {wildcards.scale} "
        "--device {params.device} --out '{params.out}' > {log} 2>&1"


rule evaluate_bicubic:
    output:
        [f"{RUNS}/bicubic-x{{scale}}/eval/{d}-x{{scale}}.json" for d in PLAN.test_data],
    log:
        f"{RUNS}/bicubic-x{{scale}}/eval/x{{scale}}.log",
    params:
        datasets=" ".join(PLAN.test_data),
        out=lambda w: f"{RUNS}/bicubic-x{w.scale}/eval/{{dataset}}-x{w.scale}.json",
    shell:
        "repbench eval --model bicubic --dataset {params.datasets} --scale {wildcards.scale} "
        "--out '{params.out}' > {log} 2>&1"


rule evaluate_nearest:
    output:
        [f"{RUNS}/nearest-x{{scale}}/eval/{d}-x{{scale}}.json" for d in PLAN.test_data],
    log:
        f"{RUNS}/nearest-x{{scale}}/eval/x{{scale}}.log",
    params:
        datasets=" ".join(PLAN.test_data),
        out=lambda w: f"{RUNS}/nearest-x{w.scale}/eval/{{dataset}}-x{w.scale}.json",
    shell:
        "repbench eval --model nearest --dataset {params.datasets} --scale {wildcards.scale} "
        "--out '{params.out}' > {log} 2>&1"


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
    log:
        f"{RUNS}/{{run}}/bn/bn_diagnose.log",
    shell:
        "repbench bn-diagnose {params.run_dir} --dataset {params.dataset} --scale {params.scale} "
        "--device {params.device} --out {params.run_dir}/bn --threads 1 > {log} 2>&1"
