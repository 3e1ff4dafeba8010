# Released checkpoints (data/published.yaml): imported into a run folder of their own, then counted,
# measured and evaluated by the same rules as the runs trained here. The file comes from the cache
# (data/downloads/checkpoints/), a local copy (../shared/checkpoints or $REPBENCH_SHARED_CHECKPOINTS)
# or a verified download; without any of them the job stops with a message naming the file and where
# to put it.


rule import_published:
    output:
        summary=f"{RUNS}/{{run}}/train.json",
        final=f"{RUNS}/{{run}}/final.pt",
        deployed=f"{RUNS}/{{run}}/deployed.pt",
    wildcard_constraints:
        run="|".join(re.escape(p) for p in PUBLISHED) or "no-published-models",
    params:
        run_dir=f"{RUNS}/{{run}}",
    resources:
        **CLUSTER,
    log:
        f"{RUNS}/{{run}}/import.log",
    shell:
        "repbench import {wildcards.run} --run-dir {params.run_dir} --quiet > {log} 2>&1 "
        "|| {{ cat {log} >&2; exit 1; }}"
