"""SPAN's Conv3XC (Wan et al. 2024) as a re-parameterizable block (docs/conventions.md section 7).

    y = sk(x) + last(middle(first(x)))
    sk     : conv1x1 (in -> out)
    first  : conv1x1 (in -> gain * in)
    middle : conv3x3 (gain * in -> gain * out), no padding of its own
    last   : conv1x1 (gain * out -> out)

Every conv has a bias and nothing between them is non-linear, so the block is one 3x3 conv.
The input is zero-padded *before* `first`, as in the released code: the ring around the image
then holds `first`'s bias, which is what the merged 3x3 sees through its own zero padding, so
the merge is exact at the border too (`_fuse.conv1x1_bias_padded`).

Module names follow the released code (`sk`, `conv.0`, `conv.1`, `conv.2`), so a training-form
state dict has the original keys; the released `eval_conv` is not part of the training form
(`as_conv` builds it), and `methods.merge` puts the single conv where the block was.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methods import _fuse

SPAN_GAIN = 2  # the width multiplier of the 1x1 -> 3x3 -> 1x1 chain in every released SPAN


class Conv3XC(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, gain: int = SPAN_GAIN, collapsed: bool = False):
        super().__init__()
        self.in_ch, self.out_ch, self.k = in_ch, out_ch, 3
        self.sk = nn.Conv2d(in_ch, out_ch, 1)
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, in_ch * gain, 1),
            nn.Conv2d(in_ch * gain, out_ch * gain, 3),
            nn.Conv2d(out_ch * gain, out_ch, 1),
        )
        # Linear block: `methods.collapse_linear` may switch it to one conv per step (same function).
        self.collapsed = collapsed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.collapsed:
            kernel, bias = self.kernel_bias()
            return F.conv2d(x, kernel, bias, padding=self.k // 2)
        first, middle, last = self.conv
        y = _fuse.conv1x1_bias_padded(x, first.weight, first.bias, self.k // 2)
        return last(middle(y)) + self.sk(x)

    def kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The equivalent 3x3 kernel and bias (differentiable, on the block's device and dtype)."""
        first, middle, last = self.conv
        kernel, bias = _fuse.compose_1x1_then_kxk(first.weight, first.bias, middle.weight, middle.bias)
        kernel, bias = _fuse.compose_kxk_then_1x1(kernel, bias, last.weight, last.bias)
        return kernel + _fuse.pad_to(self.sk.weight, self.k), bias + self.sk.bias

    def as_conv(self) -> nn.Conv2d:
        with torch.no_grad():
            return _fuse.to_conv(*self.kernel_bias())
