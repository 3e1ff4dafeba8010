"""Parameterizations after RepSR: DBB (Ding et al. 2021), OREPA (Hu et al. 2022) and SPAN's Conv3XC (Wan et
al. 2024) merge exactly into the plain Mx-Cy network (docs/conventions.md sections 2, "DBB and OREPA", and 7)."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import methods
from _helpers import randomize_bn, train_a_little
from methods import registry
from repbench.measure.models import architecture_signature, build_pair

LATER = ("dbb", "orepa", "conv3xc")
TABLE2 = methods.TABLE2_SIZES
PLAIN_COUNTS_Y_X4 = {"M4C8": 3_624, "M4C16": 11_840, "M10C16": 25_856, "M10C32": 97_776, "M16C64": 601_808}
SCALE, COLORS = 4, 1


def _trained(method: str, size: str, steps: int = 3) -> nn.Module:
    """A few training steps (weights and BN statistics move), then random BN statistics and affines.
    Conv3XC has no BN whose random statistics move its zero-started output block: a random one instead."""
    torch.manual_seed(0)
    model = methods.build(method, size, scale=SCALE, colors=COLORS)
    train_a_little(model, COLORS, SCALE, steps=steps)
    randomize_bn(model)
    if method == "conv3xc":
        model.convs[-1].init_(0.5)
    return model


def _blocks(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if hasattr(m, "as_conv")]


def _nearest(x: torch.Tensor, scale: int) -> torch.Tensor:
    return x.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)



def assert_same_function_and_gradients(model: torch.nn.Module, twin: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The two nets give the same output (1e-9) and the same gradient to every parameter; returns model(x)."""
    y, y_c = model(x), twin(x)
    assert (y - y_c).abs().max().item() <= 1e-9
    y.square().mean().backward()
    y_c.square().mean().backward()
    grads = dict(model.named_parameters())
    for name, p in twin.named_parameters():
        assert torch.allclose(p.grad, grads[name].grad, rtol=1e-7, atol=1e-12), name
    return y

def test_registry_lines() -> None:
    for name, label in zip(LATER, ("DBB", "OREPA", "Conv3XC")):
        info = registry.info(name)
        assert (info.label, info.size_format, info.mergeable, info.deploys_as) == (label, "M{m}C{c}", True, "plain")
        assert info.closed_form == "mxcy" and info.paper_count == "mxcy" and info.table_sizes == TABLE2
        assert registry.deployed_arch(name, "M4C16", 4, 1) == "plain-M4C16-x4-c1"


@pytest.mark.parametrize("method,size", list(itertools.product(LATER, TABLE2)))
def test_float64_merge_is_exact(method: str, size: str) -> None:
    model = _trained(method, size).double().eval()
    merged = methods.merge(model)
    assert {p.dtype for p in merged.parameters()} == {torch.float64}
    x = torch.rand(2, COLORS, 19, 23, dtype=torch.float64)
    with torch.inference_mode():
        y, y_merged = model(x), merged(x)
    assert y.shape == (2, COLORS, 19 * SCALE, 23 * SCALE)
    residual = y - _nearest(x, SCALE)
    assert residual.abs().max().item() > 0.05  # the blocks contribute: not a vanishing output layer
    err = (y - y_merged).abs()
    assert err.max().item() <= 1e-9, f"{method} {size} float64 merge error {err.max().item():.3g}"
    # The border is where 1x1 -> 3x3 / pooling merges go wrong: the ring of pixels the padding reaches.
    ring = torch.ones_like(y, dtype=torch.bool)
    ring[..., 2 * SCALE: -2 * SCALE, 2 * SCALE: -2 * SCALE] = False
    assert err[ring].max().item() <= 1e-9


