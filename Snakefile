# repbench pipeline: train -> merge -> measure / evaluate -> report.
# Every rule calls the `repbench` CLI; this file only wires them together.
#   snakemake --cores all results/table2.md                       (default preset: cpu)
#   snakemake --cores all --config preset=smoke                   (any preset in workflow/presets/)
#   snakemake --cores all --configfile my-preset.yaml             (your own preset file)
from snakemake.utils import min_version

min_version("8.10")


configfile: "workflow/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/published.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/measure.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        REPORT_TARGETS,
