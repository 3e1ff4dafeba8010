# Tables, figures and the leaderboard page. Each table needs only its own experiment's runs,
# so `snakemake results/table2.md` trains just what Table 2 shows.
# Rendering takes seconds and reads only small files, so a cluster run does it where Snakemake runs
# instead of queueing a job for each.

localrules:
    membership,
    table,
    sweep,
    figures,
    figure_bn,
    leaderboard,


# The preset's experiments, for the report: a run fills the tables that name it, not every table whose
# rows it matches (the 400-step IMDN-CLB of NTIRE Table 2 stays out of Table 5's 1200-step comparison).
# Its params are the membership itself, so adding a run to a table rewrites it and renders again.
rule membership:
    output:
        MEMBERSHIP,
    params:
        experiments=PLAN.experiments,
    run:
        pipeline_config.write_plan(output[0], NAME, params.experiments)


rule table:
    input:
        lambda w: experiment_inputs(w.table),
    output:
        "results/{table}.md",
    wildcard_constraints:
        table="|".join(targets.TABLES),
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only {wildcards.table}"


# A budget sweep (workflow/presets/sweep.yaml): its table and its figure from one render of its experiment's runs.
rule sweep:
    input:
        lambda w: experiment_inputs(w.sweep),
    output:
        [f"results/{{sweep}}{ext}" for ext in targets.SWEEP_FORMATS],
    wildcard_constraints:
        sweep="|".join(targets.SWEEPS),
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only {wildcards.sweep}"


FIGURE_INPUTS = experiment_inputs("table2", timed=True)
LEADERBOARD_INPUTS = (run_outputs(RUN_IDS + PUBLISHED) + bn_outputs(bn_runs()) + bicubic_outputs(
    {PLAN.spec(r).scale for r in RUN_IDS + PUBLISHED}) + [MEMBERSHIP])


rule figures:
    input:
        FIGURE_INPUTS,
    output:
        [f"results/{f}" for t in ("fig1", "fig6") for f in targets.target_files(t)],
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only fig1 fig6"


rule figure_bn:
    input:
        bn_outputs(bn_runs()),
    output:
        [f"results/{f}" for f in targets.target_files("fig5")],
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only fig5"


rule leaderboard:
    input:
        LEADERBOARD_INPUTS,
    output:
        [f"results/{f}" for f in targets.target_files("leaderboard")],
    params:
        preset=NAME,
    shell:
        "repbench report --runs {RUNS} --out results --preset {params.preset} --only leaderboard"


# The report files made from a file that was damaged (common.smk, REPAIRED): removed, so that the next
# render of each rebuilds that file first with its own rule (the plan file; a run's train.json by
# resuming the run at its last step, nothing retrained; an imported model by importing it again).
if REPAIRED:
    built_from = {f"results/{t}.md": experiment_inputs(t) for t in targets.TABLES}
    built_from.update({f"results/{f}": experiment_inputs(t) for t in targets.SWEEPS for f in targets.target_files(t)})
    built_from.update({f"results/{f}": FIGURE_INPUTS for t in ("fig1", "fig6") for f in targets.target_files(t)})
    built_from.update({f"results/{f}": LEADERBOARD_INPUTS for f in targets.target_files("leaderboard")})
    for report_file in cluster.made_from(built_from, [p for p, _ in REPAIRED]):
        Path(report_file).unlink(missing_ok=True)
