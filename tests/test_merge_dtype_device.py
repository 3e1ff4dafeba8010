"""The merge keeps the network's device and dtype: float64 merges are exact to float64 rounding,
meta merges stay on meta (what a GPU merge relies on: no round trip through CPU float32)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import methods
from _helpers import randomize_bn, train_a_little

# (method, size, colors, scale, options): every mergeable method, every RepSR ablation variant.
CASES = [
    ("plain", "M4C8", 1, 4, {}),
    ("repvgg", "M4C8", 1, 4, {}),
    ("ecbsr", "M4C8", 1, 4, {}),
    ("dbb", "M4C8", 1, 4, {}),
    ("orepa", "M4C8", 1, 4, {}),
    ("conv3xc", "M4C8", 1, 4, {}),
    ("conv3xc", "M4C8", 3, 2, {"collapsed": True}),
    ("sesr", "M5C16", 1, 4, {"width": 32}),
    ("imdn-clb", "B1", 3, 2, {"channels": 16}),
    ("imdn", "B1", 3, 2, {"channels": 16}),
    ("span", "C8B2", 3, 4, {}),
    ("span", "C4B1", 1, 3, {"norm": False}),
] + [("repsr", "M4C8", 1, 3, {"variant": v}) for v in ("repsr", "no_residual", "residual_bn", "c3bn_c1bn", "c3bnc1bn", "c1bnc3")]
IDS = [f"{m}-{o.get('variant', s)}" + ("-collapsed" if o.get("collapsed") else "") for m, s, _, _, o in CASES]


def _trained(method: str, size: str, colors: int, scale: int, options: dict) -> nn.Module:
    torch.manual_seed(0)
    model = methods.build(method, size, scale=scale, colors=colors, **options)
    train_a_little(model, colors, scale, steps=2)
    randomize_bn(model)
    return model


@pytest.mark.parametrize("method,size,colors,scale,options", CASES, ids=IDS)
def test_float64_merge_is_exact_and_stays_float64(method: str, size: str, colors: int, scale: int, options: dict) -> None:
    model = _trained(method, size, colors, scale, options).double().eval()
    merged = methods.merge(model)
    dtypes = {p.dtype for p in merged.parameters()} | {b.dtype for b in merged.buffers() if b.is_floating_point()}
    assert dtypes == {torch.float64}
    x = torch.rand(2, colors, 19, 23, dtype=torch.float64)
    with torch.inference_mode():
        y, y_merged = model(x), merged(x)
    assert y.dtype == y_merged.dtype == torch.float64
    assert y.abs().max().item() > 0.1  # a real output, not a vanishing one
    err = (y - y_merged).abs().max().item()
    # A float32 round trip anywhere in the merge would leave errors near 1e-7.
    assert err <= 1e-9, f"{method} float64 merge error {err:.3g}"


@pytest.mark.parametrize("method,size,colors,scale,options", CASES, ids=IDS)
def test_meta_merge_stays_on_meta(method: str, size: str, colors: int, scale: int, options: dict) -> None:
    model = methods.build(method, size, scale=scale, colors=colors, **options).to("meta").eval()
    merged = methods.merge(model)
    assert {p.device.type for p in merged.parameters()} == {"meta"}
    assert {b.device.type for b in merged.buffers()} <= {"meta"}
    # The merged net still runs (shape inference on meta) and has the plain net's layout.
    out = merged(torch.empty(1, colors, 8, 8, device="meta"))
    assert out.device.type == "meta" and out.shape == (1, colors, 8 * scale, 8 * scale)


def test_every_mergeable_method_is_covered() -> None:
    from methods import registry

    mergeable = {name for name in registry.methods() if methods.is_mergeable(name)}
    assert mergeable <= {case[0] for case in CASES}


def test_rep_block_as_conv_keeps_device_and_dtype() -> None:
    from methods.repvgg import repvgg_block

    block = repvgg_block(4, 4)
    conv64 = block.double().as_conv()
    assert conv64.weight.dtype == conv64.bias.dtype == torch.float64
    conv_meta = block.to("meta").as_conv()
    assert conv_meta.weight.device.type == conv_meta.bias.device.type == "meta"


def test_frozen_bn_model_merges_in_float64() -> None:
    model = _trained("repsr", "M4C8", 1, 4, {})
    methods.freeze_bn(model)
    model = model.double()
    model.train()  # frozen BN keeps population statistics even in train mode
    merged = methods.merge(model)
    x = torch.rand(1, 1, 17, 13, dtype=torch.float64)
    with torch.no_grad():
        assert (model.eval()(x) - merged(x)).abs().max().item() <= 1e-9
    assert {p.dtype for p in merged.parameters()} == {torch.float64}
