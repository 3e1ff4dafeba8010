"""ECBSR (Zhang et al. 2021): edge-oriented convolution blocks in the Mx-Cy network.

ECB = conv3x3 + [conv1x1 (I -> 2*O) -> conv3x3] + Sobel-x, Sobel-y and Laplacian
branches (conv1x1 -> fixed mask x learnable scale + bias). No BN, no identity.
"""
from __future__ import annotations

from functools import partial

from torch import nn

from methods.blocks import ConvBranch, EdgeBranch, ExpandSqueeze, RepBlock
from methods.plain import PlainSR


def ecb(in_ch: int, out_ch: int, depth_multiplier: int = 2, collapsed: bool = False) -> RepBlock:
    branches = [
        ConvBranch(in_ch, out_ch, 3),
        ExpandSqueeze(in_ch, out_ch, 3, mid=depth_multiplier * out_ch, order="1x1_kxk"),
        EdgeBranch(in_ch, out_ch, "sobel_x"),
        EdgeBranch(in_ch, out_ch, "sobel_y"),
        EdgeBranch(in_ch, out_ch, "laplacian"),
    ]
    return RepBlock(in_ch, out_ch, branches, collapsed=collapsed)


def build(m: int, c: int, scale: int, colors: int, *, depth_multiplier: int, collapsed: bool) -> nn.Module:
    """depth_multiplier: width of the 1x1 -> 3x3 branch (x out channels).
    collapsed: train with the kernel merged at every step (same function, faster)."""
    return PlainSR(m, c, scale, colors, block=partial(ecb, depth_multiplier=depth_multiplier, collapsed=collapsed))
