"""Contracts of the method zoo: build, merge equivalence, counts, freeze_bn, save/load."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import methods
from _helpers import randomize_bn, train_a_little

TABLE2 = methods.TABLE2_SIZES
PLAIN_COUNTS_Y_X4 = {"M4C8": 3_624, "M4C16": 11_840, "M10C16": 25_856, "M10C32": 97_776, "M16C64": 601_808}
TO_PLAIN = ("plain", "repvgg", "ecbsr", "repsr")
MERGEABLE = ("plain", "repvgg", "ecbsr", "repsr", "sesr")


def _cases() -> list[tuple[str, str, int, int]]:
    """Every mergeable method x the five sizes x colors x scales; the two big sizes sampled."""
    cases = []
    for method, size, colors, scale in itertools.product(MERGEABLE, TABLE2, (1, 3), (2, 3, 4)):
        big = size in ("M10C32", "M16C64")
        if big and (colors, scale) not in ((1, 4), (3, 2)):
            continue
        cases.append((method, size, colors, scale))
    # Methods with their own size format: SPAN (Conv3XC blocks, a 1x1 -> 3x3 chain with bias padding).
    cases += [("span", "C8B2", colors, scale) for colors, scale in itertools.product((1, 3), (2, 3, 4))]
    return cases


def _randomize_and_train(model: nn.Module, colors: int, scale: int, steps: int = 3) -> None:
    """A few Adam steps (so BN stats and weights move), then random BN statistics and affines."""
    train_a_little(model, colors, scale, steps)
    randomize_bn(model)


@pytest.mark.parametrize("method,size,colors,scale", _cases())
def test_merge_is_equivalent(method: str, size: str, colors: int, scale: int) -> None:
    model = methods.build(method, size, scale=scale, colors=colors)
    _randomize_and_train(model, colors, scale)
    model.eval()
    merged = methods.merge(model)
    x = torch.rand(2, colors, 37, 41)
    with torch.inference_mode():
        y, y_merged = model(x), merged(x)
    assert y.shape == (2, colors, 37 * scale, 41 * scale)
    assert (y - y_merged).abs().max().item() <= 1e-4
    # Borders are where 1x1 -> 3x3 merges go wrong: check them on their own.
    ring = torch.ones_like(y, dtype=torch.bool)
    ring[..., 2 * scale : -2 * scale, 2 * scale : -2 * scale] = False
    assert (y - y_merged)[ring].abs().max().item() <= 1e-4


@pytest.mark.parametrize("method", MERGEABLE)
def test_merged_network_is_plain(method: str) -> None:
    merged = methods.merge(methods.build(method, "M4C16", scale=4, colors=3))
    allowed = (nn.Conv2d, nn.PReLU, nn.PixelShuffle, nn.ModuleList, type(merged))
    kinds = {type(m) for m in merged.modules()}
    assert kinds <= set(allowed), kinds - set(allowed)
    assert all(m.kernel_size in ((3, 3), (5, 5)) for m in merged.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("size", TABLE2)
def test_same_size_merges_to_same_count(size: str) -> None:
    counts = {m: methods.count_params(methods.merge(methods.build(m, size))) for m in TO_PLAIN}
    assert set(counts.values()) == {PLAIN_COUNTS_Y_X4[size]}, counts
    # Only the training-time parameterization differs: every re-parameterized method trains more weights.
    for m in ("repvgg", "ecbsr", "repsr"):
        assert methods.count_params(methods.build(m, size)) > PLAIN_COUNTS_Y_X4[size]


def test_merge_does_not_mutate_input() -> None:
    model = methods.build("repsr", "M4C8")
    _randomize_and_train(model, 1, 4, steps=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    kinds = [type(m) for m in model.modules()]
    methods.merge(model)
    assert [type(m) for m in model.modules()] == kinds
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_sesr_merges_to_its_own_bias_free_topology() -> None:
    merged = methods.merge(methods.build("sesr", "M5C16"))
    convs = [m for m in merged.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 7 and all(c.bias is None for c in convs)
    weights = sum(c.weight.numel() for c in convs)
    assert weights == 18_320  # SESR-M5C16 Table 2 count: conv weights only
    assert sum(c.weight.numel() for c in methods.merge(methods.build("sesr", "M11C32")).modules() if isinstance(c, nn.Conv2d)) == 114_976


def test_edsr_is_not_mergeable_and_has_standard_count() -> None:
    model = methods.build("edsr", "R5C32", scale=4, colors=3)
    assert methods.count_params(model) == 177_475
    assert model(torch.rand(1, 3, 9, 11)).shape == (1, 3, 36, 44)
    assert methods.build("edsr", "R4C16", scale=3, colors=1)(torch.rand(1, 1, 9, 11)).shape == (1, 1, 27, 33)
    with pytest.raises(methods.NotMergeableError, match="not re-parameterizable"):
        methods.merge(model)


@pytest.mark.parametrize("variant", ("repsr", "no_residual", "residual_bn", "c3bn_c1bn", "c3bnc1bn", "c1bnc3"))
def test_repsr_ablation_variants_merge(variant: str) -> None:
    model = methods.build("repsr", "M4C8", scale=2, colors=3, variant=variant)
    _randomize_and_train(model, 3, 2)
    merged = methods.merge(model.eval())
    x = torch.rand(1, 3, 37, 41)
    with torch.inference_mode():
        assert (model(x) - merged(x)).abs().max().item() <= 1e-4
    assert methods.count_params(merged) == methods.count_params(methods.build("plain", "M4C8", scale=2, colors=3))


@pytest.mark.parametrize("expand,branches", [(1, 1), (3, 2), (2, 4), (4, 3)])
def test_repsr_width_and_branches(expand: int, branches: int) -> None:
    model = methods.build("repsr", "M4C8", expand=expand, branches=branches)
    body = model.convs[1]
    assert len(body.branches) == branches
    assert body.branches[0].first.out_channels == expand * 8
    _randomize_and_train(model, 1, 4, steps=1)
    with torch.inference_mode():
        x = torch.rand(1, 1, 37, 41)
        assert (model.eval()(x) - methods.merge(model)(x)).abs().max().item() <= 1e-4


@pytest.mark.parametrize("method,size", [("ecbsr", "M4C16"), ("sesr", "M5C16"), ("sesr", "M11C16")])
def test_collapsed_training_matches_multi_branch(method: str, size: str) -> None:
    torch.manual_seed(1)
    branched = methods.build(method, size, scale=3, colors=1)
    collapsed = methods.build(method, size, scale=3, colors=1, collapsed=True)
    collapsed.load_state_dict(branched.state_dict())
    x = torch.rand(2, 1, 23, 19)
    y_b, y_c = branched(x), collapsed(x)
    assert (y_b - y_c).abs().max().item() <= 1e-4
    # Same function means the same gradients too (up to float reassociation).
    y_b.square().mean().backward()
    y_c.square().mean().backward()
    gb = dict(branched.named_parameters())
    for name, p in collapsed.named_parameters():
        assert torch.allclose(p.grad, gb[name].grad, rtol=1e-3, atol=1e-6), name


def test_collapsed_mode_refuses_bn_blocks() -> None:
    from methods.blocks import ConvBranch, RepBlock

    with pytest.raises(ValueError, match="linear block"):
        RepBlock(4, 4, [ConvBranch(4, 4, 3, bn=True)], collapsed=True)


def test_freeze_bn_stops_running_stat_updates() -> None:
    model = methods.build("repsr", "M4C8")
    # The output layer starts at zero, which blocks every gradient before the first step;
    # give it weights so the check below sees what a trained network's BNs get.
    model.convs[-1].init_(1.0)
    model.train()
    model(torch.rand(4, 1, 10, 10))
    methods.freeze_bn(model)
    model.train()  # a later train() must not undo the freeze
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    stats = [(b.running_mean.clone(), b.running_var.clone(), int(b.num_batches_tracked)) for b in bns]
    out = model(torch.rand(4, 1, 10, 10) * 3 + 1)
    out.mean().backward()
    for bn, (mean, var, n) in zip(bns, stats):
        assert torch.equal(bn.running_mean, mean) and torch.equal(bn.running_var, var)
        assert int(bn.num_batches_tracked) == n
        assert bn.weight.grad is not None and bn.weight.grad.abs().sum() > 0  # affine still trains
    assert model.training and model.convs[0].training  # the rest stays in train mode
    # With population statistics the train-mode output is the eval-mode output.
    x = torch.rand(2, 1, 10, 10)
    assert torch.allclose(model(x), model.eval()(x))


def test_repvgg_merge_agrees_with_timm() -> None:
    byobnet = pytest.importorskip("timm.models.byobnet", reason="timm (with torchvision) does not import here")
    torch.manual_seed(3)
    ours = methods.build("repvgg", "M4C8")
    _randomize_and_train(ours, 1, 4, steps=1)
    block = ours.convs[2]  # an 8 -> 8 body block with all three branches
    ref = byobnet.RepVggBlock(8, 8).eval()
    pairs = [(ref.conv_kxk.conv, block.branches[0].conv), (ref.conv_kxk.bn, block.branches[0].bn),
             (ref.conv_1x1.conv, block.branches[1].conv), (ref.conv_1x1.bn, block.branches[1].bn),
             (ref.identity, block.identity_bn)]
    for dst, src in pairs:
        dst.load_state_dict(src.state_dict(), strict=False)
    x = torch.randn(2, 8, 13, 11)
    with torch.inference_mode():
        unmerged = ref(x)
        ref.reparameterize()
        ours_conv = block.as_conv()
        # timm's block ends in a ReLU; ours leaves the activation to the network.
        assert torch.allclose(ref(x), torch.relu(ours_conv(x)), atol=1e-5)
        assert torch.allclose(unmerged, torch.relu(ours_conv(x)), atol=1e-5)
    assert torch.allclose(ref.reparam_conv.weight, ours_conv.weight, atol=1e-6)
    assert torch.allclose(ref.reparam_conv.bias, ours_conv.bias, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="vdsr", size="M4C8"), "valid methods: plain, repvgg"),
        (dict(method="repsr", size="M4"), r"expected M\{m\}C\{c\}"),
        (dict(method="repsr", size="R5C32"), "malformed size"),
        (dict(method="edsr", size="M4C16"), r"expected R\{r\}C\{c\}"),
        (dict(method="repsr", size="M0C8"), "malformed size"),
        (dict(method="repsr", size="M4C8", scale=5), "scale must be one of"),
        (dict(method="repsr", size="M4C8", colors=2), "colors must be 1"),
        (dict(method="repsr", size="M4C8", expnad=2), "valid options: expand=2"),
        (dict(method="repsr", size="M4C8", variant="wide"), "valid: repsr, no_residual"),
    ],
)
def test_bad_build_arguments_say_what_is_valid(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        methods.build(**kwargs)


@pytest.mark.parametrize("method,size", [("repsr", "M4C8"), ("sesr", "M5C16"), ("edsr", "R2C8")])
def test_save_and_load_round_trip(tmp_path, method: str, size: str) -> None:
    model = methods.build(method, size, scale=2, colors=3)
    _randomize_and_train(model, 3, 2, steps=1)
    model.eval()
    x = torch.rand(1, 3, 15, 17)
    variants = [model] + ([methods.merge(model)] if methods.is_mergeable(method) else [])
    for net in variants:
        path = methods.save(net, tmp_path / "model.pt")
        loaded = methods.load(path).eval()
        assert loaded.build_args == net.build_args
        with torch.inference_mode():
            assert torch.equal(loaded(x), net(x))


def test_load_rejects_foreign_files(tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a repbench model file"):
        methods.load(bad)
    with pytest.raises(FileNotFoundError):
        methods.load(tmp_path / "missing.pt")


def test_saved_model_files_get_ordinary_permissions(tmp_path) -> None:
    import os

    path = methods.save(methods.build("plain", "M1C4"), tmp_path / "m.pt")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
