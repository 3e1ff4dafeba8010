# Tables, figures and the leaderboard page. Each table needs only its own experiment's runs,
# so `snakemake results/table2.md` trains just what Table 2 shows.


rule table:
    input:
        lambda w: experiment_inputs(w.table),
    output:
        "results/{table}.md",
    wildcard_constraints:
        table="|".join(pipeline_config.TABLES),
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only {wildcards.table}"


rule figures:
    input:
        experiment_inputs("table2"),
    output:
        multiext("results/fig1_tradeoff", ".png", ".svg"),
        multiext("results/fig6_curves", ".png", ".svg"),
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only fig1 fig6"


rule figure_bn:
    input:
        bn_outputs(bn_runs()),
    output:
        multiext("results/fig5_bn_stats", ".png", ".svg"),
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only fig5"


rule leaderboard:
    input:
        run_outputs(RUN_IDS),
        bn_outputs(bn_runs()),
        bicubic_outputs({s.scale for s in PLAN.runs.values()}),
    output:
        "results/leaderboard.html",
        "results/leaderboard.csv",
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only leaderboard"
