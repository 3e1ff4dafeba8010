"""SPAN's Conv3XC block (methods/conv3xc.py) in the Mx-Cy network (docs/conventions.md sections 1 and 7).

Every 3x3 conv of `methods.plain.PlainSR` (head and tail too) becomes a Conv3XC: a 1x1 skip plus a
1x1 (in -> 2 in) -> 3x3 (2 in -> 2 out) -> 1x1 (2 out -> out) chain, all with biases and nothing
non-linear between them, which merges into one 3x3 conv with bias: the deployed network is the plain
Mx-Cy network, exactly (the input is zero-padded before the chain's first 1x1, so the border merges
exactly too). No BN, so `collapsed=True` may train it as its merged kernel rebuilt at every step (the
same function and gradients, one conv per block), like ECBSR's and SESR's linear blocks.

Initialization (`Conv3XCBlock.init_`): He-normal through the chain and the skip, each path carrying half
of the output variance `gain`^2; `gain` 0 zeroes the skip and the chain's last 1x1, so the block outputs
exactly zero and the network starts as the nearest-neighbour upsampler, as every Mx-Cy network does.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from methods.blocks import init_layer_
from methods.conv3xc import Conv3XC
from methods.plain import PlainSR


class Conv3XCBlock(Conv3XC):
    """Conv3XC with the RepBlock protocol's `init_` (its `kernel_bias` / `as_conv` / `collapsed` are Conv3XC's)."""

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """He-normal (PReLU gain `gain` split evenly between skip and chain); gain 0: the block outputs zero."""
        first, middle, last = self.conv
        half = gain / 2**0.5
        init_layer_(first, 1.0)
        init_layer_(middle, 1.0)
        init_layer_(last, half)
        init_layer_(self.sk, half)


def build(m: int, c: int, scale: int, colors: int, *, collapsed: bool) -> nn.Module:
    """collapsed: train with the kernel merged at every step (same function, one conv per block)."""
    return PlainSR(m, c, scale, colors, block=partial(Conv3XCBlock, collapsed=collapsed))
