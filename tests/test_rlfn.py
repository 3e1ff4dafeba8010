"""RLFN (NTIRE 2022, ByteESR): counts, shapes, not mergeable, start at nearest, ESA on small inputs."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import methods
from methods.rlfn import ESA

# x4 RGB. The NTIRE 2022 file is B4C46 with 48 mid channels (0.317M, 39 convs); the authors'
# rlfn_x4.pth (the paper's RLFN, 0.543M) is B6C52 and rlfn_s_x4.pth (RLFN-S) B6C48.
COUNTS = {("B4C46", 48): 317_218, ("B6C52", None): 543_740, ("B6C48", None): 470_208}


@pytest.mark.parametrize("size,mid", sorted(COUNTS, key=str))
def test_parameter_counts(size: str, mid: int | None) -> None:
    model = methods.build("rlfn", size, scale=4, colors=3, mid_channels=mid)
    assert methods.count_params(model) == COUNTS[(size, mid)]
    blocks = int(size[1:size.index("C")])
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 3 + 9 * blocks


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("colors", [1, 3])
def test_output_shape_even_on_patches_smaller_than_esa_pooling(scale: int, colors: int) -> None:
    model = methods.build("rlfn", "B1C8", scale=scale, colors=colors).eval()
    for h, w in ((12, 12), (5, 9), (31, 17)):  # the released ESA rejects anything under 15 a side
        with torch.no_grad():
            assert model(torch.rand(1, colors, h, w)).shape == (1, colors, h * scale, w * scale)


def test_esa_pooling_is_the_released_one_where_that_one_runs() -> None:
    v = torch.randn(2, 4, 20, 7)  # 7 is the pooling window: no padding needed
    assert torch.equal(ESA._pool(v), F.max_pool2d(v, 7, 3))
    small = torch.randn(1, 2, 5, 6)
    assert torch.equal(ESA._pool(small), small.amax(dim=(-2, -1), keepdim=True))


def test_rlfn_is_not_mergeable() -> None:
    with pytest.raises(methods.NotMergeableError, match="not re-parameterizable"):
        methods.merge(methods.build("rlfn", "B1C8", scale=2, colors=3))


@pytest.mark.parametrize("colors,img_range", [(3, 255.0), (1, 1.0)])
def test_rlfn_starts_at_nearest_and_learns_everywhere(colors: int, img_range: float) -> None:
    torch.manual_seed(0)
    net = methods.build("rlfn", "B2C8", scale=4, colors=colors, img_range=img_range).train()
    x = torch.rand(2, colors, 16, 14)
    near = F.interpolate(x, scale_factor=4, mode="nearest")
    torch.testing.assert_close(net(x), near, atol=1e-6, rtol=0)  # x * 255 / 255 costs round-off only
    F.l1_loss(net(x), F.interpolate(x, scale_factor=4, mode="bicubic")).backward()
    assert net.upsampler[0].weight.grad[:, colors:].abs().sum() > 0
    assert net.conv_2.weight.grad.abs().sum() > 0


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"B\{b\}C\{c\}"):
        methods.build("rlfn", "C46B4")
    with pytest.raises(ValueError, match="unknown option"):
        methods.build("rlfn", "B4C46", mid=48)
