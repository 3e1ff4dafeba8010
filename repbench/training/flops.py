"""Training FLOPs of a run: what its budget of iterations cost in arithmetic (docs/conventions.md section 3).

    train_flops = FLOPS_PER_MAC x PASSES x sum over the run's iterations of the forward MACs of one step
    FLOPS_PER_MAC = 2   one multiply-add = 2 FLOPs (the project's MACs count it as 1)
    PASSES = 3          forward + backward: the backward pass computes the gradients with respect to the
                        activations and to the weights, each about one forward's MACs

The forward MACs of a step are fvcore's count (`repbench.measure.counts.fvcore_macs`, the same counter as
every MACs column) of the training-time network as the run trains it: its options (an ECBSR trained
`collapsed` runs one conv per block and its kernel arithmetic), in train mode (BN on batch statistics), on
one batch of LR patches. What a step costs once, whatever the batch (the online kernel merges of
OREPA or a collapsed block), and what each patch costs are told apart by counting a batch of 1 and of 2:
MACs(batch) = per_step + batch x per_sample, exact for every network here. A run with BN whose blocks
collapse after the BN freeze is counted in each form for its own steps, and a two-stage run at each
stage's patch. fvcore skips what it skips everywhere (PReLU, additions, padding, pixel shuffle).

It is counted once per (method, size, scale, colors, options, patch, form) in a process (cached), on a
single patch, so it costs a fraction of a second beside a training run; `None` where the counter fails.
Replayed steps of a loss-spike restart are not counted (nor are they in `iterations`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

FLOPS_PER_MAC = 2
PASSES = 3  # forward + backward
RULE = (
    "2 FLOPs per multiply-add x 3 (forward + backward) x fvcore's forward MACs of the training-time network "
    "as it trained (train mode, its options), at the run's batch and LR patch, summed over its iterations"
)
FROZEN = "frozen"  # after the BN freeze, blocks still branched
FROZEN_COLLAPSED = "frozen_collapsed"  # after the BN freeze, linear blocks run as one conv (collapse_frozen)


def matmul_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """fvcore handle for aten::matmul with vectors too (a kernel composition's `W @ b`; fvcore's own asserts
    on 1-D operands): one multiply-add per output element and contracted index."""
    from math import prod

    from fvcore.nn.jit_handles import get_shape

    first, out = get_shape(inputs[0]), get_shape(outputs[0])
    return prod(out or []) * (first[-1] if first else 1)


def _build(method: str, size: str, scale: int, colors: int, options: dict[str, Any], form: str) -> Any:
    import methods

    model = methods.build(method, size, scale, colors, **options).train()
    if form in (FROZEN, FROZEN_COLLAPSED):
        methods.freeze_bn(model)
        if form == FROZEN_COLLAPSED:
            methods.collapse_linear(model)
    return model


@lru_cache(maxsize=512)
def step_macs(method: str, size: str, scale: int, colors: int, options_json: str, patch: int,
              form: str = "") -> tuple[int, int]:
    """(per step, per sample) forward MACs of the training-time network on LR patches `patch` x `patch`:
    one step at batch B costs per_step + B x per_sample. `form`: "" (as built), FROZEN or FROZEN_COLLAPSED."""
    import torch

    from repbench.measure.counts import fvcore_macs

    model = _build(method, size, scale, colors, json.loads(options_json), form)
    handles = {"aten::matmul": matmul_macs}
    one, two = (fvcore_macs(model, torch.zeros(b, colors, patch, patch), handles)[0] for b in (1, 2))
    per_sample = two - one
    return one - per_sample, per_sample


def _has_bn(model: Any) -> bool:
    from torch import nn

    return any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) for m in model.modules())


@lru_cache(maxsize=256)
def _bn_of(method: str, size: str, scale: int, colors: int, options_json: str) -> bool:
    return _has_bn(_build(method, size, scale, colors, json.loads(options_json), ""))


def segments(cfg: Any, has_bn: bool) -> list[tuple[int, int, str]]:
    """(iterations, LR patch, form) of each part of a run: the two patch stages x before / after the BN freeze."""
    from repbench.training.config import freeze_start

    n = cfg.iterations
    stage2 = cfg.stage2_start if cfg.patch_size_stage2 else n
    freeze = freeze_start(cfg) if has_bn else None
    freeze = n if freeze is None else freeze
    after = FROZEN_COLLAPSED if cfg.collapse_frozen else FROZEN
    parts = []
    for lo, hi, patch in ((0, stage2, cfg.patch_size), (stage2, n, cfg.patch_size_stage2 or cfg.patch_size)):
        for flo, fhi, form in ((0, freeze, ""), (freeze, n, after)):
            steps = min(hi, fhi) - max(lo, flo)
            if steps > 0:
                parts.append((steps, patch, form))
    return parts


def train_flops(cfg: Any) -> int | None:
    """FLOPS_PER_MAC x PASSES x the forward MACs of every iteration of the run `cfg` (a TrainConfig); None
    when the network cannot be counted (never an error: a finished run must still write its train.json)."""
    try:
        key = (cfg.method, cfg.size, cfg.scale, cfg.colors, json.dumps(cfg.options, sort_keys=True, default=str))
        total = 0
        for steps, patch, form in segments(cfg, _bn_of(*key)):
            per_step, per_sample = step_macs(*key, patch, form)
            total += steps * (per_step + cfg.batch_size * per_sample)
        return FLOPS_PER_MAC * PASSES * total
    except Exception:  # noqa: BLE001 - a counter failure costs the run this one number, nothing else
        return None
