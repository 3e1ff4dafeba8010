"""IMDN with collapsible linear blocks (Wang, Li, Tian, Shan, NTIRE 2022 ESR).

The `imdn` network with every 3x3 conv inside the IMDBs trained as a conv3x3 and a
conv1x1 in parallel, `y = conv3x3(x) + conv1x1(x)`, before the activation. No BN and
no identity path, so the block is linear: `methods.merge` folds the 1x1 into the centre
tap of the 3x3 and the result is exactly the `imdn` network of the same B (same module
names, so the same state_dict keys and shapes). The head, the body conv after the
blocks, the block 1x1 fusions and the upsampler stay single convs, as in the paper.
"""
from __future__ import annotations

from functools import partial

from torch import nn

from methods.blocks import ConvBranch, RepBlock
from methods.imdn import IMDN


def collapsible_linear_block(in_ch: int, out_ch: int, collapsed: bool = False) -> RepBlock:
    branches = [ConvBranch(in_ch, out_ch, 3), ConvBranch(in_ch, out_ch, 1)]
    return RepBlock(in_ch, out_ch, branches, k=3, identity=None, collapsed=collapsed)


def build(b: int, scale: int, colors: int, *, channels: int, collapsed: bool) -> nn.Module:
    """channels: feature width (64 in the paper; a multiple of 4).
    collapsed: train with each block's kernel merged at every step (same function, one conv)."""
    return IMDN(b, scale, colors, channels, conv=partial(collapsible_linear_block, collapsed=collapsed))