@pytest.mark.parametrize("method,size", list(itertools.product(LATER, TABLE2)))
def test_meta_merge_builds_without_data(method: str, size: str) -> None:
    model = methods.build(method, size, scale=SCALE, colors=COLORS).to("meta").eval()
    merged = methods.merge(model)
    assert {p.device.type for p in merged.parameters()} == {"meta"}
    assert {b.device.type for b in merged.buffers()} <= {"meta"}
    out = merged(torch.empty(1, COLORS, 8, 8, device="meta"))
    assert out.device.type == "meta" and out.shape == (1, COLORS, 8 * SCALE, 8 * SCALE)
    # The training-time net runs on meta too (shape inference through the padded rings).
    assert model.train()(torch.empty(2, COLORS, 8, 8, device="meta")).shape == (2, COLORS, 8 * SCALE, 8 * SCALE)
    assert architecture_signature(merged) == architecture_signature(build_pair("plain", size, SCALE, COLORS).deployed)


@pytest.mark.parametrize("method,size", list(itertools.product(LATER, TABLE2)))
def test_merges_to_the_plain_network_and_its_counts(method: str, size: str) -> None:
    pair = build_pair(method, size, SCALE, COLORS)
    assert architecture_signature(pair.deployed) == architecture_signature(build_pair("plain", size, SCALE, COLORS).deployed)
    assert methods.count_params(pair.deployed) == PLAIN_COUNTS_Y_X4[size]
    assert methods.count_params(pair.training) > PLAIN_COUNTS_Y_X4[size]  # more weights train, the same deploy
    kinds = {type(m) for m in pair.deployed.modules()}
    assert kinds <= {nn.Conv2d, nn.PReLU, nn.PixelShuffle, nn.ModuleList, type(pair.deployed)}


@pytest.mark.parametrize("method", LATER)
def test_untrained_net_is_the_nearest_upsampler(method: str) -> None:
    """The output block starts at exactly zero (its last BNs' scale 0), so the net starts at its skip."""
    torch.manual_seed(0)
    model = methods.build(method, "M4C16", scale=SCALE, colors=COLORS)
    x = torch.rand(3, COLORS, 11, 13)
    with torch.no_grad():
        for mode in (True, False):  # batch statistics and running statistics
            assert torch.equal(model.train(mode)(x), _nearest(x, SCALE))
        assert torch.equal(methods.merge(model)(x), _nearest(x, SCALE))


