"""A toy method for tests/test_registry.py: the one file a new method needs (its `build`).

A plain Mx-Cy network whose every block is a RepBlock of a 3x3 and a 1x1 branch, so it merges
into `PlainSR` like the real methods. Its registry line lives in the test.
"""
from __future__ import annotations

from functools import partial

from torch import nn

from methods.blocks import ConvBranch, RepBlock
from methods.plain import PlainSR


def toy_block(in_ch: int, out_ch: int, with_1x1: bool) -> RepBlock:
    branches = [ConvBranch(in_ch, out_ch, 3)] + ([ConvBranch(in_ch, out_ch, 1)] if with_1x1 else [])
    return RepBlock(in_ch, out_ch, branches, k=3, identity=None)


def build(m: int, c: int, scale: int, colors: int, *, with_1x1: bool) -> nn.Module:
    return PlainSR(m, c, scale, colors, block=partial(toy_block, with_1x1=with_1x1))
