"""The short-budget recipe: init at the skip, signal-preserving init, warm-up, held-out validation,
collapsed training after the frozen-BN point, the budget record."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import methods
from repbench.training import config as T
from repbench.training import datasets, runfolder
from repbench.training.schedules import build_schedule

SKIP_NETS = [("plain", "M4C16", {}), ("repvgg", "M4C16", {}), ("ecbsr", "M4C16", {}), ("repsr", "M4C16", {}),
             ("repsr", "M4C8", {"variant": "c1bnc3"}), ("sesr", "M5C16", {"width": 8})]


@pytest.mark.parametrize("method,size,options", SKIP_NETS)
@pytest.mark.parametrize("colors", [1, 3])
def test_every_network_with_a_skip_starts_at_nearest_neighbour(method: str, size: str, options: dict, colors: int) -> None:
    torch.manual_seed(0)
    net = methods.build(method, size, scale=4, colors=colors, **options).train()
    x = torch.rand(2, colors, 12, 12)
    assert torch.equal(net(x), F.interpolate(x, scale_factor=4, mode="nearest"))



@pytest.mark.parametrize("method", ["imdn", "imdn-clb"])
def test_imdn_starts_at_nearest_neighbour_without_an_image_skip(method: str) -> None:
    # No skip in the architecture: the head passes the input through and the upsampler copies it.
    torch.manual_seed(0)
    net = methods.build(method, "B2", scale=4, colors=3)
    x = torch.rand(2, 3, 12, 10)
    assert torch.equal(net(x), F.interpolate(x, scale_factor=4, mode="nearest"))
    # ...and it still learns through every layer: one step moves the body, not only the output.
    F.l1_loss(net(x), F.interpolate(x, scale_factor=4, mode="bicubic")).backward()
    assert net.upsample.weight.grad.abs().sum() > 0
    assert net.body_conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("scale,colors,bn", [(4, 3, False), (2, 3, True), (3, 1, False)])
def test_edsr_starts_at_nearest_neighbour_and_learns_everywhere(scale: int, colors: int, bn: bool) -> None:
    # No image skip either: one path of head, upsampler and tail carries the image; the mean shift
    # (subtracted, then added) costs round-off only.
    torch.manual_seed(0)
    net = methods.build("edsr", "R2C16", scale=scale, colors=colors, bn=bn).train()
    x = torch.rand(2, colors, 12, 10)
    near = F.interpolate(x, scale_factor=scale, mode="nearest")
    torch.testing.assert_close(net(x), near, atol=1e-6, rtol=0)
    # the other channels carry features, so one step reaches every layer, the residual blocks included
    F.l1_loss(net(x), F.interpolate(x, scale_factor=scale, mode="bicubic")).backward()
    assert net.tail[1].weight.grad[:, colors:].abs().sum() > 0
    assert net.body[-1].weight.grad.abs().sum() > 0
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(2):
        opt.zero_grad()
        F.l1_loss(net(x), F.interpolate(x, scale_factor=scale, mode="bicubic")).backward()
        opt.step()
    assert net.body[0].body[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("method", ["plain", "repvgg", "ecbsr"])
def test_activations_keep_their_scale_through_depth(method: str) -> None:
    torch.manual_seed(0)
    net = methods.build(method, "M16C64").train()
    y = torch.rand(4, 1, 32, 32)
    stds = []
    for conv, act in zip(net.convs, net.acts):
        y = act(conv(y))
        stds.append(float(y.detach().std()))
    # PyTorch's default init shrinks the std ~0.42x per layer (1e-6 after 16 layers); He init keeps it.
    assert min(stds) > 0.5 * stds[0] and max(stds) < 3 * stds[0]


def test_output_blocks_have_no_identity_path() -> None:
    net = methods.build("repvgg", "M4C16", scale=4, colors=1)  # C == colors * scale^2
    assert net.convs[-1].identity is None and net.convs[-1].identity_bn is None
    assert net.convs[1].identity == "bn"


def test_warmup_ramps_linearly_then_cosine_reaches_zero() -> None:
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_schedule(opt, "cosine", 2e-3, 100, cycles=1, lr_min=0.0, warmup=0.1)
    lrs = [sched.apply(t) for t in range(100)]
    assert lrs[0] == pytest.approx(2e-3 / 10) and lrs[4] == pytest.approx(2e-3 * 5 / 10, rel=1e-2)  # x the cosine's first steps
    assert max(lrs) <= 2e-3 and lrs[-1] < 1e-5
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # decays after the warm-up


def test_holdout_is_disjoint_from_training_and_evenly_spread() -> None:
    from repbench import data

    pairs = data.load_pairs("skimage-train", 4)
    train, held = datasets.split_holdout(pairs, 2)
    assert len(held) == 2 and len(train) == len(pairs) - 2
    assert not {p.name for p in train} & {p.name for p in held}
    with pytest.raises(T.RepbenchError, match="hold out"):
        datasets.split_holdout(pairs, len(pairs))


def test_bad_holdout_and_warmup_are_refused() -> None:
    with pytest.raises(T.RepbenchError, match="holdout"):
        T.resolve_config({"method": "plain", "val_data": "holdout:x"})
    with pytest.raises(T.RepbenchError, match="warmup"):
        T.resolve_config({"method": "plain", "warmup": 1.5})


def test_frozen_bn_blocks_train_collapsed_with_the_same_loss_and_gradients() -> None:
    torch.manual_seed(0)
    net = methods.build("repsr", "M4C8").train()
    for block in net.convs:
        block.init_(1.0)  # non-zero output so every parameter gets a gradient
    x, y = torch.rand(4, 1, 12, 12), torch.rand(4, 1, 48, 48)
    F.l1_loss(net(x), y).backward()  # move running stats away from their init
    methods.freeze_bn(net)
    a, b = copy.deepcopy(net), methods.collapse_linear(copy.deepcopy(net))
    assert all(m.collapsed for m in b.modules() if hasattr(m, "as_conv"))
    la, lb = F.l1_loss(a(x), y), F.l1_loss(b(x), y)
    a.zero_grad(), b.zero_grad()
    la.backward(), lb.backward()
    assert torch.allclose(la, lb, atol=1e-6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-5, rtol=1e-4)


def test_unfrozen_bn_blocks_are_not_collapsed() -> None:
    net = methods.collapse_linear(methods.build("repvgg", "M2C4"))
    assert not any(m.collapsed for m in net.modules() if hasattr(m, "as_conv"))


def test_budget_record_counts_lr_pixels_of_both_stages() -> None:
    cfg = T.resolve_config({"method": "plain", "iterations": 10, "batch_size": 2, "patch_size": 8,
                            "patch_size_stage2": 16, "stage2_start": 6})
    rec = runfolder.budget_record(cfg, 1.5)
    macs_per_pixel = 9 * (1 * 16 + 4 * 16 * 16 + 16 * 16)  # plain M4C16 x4 Y: head, body, tail (all 3x3 at LR)
    assert rec == {"iterations": 10, "lr_pixels": 2 * (6 * 64 + 4 * 256), "train_seconds": 1.5,
                   # 2 FLOPs per MAC x 3 (forward + backward) x the forward MACs of each stage's patches
                   "train_flops": 2 * 3 * macs_per_pixel * 2 * (6 * 64 + 4 * 256),
                   "train_flops_rule": rec["train_flops_rule"]}
    assert "forward + backward" in rec["train_flops_rule"]
