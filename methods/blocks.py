"""Training-time blocks that collapse into one k x k convolution.

The one contract: a `RepBlock` knows its equivalent kernel (`kernel_bias`) and
returns a fresh single conv from `as_conv()`; it never mutates itself.
`methods.merge` copies a model and swaps every RepBlock for its `as_conv()`.

A RepBlock is a sum of branches (each a small module with `forward` and
`kernel_bias(k)`) plus an optional identity path. Branch types cover every
method of the zoo: RepVGG (conv-BN), ECB (1x1->3x3, edge filters), SESR
(kxk->1x1, no bias), RepSR (3x3-BN-1x1 and its ablations), IMDN-CLB (3x3 + 1x1).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methods import _fuse


class ConvBranch(nn.Module):
    """conv kxk (+ optional BN). Its kernel is centred in the block's k x k."""

    def __init__(self, in_ch: int, out_ch: int, k: int, bias: bool = True, bn: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, k, padding=k // 2, bias=bias and not bn)
        self.bn = nn.BatchNorm2d(out_ch) if bn else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) if self.bn is not None else y

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """He-normal weights scaled so the branch output has about `gain`^2 x its input's
        variance (with BN: gain is BN's scale); gain 0 makes the branch output exactly zero."""
        _fuse.he_normal_(self.conv, 1.0 if self.bn is not None else gain)
        if self.bn is not None:
            self.bn.weight.fill_(gain)
            self.bn.bias.zero_()

    def kernel_bias(self, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        kernel, bias = self.conv.weight, self.conv.bias
        if self.bn is not None:
            kernel, bias = _fuse.fuse_bn(kernel, bias, self.bn)
        return _fuse.pad_to(kernel, k), bias


class ExpandSqueeze(nn.Module):
    """Two linear convs in sequence through `mid` channels, with optional BNs.

    order="kxk_1x1": conv kxk (in -> mid) [BN] -> conv 1x1 (mid -> out) [BN]: merges exactly.
    order="1x1_kxk": conv 1x1 (in -> mid) [BN] -> conv kxk (mid -> out): the 1x1 output is
    padded with its own bias (the input is zero-padded before the 1x1), so the merge is
    exact at the border too; the price is the padding work at every training step.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        k: int,
        mid: int,
        order: str = "kxk_1x1",
        bias: bool = True,
        bn_mid: bool = False,
        bn_out: bool = False,
    ):
        super().__init__()
        if order not in ("kxk_1x1", "1x1_kxk"):
            raise ValueError(f"order must be 'kxk_1x1' or '1x1_kxk', got {order!r}")
        self.order, self.k = order, k
        first_k, second_k = (k, 1) if order == "kxk_1x1" else (1, k)
        # A bias before a BN is redundant; the 1x1-first order keeps it because it becomes the padding value.
        first_bias = bias and (not bn_mid or order == "1x1_kxk")
        self.first = nn.Conv2d(in_ch, mid, first_k, padding=first_k // 2 if order == "kxk_1x1" else 0, bias=first_bias)
        self.bn_mid = nn.BatchNorm2d(mid) if bn_mid else None
        self.second = nn.Conv2d(mid, out_ch, second_k, padding=0, bias=bias and not bn_out)
        self.bn_out = nn.BatchNorm2d(out_ch) if bn_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.order == "kxk_1x1":
            y = self.first(x)
        else:
            y = _fuse.conv1x1_bias_padded(x, self.first.weight, self.first.bias, self.k // 2)
        if self.bn_mid is not None:
            y = self.bn_mid(y)
        y = self.second(y)
        return self.bn_out(y) if self.bn_out is not None else y

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """The first conv is linear (gain 1), the second carries `gain`; gain 0 zeroes the output."""
        _fuse.he_normal_(self.first, 1.0)
        if self.bn_mid is not None:
            self.bn_mid.weight.fill_(1.0)
            self.bn_mid.bias.zero_()
        _fuse.he_normal_(self.second, 1.0 if self.bn_out is not None else gain)
        if self.bn_out is not None:
            self.bn_out.weight.fill_(gain)
            self.bn_out.bias.zero_()

    def kernel_bias(self, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        w1, b1 = self.first.weight, self.first.bias
        if self.bn_mid is not None:
            w1, b1 = _fuse.fuse_bn(w1, b1, self.bn_mid)
        w2, b2 = self.second.weight, self.second.bias
        if self.order == "kxk_1x1":
            kernel, bias = _fuse.compose_kxk_then_1x1(w1, b1, w2, b2)
        else:
            kernel, bias = _fuse.compose_1x1_then_kxk(w1, b1, w2, b2)
        if self.bn_out is not None:
            kernel, bias = _fuse.fuse_bn(kernel, bias, self.bn_out)
        elif b1 is None and b2 is None:
            bias = None  # a bias-free branch stays bias-free (SESR deploys without biases)
        return _fuse.pad_to(kernel, k), bias


_EDGE_MASKS = {
    "sobel_x": [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]],
    "sobel_y": [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]],
    "laplacian": [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
}


class EdgeBranch(nn.Module):
    """ECB edge branch: conv1x1 (in -> out), then a fixed depthwise 3x3 mask times a learnable
    per-channel scale, plus a learnable bias (scale and bias ~ N(0,1) * 1e-3, as in ECBSR)."""

    def __init__(self, in_ch: int, out_ch: int, mask: str):
        super().__init__()
        self.conv1x1 = nn.Conv2d(in_ch, out_ch, 1)
        self.scale = nn.Parameter(torch.randn(out_ch, 1, 1, 1) * 1e-3)
        self.bias = nn.Parameter(torch.randn(out_ch) * 1e-3)
        self.register_buffer("mask", torch.tensor(_EDGE_MASKS[mask]).expand(out_ch, 1, 3, 3).clone())

    # The edge filters start near zero by design (ECBSR's init); they take no share of the gain.
    CARRIES_GAIN = False

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """Only gain 0 acts: it zeroes scale and bias so the branch output is exactly zero."""
        if gain == 0:
            self.scale.zero_()
            self.bias.zero_()

    def _depthwise(self) -> torch.Tensor:
        return self.scale * self.mask  # (out, 1, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _fuse.conv1x1_bias_padded(x, self.conv1x1.weight, self.conv1x1.bias, 1)
        return F.conv2d(y, self._depthwise(), self.bias, groups=y.shape[1])

    def kernel_bias(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        dw = self._depthwise()[:, 0]  # (out, 3, 3): a diagonal full kernel
        full = torch.diag_embed(dw.permute(1, 2, 0)).permute(2, 3, 0, 1)  # (out, out, 3, 3)
        kernel, bias = _fuse.compose_1x1_then_kxk(self.conv1x1.weight, self.conv1x1.bias, full, self.bias)
        return _fuse.pad_to(kernel, k), bias


def init_layer_(layer: nn.Module, gain: float) -> None:
    """He-normal init of a plain conv or a RepBlock with the given gain (0: output exactly zero)."""
    if isinstance(layer, nn.Conv2d):
        _fuse.he_normal_(layer, gain)
    else:
        layer.init_(gain)


class RepBlock(nn.Module):
    """Sum of branches plus an optional identity path ('clean' or 'bn'), equivalent to one k x k conv.

    collapsed=True (linear blocks only): every forward rebuilds the merged kernel
    differentiably and runs one conv; same function, fewer activations.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        branches: list[nn.Module],
        k: int = 3,
        identity: str | None = None,
        collapsed: bool = False,
    ):
        super().__init__()
        if identity not in (None, "clean", "bn"):
            raise ValueError(f"identity must be None, 'clean' or 'bn', got {identity!r}")
        self.in_ch, self.out_ch, self.k = in_ch, out_ch, k
        self.branches = nn.ModuleList(branches)
        self.identity = identity if in_ch == out_ch else None
        self.identity_bn = nn.BatchNorm2d(out_ch) if self.identity == "bn" else None
        if collapsed and any(isinstance(m, nn.BatchNorm2d) for m in self.modules()):
            raise ValueError("collapsed training needs a linear block; this one has BatchNorm")
        self.collapsed = collapsed

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """Variance-preserving init of the block as a whole: the paths that carry signal
        (branches, and a BN'd identity) split `gain`^2 equally, so a block with n paths
        is not n times louder than a plain conv. A clean identity passes its input as is.
        gain 0 makes the block output exactly zero (a network's output layer)."""
        carriers = [b for b in self.branches if getattr(b, "CARRIES_GAIN", True)]
        n = len(carriers) + (1 if self.identity is not None else 0)
        share = gain / n ** 0.5
        for branch in self.branches:
            branch.init_(share)
        if self.identity_bn is not None:
            self.identity_bn.weight.fill_(share)
            self.identity_bn.bias.zero_()

    def drop_identity(self) -> "RepBlock":
        """No identity path: for an output layer, whose channels are not the input's
        feature space even when the counts coincide (C == colors * scale^2)."""
        self.identity, self.identity_bn = None, None
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.collapsed:
            kernel, bias = self.kernel_bias()
            return F.conv2d(x, kernel, bias, padding=self.k // 2)
        y = self.branches[0](x)
        for branch in self.branches[1:]:
            y = y + branch(x)
        if self.identity == "clean":
            y = y + x
        elif self.identity == "bn":
            y = y + self.identity_bn(x)
        return y

    def kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The equivalent kernel and bias (BN folded with its running statistics)."""
        kernel, bias = None, None
        for branch in self.branches:
            kb, bb = branch.kernel_bias(self.k)
            kernel = kb if kernel is None else kernel + kb
            if bb is not None:
                bias = bb if bias is None else bias + bb
        if self.identity is not None:
            eye = _fuse.identity_kernel(self.out_ch, self.k, like=kernel)
            if self.identity == "bn":
                eye, b_id = _fuse.fuse_bn(eye, None, self.identity_bn)
                bias = b_id if bias is None else bias + b_id
            kernel = kernel + eye
        return kernel, bias

    def as_conv(self) -> nn.Conv2d:
        with torch.no_grad():
            return _fuse.to_conv(*self.kernel_bias())
