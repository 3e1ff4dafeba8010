"""PlainSR, the Mx-Cy VGG-style network every mergeable method deploys to (docs/conventions.md section 1).

    head : conv3x3(c -> C) + PReLU(C)
    body : M x [conv3x3(C -> C) + PReLU(C)]
    tail : conv3x3(C -> c*s*s)
    out  = PixelShuffle(s)(tail + repeat_interleave(x, s*s, dim=1))

`block` builds each conv; re-parameterizable methods pass their training-time block.

Initialization is the same for every block type (see `init_weights`): He-normal with
PReLU's gain through the head and body, so the signal keeps its scale with depth, and
an output layer that starts at exactly zero, so every network starts as the
nearest-neighbour upsampler its skip provides and only learns the residual.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from methods.blocks import RepBlock, init_layer_


BlockFactory = Callable[[int, int], nn.Module]
PRELU_INIT = 0.25


def prelu_gain(slope: float = PRELU_INIT) -> float:
    """He's gain for a leaky rectifier: keeps the activation variance through conv + PReLU."""
    return (2.0 / (1.0 + slope * slope)) ** 0.5


def conv3x3(in_ch: int, out_ch: int) -> nn.Module:
    return nn.Conv2d(in_ch, out_ch, 3, padding=1)


class PlainSR(nn.Module):
    def __init__(self, m: int, c: int, scale: int = 4, colors: int = 1, block: BlockFactory = conv3x3):
        super().__init__()
        self.scale = scale
        chans = [colors] + [c] * (m + 1) + [colors * scale * scale]
        self.convs = nn.ModuleList(block(i, o) for i, o in zip(chans[:-1], chans[1:]))
        if isinstance(self.convs[-1], RepBlock):
            self.convs[-1].drop_identity()
        self.acts = nn.ModuleList(nn.PReLU(c, init=PRELU_INIT) for _ in range(m + 1))
        self.shuffle = nn.PixelShuffle(scale)
        self.init_weights()

    def init_weights(self) -> None:
        """He-normal (PReLU gain) for the head and body; zero output layer (start at the skip)."""
        for layer in self.convs[:-1]:
            init_layer_(layer, prelu_gain())
        init_layer_(self.convs[-1], 0.0)

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
