"""The NTIRE Efficient SR challenge's figures (`repbench measure --protocol ntire`).

Every figure is for the deployed network and ONE LR input of 1 x colors x 256 x 256, as both
challenges count (their networks are x4 RGB):

* `params`: the true count, sum(p.numel()).
* `flops_fvcore`: fvcore's FlopCountAnalysis total, what NTIRE 2024 prints as "FLOPs". fvcore counts
  one multiply-add as one, skips biases, activations, adds, pooling and pixel shuffle, and counts
  some non-conv operators (e.g. 4 per output element of a bilinear upsampling, BN per element).
* `macs_conv_no_bias`: multiply-accumulates of the convolution and linear modules alone, no bias,
  from forward hooks: k_h x k_w x (C_in / groups) x C_out per output pixel.
* `flops_ntire2022`: the NTIRE 2022 script's whole total (`get_model_flops`), re-implemented from how
  it counts: the same conv MACs (a transposed conv, though, is counted at its output positions,
  stride^2 times its true MACs), plus ONE per output element of every ReLU, PReLU, ELU,
  LeakyReLU and ReLU6 module call, plus 2 per element of an affine BatchNorm2d (1 without affine),
  plus linear MACs. Only modules are seen: functional activations (F.relu), sigmoids, pooling,
  interpolation and element-wise arithmetic add nothing. This, not the bare conv MACs, is what
  the 2022 report prints as "FLOPs" (IMDN: 58.43 G of convs + 0.10 G of LeakyReLU outputs = 58.53 G).
* `activations`: fvcore's ActivationCountAnalysis total (the output elements of every conv, linear
  and matmul), the 2022 "#Acts"; `activations_conv_outputs` is the 2022 script's own definition
  (output elements of the Conv2d / ConvTranspose2d module calls), equal to it for conv-only nets.
* `convs`: nn.Conv* modules of the deployed network (repbench.measure.conv_layers).
* `latency` (optional): repbench.measure.latency's per-image fp32 timing over a dataset's LR images.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

import methods
from repbench.measure.latency import LatencyRecord
from repbench.measure.counts import conv_layers, fvcore_macs

NTIRE_LR_HW = (256, 256)  # both challenges count FLOPs and activations for one 256x256 LR input
NTIRE_SCALE, NTIRE_COLORS = 4, 3  # the challenges' networks: x4, RGB
ACTIVATION_MODULES = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)  # what the 2022 counter adds up
PARTS = ("conv", "linear", "activation", "batchnorm")


@dataclass
class NtireCounts:
    params: int  # true count of the deployed network
    flops_fvcore: int  # fvcore FlopCountAnalysis total (1 multiply-add = 1): NTIRE 2024's "FLOPs"
    flops_lr_hw: tuple[int, int]  # LR input (height, width) of every count here
    flops_by_operator: dict[str, int]  # fvcore's split
    macs_conv_no_bias: int  # conv + linear modules, multiply-accumulates, no bias
    flops_ntire2022: int  # the NTIRE 2022 counter's total: convs + activation-module outputs (+ BN, linear)
    flops_ntire2022_parts: dict[str, int]  # its split over PARTS
    activations: int  # fvcore ActivationCountAnalysis total: the NTIRE 2022 "#Acts"
    activations_conv_outputs: int  # output elements of the conv modules (the 2022 script's definition)
    convs: int  # conv layers (nn.Conv* modules) of the deployed network
    latency: LatencyRecord | None = None  # --latency-dataset: per-image fp32 timing
    latency_dataset: str | None = None
    notes: list[str] = field(default_factory=list)


def _conv_macs(module: nn.Module, out: torch.Tensor, inp: torch.Tensor) -> tuple[int, int]:
    """(true MACs, the 2022 counter's MACs) of one call of a conv module."""
    kernel = math.prod(module.kernel_size)
    if isinstance(module, nn.modules.conv._ConvTransposeNd):  # every input element feeds k x C_out / groups
        true = inp.numel() * kernel * module.out_channels // module.groups
    else:  # every output element takes k x C_in / groups
        true = out.numel() * kernel * module.in_channels // module.groups
    # The 2022 script: prod(kernel) x C_in x C_out / groups at every OUTPUT position, transposed convs too.
    positions = out.shape[0] * math.prod(out.shape[2:])
    counted = positions * kernel * module.in_channels * module.out_channels // module.groups
    return true, counted


def _hook_totals(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """One forward with a hook on every module; what the hooks saw, added up."""
    totals = dict.fromkeys(("conv_true", "conv_outputs", *PARTS), 0)

    def hook(module: nn.Module, inputs: tuple[Any, ...], out: Any) -> None:
        if not isinstance(out, torch.Tensor):
            return
        if isinstance(module, nn.modules.conv._ConvNd):
            true, counted = _conv_macs(module, out, inputs[0])
            totals["conv_true"] += true
            totals["conv"] += counted
            totals["conv_outputs"] += out.numel()
        elif isinstance(module, nn.Linear):
            totals["linear"] += out.numel() * module.in_features
        elif isinstance(module, ACTIVATION_MODULES):
            totals["activation"] += out.numel()
        elif isinstance(module, nn.BatchNorm2d):
            totals["batchnorm"] += out.numel() * (2 if module.affine else 1)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return totals


def hook_counts(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """Module-hook counts of `model` on `x`: `conv_true` (conv MACs, no bias), `conv` (the 2022
    counter's conv MACs), `linear`, `activation`, `batchnorm` and `conv_outputs` (elements).

    Shapes are all the hooks need, so it runs on the meta device (no arithmetic); a model that
    cannot run there is counted on a real forward.
    """
    try:
        meta = copy.deepcopy(model).to("meta")
        return _hook_totals(meta, torch.empty(x.shape, device="meta", dtype=x.dtype))
    except Exception:  # data-dependent code (e.g. .item()) has no meta form
        return _hook_totals(model, x)


def fvcore_activations(model: nn.Module, x: torch.Tensor) -> int:
    """fvcore's ActivationCountAnalysis total."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer chatter; unsupported ops are skipped by design
        from fvcore.nn import ActivationCountAnalysis

        analysis = ActivationCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        return int(analysis.total())


def ntire_counts(model: nn.Module, colors: int, lr_hw: tuple[int, int] = NTIRE_LR_HW,
                 build_args: dict[str, Any] | None = None) -> NtireCounts:
    """The challenges' complexity figures of a deployed `model` for one colors x lr_hw LR input."""
    model = model.eval()
    x = torch.rand(1, colors, *lr_hw)
    flops, by_op = fvcore_macs(model, x)
    hooks = hook_counts(model, x)
    counts = NtireCounts(
        params=methods.count_params(model),
        flops_fvcore=flops,
        flops_lr_hw=tuple(lr_hw),  # type: ignore[arg-type]
        flops_by_operator=by_op,
        macs_conv_no_bias=hooks["conv_true"] + hooks["linear"],
        flops_ntire2022=sum(hooks[p] for p in PARTS),
        flops_ntire2022_parts={p: hooks[p] for p in PARTS},
        activations=fvcore_activations(model, x),
        activations_conv_outputs=hooks["conv_outputs"],
        convs=len(conv_layers(model)),
    )
    counts.notes = _notes(counts, build_args or getattr(model, "build_args", {}) or {})
    return counts


def _notes(c: NtireCounts, build_args: dict[str, Any]) -> list[str]:
    notes = []
    scale, colors = build_args.get("scale"), build_args.get("colors")
    if build_args and (scale, colors) != (NTIRE_SCALE, NTIRE_COLORS):
        notes.append(f"the challenges' networks are x{NTIRE_SCALE} RGB; this one is x{scale} colors={colors}")
    if c.flops_by_operator.get("conv", 0) != c.macs_conv_no_bias - c.flops_ntire2022_parts["linear"]:
        notes.append("fvcore's conv count differs from the conv modules' MACs: the network convolves outside "
                     "nn.Conv modules (e.g. F.conv2d), which the hook counts do not see")
    if c.flops_ntire2022_parts["conv"] != c.macs_conv_no_bias - c.flops_ntire2022_parts["linear"]:
        notes.append("transposed convs: flops_ntire2022 counts them at their output positions as the 2022 "
                     "script does, above their true MACs")
    return notes


def ntire_latency_of(model: nn.Module, colors: int, scale: int, dataset: str, images: int | None, device: Any,
                     net: str, warmup: int) -> LatencyRecord:
    """Per-image fp32 latency (repbench.measure.latency) over the LR images of a registered dataset."""
    from repbench import data
    from repbench.measure.latency import lr_inputs, ntire_latency

    pairs = data.load_pairs(dataset, scale)
    if images is not None:
        pairs = pairs[:images]
    return ntire_latency(model, lr_inputs(pairs, colors), device, net=net, warmup=warmup)
