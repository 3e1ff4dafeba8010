"""DBB, the Diverse Branch Block (Ding et al. CVPR 2021), in the Mx-Cy network (docs/conventions.md section 2).

One block, four branches summed, each ending in its own BN; no identity path:

    kxk      : conv3x3 -> BN                                        (ConvBranch)
    1x1      : conv1x1 -> BN                                        (ConvBranch)
    1x1-avg  : conv1x1 (I -> O) -> BN -> 3x3 average pooling, stride 1 -> BN   (AvgBranch)
    1x1-kxk  : conv1x1 (I -> I) -> BN -> conv3x3 (I -> O) -> BN     (OneByOneKxK)

The 1x1 convs that feed a BN have no bias (the BN's shift takes its place). The 1x1 of the 1x1-kxk
branch keeps the input width and starts as the identity, as the paper's block does when its internal
width equals the input's (a plain 1x1 initialised at the identity: the same function and gradients as
the release's "identity + learnt residual" 1x1, without weight decay there is no difference).

**The border.** Both sequential branches put a 3x3 window (the conv, or the pooling) after a
1x1 -> BN. Their merged 3x3, run with zero padding, sees outside the image what the 1x1 -> BN maps a
zero input to: BN's image of the 1x1's (zero) bias, `beta - mean * gamma / sqrt(var + eps)`, not 0.
So the branches run the 1x1 -> BN on the image alone, then surround its output with a one-pixel ring
holding exactly that value, and run the 3x3 conv / the pooling with padding 0 (`bn_then_pad`).
With that ring, average pooling (count_include_pad, i.e. a sum over 9 taps divided by 9) is the
depthwise 3x3 conv of weight 1/9 on the diagonal channel map, so the branch merges to
`K[o, i, u, v] = w'[o, i] / 9`, `b = b'` (w', b' the 1x1 with its BN folded), then the last BN folds
in; the 1x1-kxk branch composes as ECB's does (`_fuse.compose_1x1_then_kxk`). Both are exact
everywhere, border included, to float64 rounding (tests/test_later_methods.py).

The ring takes the statistics the BN itself uses: running statistics in eval mode and once the BN is
frozen, the batch's statistics (of the image, not of the ring) while it trains. The BN's batch
statistics are therefore those of the feature map alone, as without padding, and in train mode too
the branch is exactly a conv with that batch's BN folded in. (Zero-padding the *input* of the 1x1 and
normalising the padded map, as `ExpandSqueeze(order="1x1_kxk", bn_mid=True)` does, is exact in eval
mode as well, but lets the constant ring into the batch statistics: 15% of a 24x24 patch's pixels.)
The price is one more statistics pass (forward and backward) and a padded copy per ringed BN: at
M10C32, batch 16, patch 24 on one CPU thread, a zero ring (inexact) made the step about 15-25%
faster in a one-off, noisy measurement.

Like RepVGG and RepSR the block trains branched until the BN freeze (`methods.freeze_bn`), then the
training loop collapses it (`methods.collapse_linear`): one conv per block, the same function.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methods import _fuse
from methods.blocks import ConvBranch, RepBlock
from methods.plain import PlainSR


def bn_then_pad(y: torch.Tensor, bn: nn.BatchNorm2d, pad: int) -> torch.Tensor:
    """BN of a bias-free conv's output `y`, surrounded by a `pad`-pixel ring holding what that BN
    makes of 0 (the conv's output for a zero-padded input), with the statistics the BN used.

    Interior values are BN's own output, bit for bit; the ring is BN's shift for the same
    statistics, so a kxk window over the result equals, at the border too, the kxk composed
    with the BN-folded conv run with zero padding.
    """
    z = bn(y)
    # Read after the call: a frozen BN's forward pre-hook has set `training` to False by now.
    if bn.training or bn.running_mean is None:
        var, mean = torch.var_mean(y, dim=(0, 2, 3), unbiased=False)  # what batch norm normalises by
    else:
        mean, var = bn.running_mean, bn.running_var
    ring = bn.bias - mean * bn.weight / torch.sqrt(var + bn.eps)
    frame = F.pad(z.new_zeros(1, 1, z.shape[-2], z.shape[-1]), (pad, pad, pad, pad), value=1.0)  # 1 on the ring
    return F.pad(z, (pad, pad, pad, pad)) + ring.reshape(1, -1, 1, 1) * frame


class AvgBranch(nn.Module):
    """DBB's 1x1-AVG branch: conv1x1 (in -> out, no bias) -> BN -> k x k average pooling (stride 1) -> BN.

    The pooling runs unpadded over the BN output surrounded by BN's image of 0 (`bn_then_pad`),
    which makes it the depthwise conv of weight 1/k^2 that the merge composes with the 1x1.
    """

    def __init__(self, in_ch: int, out_ch: int, k: int = 3):
        super().__init__()
        self.pool_k = k
        self.conv = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.bn_mid = nn.BatchNorm2d(out_ch)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = bn_then_pad(self.conv(x), self.bn_mid, self.pool_k // 2)
        return self.bn(F.avg_pool2d(y, self.pool_k, stride=1, padding=0))

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """He-normal 1x1, unit middle BN; the last BN's scale is `gain` (0: the branch outputs zero)."""
        _fuse.he_normal_(self.conv, 1.0)
        self.bn_mid.weight.fill_(1.0)
        self.bn_mid.bias.zero_()
        self.bn.weight.fill_(gain)
        self.bn.bias.zero_()

    def kernel_bias(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        w, b = _fuse.fuse_bn(self.conv.weight, None, self.bn_mid)
        kernel = w.expand(-1, -1, self.pool_k, self.pool_k) / (self.pool_k * self.pool_k)
        kernel, bias = _fuse.fuse_bn(kernel, b, self.bn)  # the pooling passes a constant (the bias) unchanged
        return _fuse.pad_to(kernel, k), bias


class OneByOneKxK(nn.Module):
    """DBB's 1x1-kxk branch: conv1x1 (in -> mid, no bias) -> BN -> conv kxk (mid -> out, no bias) -> BN.

    The kxk runs unpadded over the middle BN's output surrounded by BN's image of 0 (`bn_then_pad`).
    The 1x1 starts as the identity when mid == in (the paper's internal width), else He-normal.
    """

    def __init__(self, in_ch: int, out_ch: int, k: int = 3, mid: int | None = None):
        super().__init__()
        mid = in_ch if mid is None else mid
        self.k = k
        self.first = nn.Conv2d(in_ch, mid, 1, bias=False)
        self.bn_mid = nn.BatchNorm2d(mid)
        self.second = nn.Conv2d(mid, out_ch, k, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = bn_then_pad(self.first(x), self.bn_mid, self.k // 2)
        return self.bn(self.second(y))

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """Identity (or He-normal) 1x1, unit middle BN, He-normal kxk; the last BN's scale is `gain`."""
        if self.first.in_channels == self.first.out_channels:
            self.first.weight.copy_(_fuse.identity_kernel(self.first.in_channels, 1, like=self.first.weight))
        else:
            _fuse.he_normal_(self.first, 1.0)
        self.bn_mid.weight.fill_(1.0)
        self.bn_mid.bias.zero_()
        _fuse.he_normal_(self.second, 1.0)
        self.bn.weight.fill_(gain)
        self.bn.bias.zero_()

    def kernel_bias(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        w1, b1 = _fuse.fuse_bn(self.first.weight, None, self.bn_mid)
        kernel, bias = _fuse.compose_1x1_then_kxk(w1, b1, self.second.weight, None)
        kernel, bias = _fuse.fuse_bn(kernel, bias, self.bn)
        return _fuse.pad_to(kernel, k), bias


def dbb_block(in_ch: int, out_ch: int) -> RepBlock:
    branches = [
        ConvBranch(in_ch, out_ch, 3, bn=True),
        ConvBranch(in_ch, out_ch, 1, bn=True),
        AvgBranch(in_ch, out_ch, 3),
        OneByOneKxK(in_ch, out_ch, 3),
    ]
    return RepBlock(in_ch, out_ch, branches)


def build(m: int, c: int, scale: int, colors: int) -> nn.Module:
    return PlainSR(m, c, scale, colors, block=dbb_block)
