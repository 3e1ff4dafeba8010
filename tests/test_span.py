"""SPAN (NTIRE 2024) and its Conv3XC block: counts, exact merge, start at nearest, agreement with spandrel."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import methods
from _helpers import train_a_little
from methods.conv3xc import Conv3XC
from methods.released import rename_keys
from methods.span import RELEASED_KEYS, RELEASED_KEYS_DEPLOYED

SPAN_CH28_PARAMS = 150_688  # the NTIRE 2024 ch28 file, x4 RGB, re-parameterized


def _random_conv3xc(in_ch: int, out_ch: int) -> Conv3XC:
    torch.manual_seed(0)
    block = Conv3XC(in_ch, out_ch).double()
    with torch.no_grad():
        for p in block.parameters():
            p.uniform_(-0.5, 0.5)  # biases too: the border is where a wrong merge shows
    return block


@pytest.mark.parametrize("in_ch,out_ch", [(3, 8), (8, 8), (6, 4)])
def test_conv3xc_merges_exactly_borders_included(in_ch: int, out_ch: int) -> None:
    block = _random_conv3xc(in_ch, out_ch)
    before = {k: v.clone() for k, v in block.state_dict().items()}
    conv = block.as_conv()
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.padding == (1, 1)
    assert all(torch.equal(before[k], v) for k, v in block.state_dict().items())  # as_conv never mutates
    x = torch.rand(2, in_ch, 9, 7, dtype=torch.float64)
    with torch.no_grad():
        y, y_conv = block(x), conv(x)
    assert (y - y_conv).abs().max().item() <= 1e-9
    assert (y - y_conv)[..., 0, :].abs().max().item() <= 1e-9  # first row: the bias-padded ring


def test_conv3xc_collapsed_training_matches_branches() -> None:
    block = _random_conv3xc(4, 4)
    collapsed = Conv3XC(4, 4, collapsed=True).double()
    collapsed.load_state_dict(block.state_dict())
    x = torch.rand(1, 4, 8, 8, dtype=torch.float64)
    y, y_c = block(x), collapsed(x)
    assert (y - y_c).abs().max().item() <= 1e-9
    y.square().sum().backward()
    y_c.square().sum().backward()
    for (name, p), q in zip(block.named_parameters(), collapsed.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-9, atol=1e-12), name


def test_span_counts_and_keys() -> None:
    model = methods.build("span", "C28B6", scale=4, colors=3)
    merged = methods.merge(model)
    assert methods.count_params(merged) == SPAN_CH28_PARAMS
    assert sum(isinstance(m, nn.Conv2d) for m in merged.modules()) == 22  # 1 + 6 x 3 + conv_cat + conv_2 + upsampler
    assert not any(isinstance(m, Conv3XC) for m in merged.modules())
    keys = set(model.state_dict())
    assert {"conv_1.sk.weight", "block_6.c3_r.conv.2.bias", "conv_cat.weight", "conv_2.conv.1.weight",
            "upsampler.0.weight"} <= keys
    assert not any("eval_conv" in k or k == "mean" for k in keys)
    assert "block_6.c3_r.weight" in merged.state_dict()  # where a slim file's block_6.c3_r.eval_conv.weight goes


@pytest.mark.parametrize("colors", [1, 3])
@pytest.mark.parametrize("norm", [True, False])
def test_span_starts_at_nearest_and_learns_everywhere(colors: int, norm: bool) -> None:
    torch.manual_seed(0)
    net = methods.build("span", "C8B2", scale=3, colors=colors, norm=norm).train()
    x = torch.rand(2, colors, 12, 10)
    near = F.interpolate(x, scale_factor=3, mode="nearest")
    torch.testing.assert_close(net(x), near, atol=1e-6, rtol=0)  # the mean shift costs round-off only
    F.l1_loss(net(x), F.interpolate(x, scale_factor=3, mode="bicubic")).backward()
    assert net.upsampler[0].weight.grad[:, colors:].abs().sum() > 0


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("colors", [1, 3])
def test_span_merge_is_equivalent(scale: int, colors: int) -> None:
    torch.manual_seed(1)
    model = methods.build("span", "C8B2", scale=scale, colors=colors)
    train_a_little(model, colors, scale, steps=2)
    model = model.double().eval()
    merged = methods.merge(model)
    x = torch.rand(1, colors, 13, 11, dtype=torch.float64)
    with torch.no_grad():
        y, y_merged = model(x), merged(x)
    assert y.shape == (1, colors, 13 * scale, 11 * scale)
    assert (y - y_merged).abs().max().item() <= 1e-9


def _spandrel_span() -> type:
    arch = pytest.importorskip("spandrel.architectures.SPAN", reason="spandrel is not installed (pip install .[published])")
    return arch.SPAN


def _trained_span() -> nn.Module:
    torch.manual_seed(2)
    ours = methods.build("span", "C8B6", scale=3, colors=3)  # spandrel's SPAN always has six blocks
    train_a_little(ours, 3, 3, steps=2)
    return ours


def test_our_training_form_runs_in_spandrels_span(tmp_path) -> None:
    ref = _spandrel_span()(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=3)
    ours = _trained_span()
    torch.save(ours.state_dict(), tmp_path / "span.pth")
    missing, unexpected = ref.load_state_dict(torch.load(tmp_path / "span.pth", weights_only=True), strict=False)
    assert not unexpected and missing and all(".eval_conv." in k for k in missing)  # spandrel derives eval_conv
    x = torch.rand(1, 3, 17, 15)
    with torch.no_grad():
        y_train = ours.train()(x)
        torch.testing.assert_close(ref.train()(x), y_train, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ref.eval()(x), methods.merge(ours)(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(methods.merge(ours)(x), y_train, atol=1e-5, rtol=1e-5)


def test_spandrels_full_checkpoint_loads_by_released_keys() -> None:
    ref = _spandrel_span()(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=3).eval()
    ref.load_state_dict(_trained_span().state_dict(), strict=False)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        y_ref = ref(x)  # eval mode: spandrel writes the merged eval_conv, so the state dict has it
    state = ref.state_dict()
    assert any(".eval_conv." in k for k in state)
    ours = methods.build("span", "C8B6", scale=3, colors=3)
    ours.load_state_dict(rename_keys(state, RELEASED_KEYS), strict=True)
    slim = methods.merge(methods.build("span", "C8B6", scale=3, colors=3))
    slim.load_state_dict(rename_keys({k: v for k, v in state.items() if ".sk." not in k and ".conv." not in k},
                                     RELEASED_KEYS_DEPLOYED), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), y_ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(slim(x), y_ref, atol=1e-5, rtol=1e-5)
