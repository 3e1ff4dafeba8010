# PSNR/SSIM of every deployed model and of the bicubic baseline on each test set.


rule evaluate:
    input:
        model=f"{RUNS}/{{run}}/deployed.pt",
    output:
        f"{RUNS}/{{run}}/eval/{{dataset}}-x{{scale}}.json",
    log:
        f"{RUNS}/{{run}}/eval/{{dataset}}-x{{scale}}.log",
    shell:
        "repbench eval --model {input.model} --dataset {wildcards.dataset} --scale {wildcards.scale} "
        "--out {output} > {log} 2>&1"


rule evaluate_bicubic:
    output:
        f"{RUNS}/bicubic-x{{scale}}/eval/{{dataset}}-x{{scale}}.json",
    log:
        f"{RUNS}/bicubic-x{{scale}}/eval/{{dataset}}-x{{scale}}.log",
    shell:
        "repbench eval --model bicubic --dataset {wildcards.dataset} --scale {wildcards.scale} "
        "--out {output} > {log} 2>&1"
