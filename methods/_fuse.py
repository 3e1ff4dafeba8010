"""The merge math shared by every re-parameterizable block (docs/conventions.md section 2).

Kernels are (out, in, k, k) tensors, biases (out,). Every function is
differentiable, so the same code serves the one-off merge and the "collapsed"
training mode that rebuilds the kernel at each step.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def fuse_bn(kernel: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval-mode BN (running stats) that follows a conv into that conv."""
    t = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    if bias is None:
        bias = torch.zeros_like(bn.running_mean)
    return kernel * t.reshape(-1, 1, 1, 1), (bias - bn.running_mean) * t + bn.bias


def he_normal_(conv: nn.Conv2d, gain: float) -> None:
    """Normal weights with std gain / sqrt(fan_in), zero bias (He et al. 2015 with an explicit gain)."""
    fan_in = conv.weight[0].numel()
    with torch.no_grad():
        conv.weight.normal_(0.0, gain / fan_in**0.5)
        if conv.bias is not None:
            conv.bias.zero_()


def pad_to(kernel: torch.Tensor, k: int) -> torch.Tensor:
    """Place a smaller odd kernel at the centre of a k x k one."""
    p = (k - kernel.shape[-1]) // 2
    return F.pad(kernel, (p, p, p, p)) if p else kernel


def identity_kernel(channels: int, k: int = 3, like: torch.Tensor | None = None) -> torch.Tensor:
    """The k x k kernel of the identity map: 1 at [o, o, centre, centre]."""
    # Built directly on `like`'s device and dtype: a float64 merge stays exact, a meta one stays meta.
    opts = {"device": like.device, "dtype": like.dtype} if like is not None else {}
    kernel = torch.zeros(channels, channels, k, k, **opts)
    idx = torch.arange(channels, device=kernel.device)
    kernel[idx, idx, k // 2, k // 2] = 1.0
    return kernel


def compose_kxk_then_1x1(
    k_kxk: torch.Tensor, b_kxk: torch.Tensor | None, w_1x1: torch.Tensor, b_1x1: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """conv_kxk (I -> M) followed by conv_1x1 (M -> O) as one conv_kxk (I -> O).

    Exact everywhere, borders included: the 1x1 does no spatial mixing, so the
    k x k conv's zero padding is the only padding.
    """
    w = w_1x1.flatten(1)  # (O, M)
    kernel = torch.einsum("om,mikl->oikl", w, k_kxk)
    bias = w @ b_kxk if b_kxk is not None else w.new_zeros(w.shape[0])
    if b_1x1 is not None:
        bias = bias + b_1x1
    return kernel, bias


def compose_1x1_then_kxk(
    w_1x1: torch.Tensor, b_1x1: torch.Tensor | None, k_kxk: torch.Tensor, b_kxk: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """conv_1x1 (I -> M) followed by conv_kxk (M -> O) as one conv_kxk (I -> O).

    Exact at the border only if the 1x1 output is padded with its own bias
    (see `conv1x1_bias_padded`), not with zeros.
    """
    kernel = torch.einsum("omkl,mi->oikl", k_kxk, w_1x1.flatten(1))
    bias = k_kxk.new_zeros(k_kxk.shape[0]) if b_kxk is None else b_kxk
    if b_1x1 is not None:
        bias = bias + torch.einsum("omkl,m->o", k_kxk, b_1x1)
    return kernel, bias


def conv1x1_bias_padded(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, pad: int) -> torch.Tensor:
    """A 1x1 conv whose output border ring equals its bias: conv of the zero-padded input.

    The kxk conv that follows then runs with padding=0 and the pair merges exactly.
    """
    return F.conv2d(F.pad(x, (pad, pad, pad, pad)), weight, bias)


def to_conv(kernel: torch.Tensor, bias: torch.Tensor | None) -> nn.Conv2d:
    """A fresh nn.Conv2d ('same' padding) holding the given (detached) kernel and bias.

    The conv lives on the kernel's device and in its dtype (no round trip through the CPU or
    float32): a GPU merge stays on the GPU, a float64 one keeps its precision, a meta one is meta.
    """
    out_ch, in_ch, k, _ = kernel.shape
    conv = nn.Conv2d(in_ch, out_ch, k, padding=k // 2, bias=bias is not None, device=kernel.device, dtype=kernel.dtype)
    with torch.no_grad():
        conv.weight.copy_(kernel.detach())
        if bias is not None:
            conv.bias.copy_(bias.detach().to(kernel.dtype))
    return conv
