"""Parameters (true and the paper's convention), MACs three ways, and #conv."""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

import methods
from methods import registry
from methods.external import EXTERNAL
from repbench.measure.models import OUTPUT_HEIGHT, OUTPUT_WIDTH, ModelPair, lr_size

CONVENTIONS = {
    "mxcy": "conv weights + biases + 2 x PReLU slopes (+ any other parameter once); the paper's Table 2 Mx-Cy rows",
    "conv_weights": "conv weights only, truncated when printed; SESR's own count, used for the paper's SESR rows",
}
EDSR_NOTE = (
    "the paper's EDSR-R5C32 row (241.8K / 14.15G) matches no standard EDSR configuration; "
    "these are this implementation's counts (standard R5C32 x4 RGB: 177,475 params / 17.30 G MACs)"
)


def conv_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]


def paper_params(model: nn.Module, method: str) -> tuple[int, str]:
    """The paper's Table 2 count and the name of its convention (see CONVENTIONS and the registry's paper_count)."""
    if method != EXTERNAL and registry.info(method).paper_count == "conv_weights":
        return sum(m.weight.numel() for m in conv_layers(model)), "conv_weights"
    total = 0
    for module in model.modules():
        weight = 2 if isinstance(module, nn.PReLU) else 1  # the paper counts each PReLU slope twice
        total += weight * sum(p.numel() for p in module.parameters(recurse=False))
    return total, "mxcy"


def render_paper(params: int, flops: int, convention: str) -> str:
    """As the paper prints it: '3.7K / 0.21G' (rounded) or, for SESR, '18.32K / 1.05G' (truncated)."""
    if convention == "conv_weights":
        return f"{math.floor(params / 10) / 100:.2f}K / {math.floor(flops / 1e7) / 100:.2f}G"
    return f"{params / 1e3:.1f}K / {flops / 1e9:.2f}G"


def fvcore_macs(model: nn.Module, x: torch.Tensor, handles: dict[str, Any] | None = None) -> tuple[int, dict[str, int]]:
    """Total MACs and the per-operator split, as fvcore counts them (`handles`: extra or replaced
    per-operator counters, fvcore's `set_op_handle`)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter; unsupported ops are skipped by design
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        for name, handle in (handles or {}).items():
            analysis.set_op_handle(name, handle)
        return int(analysis.total()), {k: int(v) for k, v in analysis.by_operator().items()}


def flop_counter_macs(model: nn.Module, x: torch.Tensor) -> int:
    """PyTorch's own count: FlopCounterMode counts FLOPs (2 per MAC) of convs and matmuls, so halve it.

    It needs shapes only, so it runs on the meta device (no arithmetic, instant even for the
    big training-time nets); a model that cannot run on meta is counted on a real forward.
    """
    from torch.utils.flop_counter import FlopCounterMode

    def count(net: nn.Module, inp: torch.Tensor) -> int:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(inp)
        return counter.get_total_flops() // 2

    try:
        return count(copy.deepcopy(model).to("meta"), torch.empty(x.shape, device="meta", dtype=x.dtype))
    except Exception:  # data-dependent code (e.g. .item()) has no meta form
        return count(model, x)


def closed_form_macs(build_args: dict[str, Any], lr_height: int, lr_width: int) -> int | None:
    """Conv MACs of the deployed net from its size alone (docs/conventions.md, "Counting"); None for a
    method whose registry entry names no closed form.

    Independent of the module code on purpose: it is the cross-check of fvcore.
    """
    method, scale, colors = build_args["method"], build_args["scale"], build_args["colors"]
    if method == EXTERNAL:  # a network outside the zoo (spandrel): no size format to count from
        return None
    fields = registry.parse_size(method, build_args["size"])
    form = registry.info(method).closed_form
    out = colors * scale * scale
    if form == "sesr":  # 5x5 (c -> f), m x 3x3 (f -> f), 5x5 (f -> c s^2)
        m, c = fields["m"], fields["c"]
        per_pixel = 25 * colors * c + 9 * m * c * c + 25 * c * out
    elif form == "edsr":
        r, c = fields["r"], fields["c"]
        per_pixel = 9 * (colors * c + (2 * r + 1) * c * c)  # head, 2 convs per block, body tail
        if scale & (scale - 1) == 0:  # log2(s) x [conv c -> 4c, shuffle x2]: stage k runs on 4^k x the pixels
            per_pixel += sum(9 * c * 4 * c * 4**k for k in range(int(math.log2(scale))))
        else:
            per_pixel += 9 * c * scale * scale * c
        per_pixel += 9 * c * colors * scale * scale  # last conv at HR
    elif form == "mxcy":
        m, c = fields["m"], fields["c"]  # Mx-Cy: head, m body convs, tail, all 3x3 at LR
        per_pixel = 9 * (colors * c + m * c * c + c * out)
    else:
        return None
    return per_pixel * lr_height * lr_width


@dataclass
class Counts:
    deployed_params: int  # true count, sum(p.numel()) of the deployed (merged) net
    training_params: int
    paper_params: int  # the paper's Table 2 convention, see paper_convention
    paper_convention: str
    paper_convention_text: str
    paper_flops: int  # paper_params x LR pixels (the paper's "FLOPs" column)
    paper_text: str  # as the paper prints it
    lr_height: int
    lr_width: int
    out_height: int
    out_width: int
    macs: int  # fvcore, deployed net, one image at lr_height x lr_width
    macs_by_operator: dict[str, int]
    macs_closed_form: int | None
    macs_flop_counter: int  # torch.utils.flop_counter total / 2
    macs_training: int  # conv MACs of the training-time net (flop_counter / 2; BN not counted)
    convs: int  # conv layers of the deployed net
    convs_training: int
    merged: bool
    notes: list[str] = field(default_factory=list)


def measure_counts(pair: ModelPair, lr_hw: tuple[int, int] | None = None) -> Counts:
    args = pair.build_args
    h, w = lr_hw or lr_size(args["scale"])
    x = torch.rand(1, args["colors"], h, w)
    macs, by_op = fvcore_macs(pair.deployed, x)
    pp, convention = paper_params(pair.deployed, args["method"])
    notes: list[str] = []
    if args["scale"] * h != OUTPUT_HEIGHT or args["scale"] * w != OUTPUT_WIDTH:
        notes.append(f"LR {h}x{w} gives a {args['scale'] * h}x{args['scale'] * w} output (nearest to 720x1280)")
    if args["method"] == EXTERNAL:
        notes.append(f"{args['size']} is an external network (spandrel): counted as it is, never merged")
    elif not pair.merged:
        notes.append(f"{args['method']} is not re-parameterizable: the deployed net is the training-time net")
    if args["method"] == "edsr":
        notes.append(EDSR_NOTE)
    return Counts(
        deployed_params=methods.count_params(pair.deployed),
        training_params=methods.count_params(pair.training),
        paper_params=pp,
        paper_convention=convention,
        paper_convention_text=CONVENTIONS[convention],
        paper_flops=pp * h * w,
        paper_text=render_paper(pp, pp * h * w, convention),
        lr_height=h,
        lr_width=w,
        out_height=args["scale"] * h,
        out_width=args["scale"] * w,
        macs=macs,
        macs_by_operator=by_op,
        macs_closed_form=closed_form_macs(args, h, w),
        macs_flop_counter=flop_counter_macs(pair.deployed, x),
        macs_training=flop_counter_macs(pair.training, x),
        convs=len(conv_layers(pair.deployed)),
        convs_training=len(conv_layers(pair.training)),
        merged=pair.merged,
        notes=notes,
    )
