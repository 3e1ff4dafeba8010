"""Checks of a pipeline plan that need the training images: each run's patch against their sizes.

The patch sampler (repbench.training.patches.PatchSampler) draws an LR patch p x p from the training images
whose LR is at least p x p and skips the others; it fails only when no image is that large, and it
fails before any training step, but only once the job has started and written its run folder. The
plan knows the images' sizes cheaply (repbench.data.sizes), so such a patch fails `snakemake -n`
instead, naming the run, the patch and the largest patch that fits (pipeline_config.plan; on fallback
data standing in for missing sets, the runs are named in the fallback warning instead).
"""
from __future__ import annotations

from typing import Any, Iterable

from repbench.errors import RepbenchError
from repbench.training.config import HOLDOUT, holdout_count


def largest_patch(train_data: str, val_data: str, scale: int) -> int | None:
    """The largest LR patch side some training image of `train_data` (comma-separated datasets) holds
    at `scale`, after the held-out validation images (val_data holdout:N) are taken out as the
    trainer takes them; None when the images' sizes are not known cheaply."""
    from repbench.data.sizes import lr_sizes
    from repbench.training.datasets import split_holdout

    sizes = []
    for name in (n.strip() for n in train_data.split(",") if n.strip()):
        known = lr_sizes(name, scale)
        if known is None:
            return None
        sizes += known
    if not sizes:
        return None
    if val_data.startswith(HOLDOUT):
        sizes, _ = split_holdout(sizes, holdout_count(val_data))  # type: ignore[arg-type]  # needs .name only
    return max(min(s.height, s.width) for s in sizes)


def patch_problems(runs: Iterable[Any]) -> list[str]:
    """One message per run (a pipeline_config.RunSpec) whose patch_size, or second-stage
    patch_size_stage2, no training image holds at its scale: the run, the patch and the largest that fits."""
    known: dict[tuple[str, str, int], int | None] = {}
    problems = []
    for spec in runs:
        cfg = spec.config
        key = (str(cfg["train_data"]), str(cfg["val_data"]), int(cfg["scale"]))
        if key not in known:
            try:
                known[key] = largest_patch(*key)
            except RepbenchError as err:  # e.g. more images held out than there are
                raise ValueError(f"run {spec.run_id}: {err}") from None
        largest = known[key]
        fields = ("patch_size", "patch_size_stage2") if largest is not None else ()
        too_large = [f for f in fields if int(cfg.get(f) or 0) > largest]  # type: ignore[operator]
        problems += [f"run {spec.run_id}: {field} {cfg[field]} is larger than every training image at x{key[2]} "
                     f"({key[0]}: the largest LR patch that fits is {largest}x{largest}); set {field} to at most "
                     f"{largest} in the preset's train section (or the run's), or train on larger images"
                     for field in too_large]
    return problems