@pytest.mark.parametrize("method", LATER)
def test_as_conv_does_not_mutate(method: str) -> None:
    model = _trained(method, "M4C8", steps=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    kinds = [type(m) for m in model.modules()]
    for block in _blocks(model):
        block.as_conv()
    methods.merge(model)
    assert [type(m) for m in model.modules()] == kinds and [m.training for m in model.modules()] == modes
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(getattr(b, "collapsed", False) for b in _blocks(model))


@pytest.mark.parametrize("method", LATER)
def test_bn_freeze_then_collapse_is_the_same_function(method: str) -> None:
    """After the BN freeze the training loop collapses the blocks (methods.collapse_linear): one conv
    per block, the same outputs and the same gradients as the form that trained until then."""
    model = _trained(method, "M4C8", steps=2).double()
    methods.freeze_bn(model)
    twin = _trained(method, "M4C8", steps=2).double()
    twin.load_state_dict(model.state_dict())
    methods.freeze_bn(twin)
    methods.collapse_linear(twin)
    assert all(b.collapsed for b in _blocks(twin)) and not any(b.collapsed for b in _blocks(model))
    x = torch.rand(2, COLORS, 13, 11, dtype=torch.float64)
    y = assert_same_function_and_gradients(model.train(), twin.train(), x)
    with torch.no_grad():
        assert (methods.merge(model)(x) - y).abs().max().item() <= 1e-9


def test_dbb_batch_statistics_exclude_the_padded_ring() -> None:
    """The ring around a 1x1 -> BN output is added after the BN: its batch statistics are the feature
    map's own, and in train mode the ring holds what that batch's BN makes of 0."""
    from methods.dbb import AvgBranch, OneByOneKxK

    torch.manual_seed(0)
    for branch in (AvgBranch(3, 5), OneByOneKxK(3, 5)):
        branch.init_(1.0)
        branch = branch.double().train()
        conv = branch.conv if isinstance(branch, AvgBranch) else branch.first
        x = torch.rand(4, 3, 9, 10, dtype=torch.float64) + 0.5  # nonzero mean: a ring of BN(0) would move it
        branch(x)
        with torch.no_grad():
            y = conv(x)
            expect = branch.bn_mid.momentum * y.mean(dim=(0, 2, 3))
        assert torch.allclose(branch.bn_mid.running_mean, expect, rtol=1e-12, atol=1e-15)

    from methods.dbb import bn_then_pad

    bn = nn.BatchNorm2d(2).double().train()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.7, 1.3], dtype=torch.float64))
        bn.bias.copy_(torch.tensor([0.1, -0.2], dtype=torch.float64))
    y = torch.rand(3, 2, 5, 6, dtype=torch.float64) * 2 + 1
    out = bn_then_pad(y, bn, 1)
    mean, var = y.mean(dim=(0, 2, 3)), y.var(dim=(0, 2, 3), unbiased=False)
    ring_value = bn.bias - mean * bn.weight / torch.sqrt(var + bn.eps)
    assert out.shape == (3, 2, 7, 8)
    assert torch.allclose(out[:, :, 0, :], ring_value.reshape(1, 2, 1).expand(3, 2, 8), atol=1e-12)
    assert torch.allclose(out[:, :, 1:-1, 1:-1], (y - mean.reshape(1, 2, 1, 1)) / torch.sqrt(var.reshape(1, 2, 1, 1) + bn.eps)
                          * bn.weight.reshape(1, 2, 1, 1) + bn.bias.reshape(1, 2, 1, 1), atol=1e-12)


def test_orepa_trains_one_conv_and_every_branch_learns() -> None:
    """OREPA's block runs one conv (and its BN) per forward; every branch kernel and scaling vector
    still gets a gradient through the online merge."""
    from methods.orepa import BRANCHES, OREPABlock

    torch.manual_seed(0)
    block = OREPABlock(4, 6).train()
    calls = []
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: calls.append(type(m).__name__))
    real_conv2d = torch.nn.functional.conv2d
    convs = []

    def counting_conv2d(*args, **kwargs):
        convs.append(args[0].shape)
        return real_conv2d(*args, **kwargs)

    torch.nn.functional.conv2d = counting_conv2d
    try:
        y = block(torch.rand(2, 4, 9, 9))
    finally:
        torch.nn.functional.conv2d = real_conv2d
        handle.remove()
    assert len(convs) == 1 and calls == ["BatchNorm2d", "OREPABlock"]
    y.square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert block.scales.shape == (len(BRANCHES), 6)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in block.modules() if m is not block.bn)


@pytest.mark.parametrize("size", TABLE2)
def test_conv3xc_collapsed_trains_the_same_function(size: str) -> None:
    """`collapsed=True` runs the merged kernel (rebuilt at every step): the same outputs and gradients as the
    branched Conv3XC chain, and the same deployed network."""
    branched = _trained("conv3xc", size, steps=2).double()
    branched.zero_grad(set_to_none=True)  # the gradients of its last training step
    collapsed = methods.build("conv3xc", size, scale=SCALE, colors=COLORS, collapsed=True).double()
    collapsed.load_state_dict(branched.state_dict())
    assert all(b.collapsed for b in _blocks(collapsed)) and not any(b.collapsed for b in _blocks(branched))
    x = torch.rand(2, COLORS, 13, 11, dtype=torch.float64)
    assert_same_function_and_gradients(branched.train(), collapsed.train(), x)
    assert architecture_signature(methods.merge(collapsed)) == architecture_signature(methods.merge(branched))
