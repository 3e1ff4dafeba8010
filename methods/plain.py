"""PlainSR, the Mx-Cy VGG-style network every mergeable method deploys to (SPEC section 1).

    head : conv3x3(c -> C) + PReLU(C)
    body : M x [conv3x3(C -> C) + PReLU(C)]
    tail : conv3x3(C -> c*s*s)
    out  = PixelShuffle(s)(tail + repeat_interleave(x, s*s, dim=1))

`block` builds each conv; re-parameterizable methods pass their training-time block.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

SIZE_FORMAT = "M{m}C{c}"
TABLE2_SIZES = ("M4C8", "M4C16", "M10C16", "M10C32", "M16C64")
MERGEABLE = True

BlockFactory = Callable[[int, int], nn.Module]


def conv3x3(in_ch: int, out_ch: int) -> nn.Module:
    return nn.Conv2d(in_ch, out_ch, 3, padding=1)


class PlainSR(nn.Module):
    def __init__(self, m: int, c: int, scale: int = 4, colors: int = 1, block: BlockFactory = conv3x3):
        super().__init__()
        self.scale = scale
        chans = [colors] + [c] * (m + 1) + [colors * scale * scale]
        self.convs = nn.ModuleList(block(i, o) for i, o in zip(chans[:-1], chans[1:]))
        self.acts = nn.ModuleList(nn.PReLU(c, init=0.25) for _ in range(m + 1))
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for conv, act in zip(self.convs, self.acts):
            y = act(conv(y))
        y = self.convs[-1](y)
        # Nearest-neighbour upsampling of x, done before the shuffle: channel k of pixel
        # group (i, j) must hold x's channel k // s^2, hence repeat_interleave, not repeat.
        y = y + x.repeat_interleave(self.scale * self.scale, dim=1)
        return self.shuffle(y)


def build(m: int, c: int, scale: int, colors: int) -> nn.Module:
    return PlainSR(m, c, scale, colors)
