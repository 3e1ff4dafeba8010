"""The workflow side, read by the Snakefile without torch: presets and the experiment plan (`config`),
the report targets (`targets`), runs sharing one deployed-network timing (`timing_groups`), and the
cluster profile and GPU slots (`cluster`, `gpuslot`)."""
