"""RepSR (Wang, Dong, Shan 2022): clean identity + branches x [conv3x3 (I -> e*O) -> BN -> conv1x1].

`variant` selects the paper's Table 5 ablations:
  repsr          clean residual + branches x {C3-BN-C1}           (the proposed block)
  no_residual    branches x {C3-BN-C1}                            (variant 2)
  residual_bn    BN(identity) + branches x {C3-BN-C1}             (variant 3)
  c3bn_c1bn      clean residual + C3-BN + C1-BN (RepVGG branches) (variant 4)
  c3bnc1bn       clean residual + branches x {C3-BN-C1-BN}        (variant 5)
  c1bnc3         clean residual + branches x {C1-BN-C3}           (variant 6, needs bias padding)
"""
from __future__ import annotations

from functools import partial

from torch import nn

from methods.blocks import ConvBranch, ExpandSqueeze, RepBlock
from methods.plain import PlainSR

VARIANTS = ("repsr", "no_residual", "residual_bn", "c3bn_c1bn", "c3bnc1bn", "c1bnc3")


def repsr_block(in_ch: int, out_ch: int, expand: int = 2, branches: int = 2, variant: str = "repsr") -> RepBlock:
    mid = expand * out_ch
    if variant == "c3bn_c1bn":
        paths = [ConvBranch(in_ch, out_ch, 3, bn=True), ConvBranch(in_ch, out_ch, 1, bn=True)]
    else:
        kw = dict(order="1x1_kxk" if variant == "c1bnc3" else "kxk_1x1", bn_mid=True, bn_out=variant == "c3bnc1bn")
        paths = [ExpandSqueeze(in_ch, out_ch, 3, mid, **kw) for _ in range(branches)]
    identity = {"no_residual": None, "residual_bn": "bn"}.get(variant, "clean")
    return RepBlock(in_ch, out_ch, paths, identity=identity)


def build(m: int, c: int, scale: int, colors: int, *, expand: int, branches: int, variant: str) -> nn.Module:
    """expand: width multiplier of the expand-and-squeeze paths (Table 6).
    branches: number of expand-and-squeeze paths (Table 7). variant: Table 5 ablation."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown RepSR variant {variant!r}; valid: {', '.join(VARIANTS)}")
    if expand < 1 or branches < 1:
        raise ValueError(f"expand and branches must be >= 1, got expand={expand}, branches={branches}")
    return PlainSR(m, c, scale, colors, block=partial(repsr_block, expand=expand, branches=branches, variant=variant))
