# PSNR/SSIM of every deployed model and of the floors (bicubic, nearest neighbour) on each test set.


def eval_outputs(run_dir):
    """The eval files of one run folder (a pattern with {scale}), one per test set."""
    return [f"{run_dir}/eval/{d}-x{{scale}}.json" for d in PLAN.test_data]


def eval_out_template(run_dir):
    """`repbench eval --out`: the same files, {dataset} left for repbench to fill in."""
    return lambda w: f"{run_dir.format(**dict(w.items()))}/eval/{{dataset}}-x{w.scale}.json"


rule evaluate:
    # Every test set in one job: the imports and the model load are paid once per run.
    input:
        model=f"{RUNS}/{{run}}/deployed.pt",
    output:
        eval_outputs(f"{RUNS}/{{run}}"),
    log:
        f"{RUNS}/{{run}}/eval/x{{scale}}.log",
    params:
        device=PRESET["device"],
        datasets=" ".join(PLAN.test_data),
        out=eval_out_template(f"{RUNS}/{{run}}"),
    resources:
        gpu=GPU,  # it runs the model on the preset's device: on SLURM, a GPU job needs a GPU allocated
        **CLUSTER,
    shell:
        GPU_LAUNCHER + "repbench eval --model {input.model} --dataset {params.datasets} --scale {wildcards.scale} "
        "--device {params.device} --out '{params.out}' > {log} 2>&1"


rule evaluate_floor:
    # Bicubic and nearest-neighbour upscaling of the test sets: the floors every table compares with.
    output:
        eval_outputs(f"{RUNS}/{{floor}}-x{{scale}}"),
    log:
        f"{RUNS}/{{floor}}-x{{scale}}/eval/x{{scale}}.log",
    params:
        datasets=" ".join(PLAN.test_data),
        out=eval_out_template(f"{RUNS}/{{floor}}-x{{scale}}"),
    wildcard_constraints:
        floor="bicubic|nearest",
    resources:
        **CLUSTER,
    shell:
        "repbench eval --model {wildcards.floor} --dataset {params.datasets} --scale {wildcards.scale} "
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
    resources:
        gpu=GPU,
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/bn/bn_diagnose.log",
    shell:
        GPU_LAUNCHER + "repbench bn-diagnose {params.run_dir} --dataset {params.dataset} --scale {params.scale} "
        "--device {params.device} --out {params.run_dir}/bn --threads 1 > {log} 2>&1"
