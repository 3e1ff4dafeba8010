"""RepVGG (Ding et al. 2021) blocks in the Mx-Cy network: BN(conv3x3) + BN(conv1x1) + BN(identity)."""
from __future__ import annotations

from torch import nn

from methods.blocks import ConvBranch, RepBlock
from methods.plain import PlainSR


def repvgg_block(in_ch: int, out_ch: int) -> RepBlock:
    branches = [ConvBranch(in_ch, out_ch, 3, bn=True), ConvBranch(in_ch, out_ch, 1, bn=True)]
    return RepBlock(in_ch, out_ch, branches, identity="bn")


def build(m: int, c: int, scale: int, colors: int) -> nn.Module:
    return PlainSR(m, c, scale, colors, block=repvgg_block)
