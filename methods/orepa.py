"""OREPA, online convolutional re-parameterization (Hu et al. CVPR 2022), in the Mx-Cy network.

The paper's two steps, applied to a DBB-like block (docs/conventions.md section 2):

- **Block linearization.** The branches lose their BNs; each ends instead in a *linear scaling
  layer*, a learnt per-output-channel vector, which keeps the branches' different optimisation
  (their kernels are scaled separately) while the block stays linear.
- **Block squeezing.** A linear block is one kxk kernel, so the branches are never run on feature
  maps: at every forward pass their parameters are merged into that kernel (differentiably, so
  every branch parameter gets its gradient) and one conv runs. A single BatchNorm after the merged
  conv (the paper's post-addition BN) keeps the block's output normalised while it trains.

Branches (all bias-free; the post BN supplies the bias):

    kxk      : W_kxk                                    (out, in, 3, 3)
    1x1      : W_1x1, the centre tap of a 3x3           (out, in, 1, 1)
    1x1-kxk  : W_b o W_a, K[o,i] = sum_m W_b[o,m] W_a[m,i]   (W_a: in -> in 1x1 starting at the identity)
    1x1-avg  : W_avg followed by 3x3 average pooling: K[o, i, u, v] = W_avg[o, i] / 9

    K = sum_j s_j[o] * K_j[o, i, :, :]                 (s_j: branch j's scaling vector)
    y = BN(conv3x3(x, K))                              (training, until the BN freeze)
    deployed: conv3x3 with kernel t K and bias beta - mu t, t = gamma / sqrt(var + eps)

Exactness: the block computes `conv(x, K)` itself, so the merge is exact by construction, borders
included; with no branch biases the sequential branches' border ring would be zero anyway, which is
what a zero-padded 3x3 sees. Only the post BN is folded at deployment (`as_conv`, running
statistics). With the repo's BN freeze, the BN uses batch statistics until the freeze and running
statistics after it; `methods.collapse_linear` then folds it into the kernel at every step too.

**Cost.** A training step costs about one conv plus one BN per block, whatever the number of
branches: the branch arithmetic is on kernels (C x C x 3 x 3 numbers, independent of the batch and
the patch size), not on feature maps, and no branch activation is stored for the backward pass.

Kept from the paper's OREPA block: the kxk, 1x1, 1x1-kxk and 1x1-average-pooling branches (the
pooling is the lowest-frequency member of the paper's frequency-prior filters), each with its
scaling vector, and the post-addition BN. Left out: the frequency-prior branch with its fixed
higher-frequency filter bank and the linear depthwise-separable branch, extra components the paper
adds on top of its DBB-like prototype, whose exact filter definitions are not restated here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methods import _fuse
from methods.plain import PlainSR

BRANCHES = ("kxk", "1x1", "1x1_kxk", "1x1_avg")


class OREPABlock(nn.Module):
    """Linear branches with per-channel scaling vectors, merged online into one kxk conv, then one BN.

    Follows the RepBlock protocol (`kernel_bias`, `as_conv`, `init_`, `collapsed`) as a module of
    its own: it always runs one conv, and its BN comes after the merged kernel, not in a branch.
    """

    def __init__(self, in_ch: int, out_ch: int, k: int = 3):
        super().__init__()
        self.in_ch, self.out_ch, self.k = in_ch, out_ch, k
        self.weight_kxk = nn.Parameter(torch.empty(out_ch, in_ch, k, k))
        self.weight_1x1 = nn.Parameter(torch.empty(out_ch, in_ch, 1, 1))
        self.weight_1x1_kxk_a = nn.Parameter(torch.empty(in_ch, in_ch, 1, 1))  # the paper's internal width: in
        self.weight_1x1_kxk_b = nn.Parameter(torch.empty(out_ch, in_ch, k, k))
        self.weight_avg = nn.Parameter(torch.empty(out_ch, in_ch, 1, 1))
        self.scales = nn.Parameter(torch.empty(len(BRANCHES), out_ch))  # the linear scaling layers
        self.bn = nn.BatchNorm2d(out_ch)  # the post-addition BN
        # False: conv with the merged kernel, then BN (batch statistics while training). True (set by
        # `methods.collapse_linear` once the BN is frozen): the BN folded into that conv, one conv.
        self.collapsed = False
        self.init_(1.0)

    @torch.no_grad()
    def init_(self, gain: float) -> None:
        """He-normal branch kernels (the 1x1 of the 1x1-kxk branch at the identity), every scaling
        vector 1/sqrt(4) so the merged kernel starts about as loud as one He-normal kernel, and the
        post BN's scale `gain` (0: the block outputs exactly zero)."""
        for w in (self.weight_kxk, self.weight_1x1, self.weight_1x1_kxk_b, self.weight_avg):
            w.normal_(0.0, 1.0 / w[0].numel() ** 0.5)
        self.weight_1x1_kxk_a.copy_(_fuse.identity_kernel(self.in_ch, 1, like=self.weight_1x1_kxk_a))
        self.scales.fill_(1.0 / len(BRANCHES) ** 0.5)
        self.bn.weight.fill_(gain)
        self.bn.bias.zero_()

    def branch_kernels(self) -> list[torch.Tensor]:
        """Each branch's (out, in, k, k) kernel before its scaling vector (differentiable)."""
        k = self.k
        one_kxk, _ = _fuse.compose_1x1_then_kxk(self.weight_1x1_kxk_a, None, self.weight_1x1_kxk_b, None)
        avg = self.weight_avg.expand(-1, -1, k, k) / (k * k)
        return [self.weight_kxk, _fuse.pad_to(self.weight_1x1, k), one_kxk, avg]

    def merged_kernel(self) -> torch.Tensor:
        """The block's kernel before the post BN: sum_j s_j[o] K_j[o] (the online merge)."""
        kernel = None
        for scale, branch in zip(self.scales, self.branch_kernels()):
            term = scale.reshape(-1, 1, 1, 1) * branch
            kernel = term if kernel is None else kernel + term
        return kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.collapsed:
            kernel, bias = self.kernel_bias()
            return F.conv2d(x, kernel, bias, padding=self.k // 2)
        return self.bn(F.conv2d(x, self.merged_kernel(), None, padding=self.k // 2))

    def kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The equivalent kernel and bias, the post BN folded with its running statistics."""
        return _fuse.fuse_bn(self.merged_kernel(), None, self.bn)

    def as_conv(self) -> nn.Conv2d:
        with torch.no_grad():
            return _fuse.to_conv(*self.kernel_bias())


def build(m: int, c: int, scale: int, colors: int) -> nn.Module:
    return PlainSR(m, c, scale, colors, block=OREPABlock)
