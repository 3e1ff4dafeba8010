"""SESR (Bhardwaj et al. 2021): collapsible linear blocks in SESR's own topology.

    f0 = LB5x5(c -> f)
    y  = m x [PReLU(LB3x3(y) + y)]          (the identity is part of the linear block)
    y  = LB5x5(y + f0 -> c*s*s) + repeat_interleave(x, s*s)
    out = PixelShuffle(s)(y)

A linear block LBkxk is conv kxk (I -> F) then conv 1x1 (F -> O), no bias and no
nonlinearity, so it merges into one bias-free kxk conv: the deployed net is this
same topology with plain convs. F = 256 for m <= 5 (SESR-M5) and 64 otherwise.
"""
from __future__ import annotations

import torch
from torch import nn

from methods.blocks import ExpandSqueeze, RepBlock, init_layer_
from methods.plain import PRELU_INIT, prelu_gain


def linear_block(in_ch: int, out_ch: int, k: int, width: int, collapsed: bool) -> RepBlock:
    branch = ExpandSqueeze(in_ch, out_ch, k, mid=width, order="kxk_1x1", bias=False)
    return RepBlock(in_ch, out_ch, [branch], k=k, identity="clean" if in_ch == out_ch else None, collapsed=collapsed)


class SESR(nn.Module):
    def __init__(self, m: int, c: int, scale: int, colors: int, width: int, collapsed: bool = False):
        super().__init__()
        self.scale = scale
        self.first = linear_block(colors, c, 5, width, collapsed)
        self.body = nn.ModuleList(linear_block(c, c, 3, width, collapsed) for _ in range(m))
        self.acts = nn.ModuleList(nn.PReLU(c, init=PRELU_INIT) for _ in range(m))
        self.last = linear_block(c, colors * scale * scale, 5, width, collapsed).drop_identity()
        self.shuffle = nn.PixelShuffle(scale)
        # The same init as PlainSR: He gain into each PReLU, an output that starts at the skip.
        init_layer_(self.first, 1.0)  # feeds the long skip and the body, no activation of its own
        for block in self.body:
            init_layer_(block, prelu_gain())
        init_layer_(self.last, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f0 = self.first(x)
        y = f0
        for block, act in zip(self.body, self.acts):
            y = act(block(y))
        y = self.last(y + f0) + x.repeat_interleave(self.scale * self.scale, dim=1)
        return self.shuffle(y)


def build(m: int, c: int, scale: int, colors: int, *, width: int | None, collapsed: bool) -> nn.Module:
    """width: expansion width F of the linear blocks (default 256 for m <= 5, else 64).
    collapsed: train with each block's kernel merged at every step."""
    return SESR(m, c, scale, colors, width or (256 if m <= 5 else 64), collapsed)
