"""The right half of every table: parameters, MACs, #conv, inference throughput, roofline, training speed.

Conventions (SPEC sections 3 and 6):

* MACs: one multiply-add = 1, counted by fvcore for a 1280x720 OUTPUT, i.e. an LR input of
  round(720/s) x round(1280/s). x2 and x4 divide exactly (x4: 180x320 = 57,600 LR pixels);
  x3 has no exact size, so the nearest LR size 240x427 is used (output 720x1281) and recorded.
  fvcore counts convolutions (and BN as one per element) and skips PReLU, pixel shuffle and adds.
* Two parameter counts: the true deployed count `sum(p.numel())`, and the paper's Table 2
  convention (conv weights + biases + 2 x PReLU slopes for the Mx-Cy rows; conv weights only
  for SESR, as SESR reports itself). Paper "FLOPs" = paper params x LR pixels. Numbers are
  stored raw; `render_paper` formats them as the paper prints them.
* Throughput follows the paper's protocol by default (batch 4, 320x180 LR, x4), with warm-up,
  device synchronization, repeated timing (median and spread) under `torch.inference_mode`.
  CUDA defaults to fp16 + channels_last; CPU runs fp32 and every record says so.
* Roofline: bound = min(peak FLOP/s, intensity x bandwidth), intensity = 2 x conv MACs over
  the bytes of a per-layer traffic model: each convolution reads its weights, bias and input
  and writes its output once, at the run's dtype. Two simplifications pull opposite ways:
  elementwise ops (PReLU, skip add, pixel shuffle) are taken as fused into the convolutions
  (no traffic; eager mode really moves more), and reuse of an activation through the on-chip
  cache by the next layer is ignored (narrow nets, whose activations fit in L2, really move
  less). The fraction is therefore an estimate of how close a run is to the device's limit.
"""
from __future__ import annotations

import copy
import functools
import math
import statistics
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

import methods
from repbench.device import device_name, resolve_device
from repbench.devices import DevicePeak, lookup
from repbench.errors import RepbenchError

OUTPUT_HEIGHT, OUTPUT_WIDTH = 720, 1280
PAPER_ITERATIONS = 1_000_000

# Methods whose paper rows count conv weights only (SESR reports its own bias-free convs that way).
CONV_WEIGHTS_ONLY = frozenset({"sesr"})
CONVENTIONS = {
    "mxcy": "conv weights + biases + 2 x PReLU slopes (+ any other parameter once); the paper's Table 2 Mx-Cy rows",
    "conv_weights": "conv weights only, truncated when printed; SESR's own count, used for the paper's SESR rows",
}
EDSR_NOTE = (
    "the paper's EDSR-R5C32 row (241.8K / 14.15G) matches no standard EDSR configuration; "
    "these are this implementation's counts (standard R5C32 x4 RGB: 177,475 params / 17.30 G MACs)"
)
ROOFLINE_NOTE = (
    "bound = min(peak, intensity x bandwidth); intensity = 2 x conv MACs / bytes, bytes = per convolution "
    "its weights + bias + input + output activation at the run's dtype, once each; elementwise ops taken "
    "as fused and on-chip cache reuse between layers ignored, so the fraction is an estimate"
)


def lr_size(scale: int, out_height: int = OUTPUT_HEIGHT, out_width: int = OUTPUT_WIDTH) -> tuple[int, int]:
    """The LR (height, width) whose x`scale` output is nearest to out_height x out_width."""
    return max(1, round(out_height / scale)), max(1, round(out_width / scale))


# --------------------------------------------------------------------------- models


@dataclass
class ModelPair:
    """A training-time net and its deployable form (the same net where the method cannot merge)."""

    training: nn.Module
    deployed: nn.Module
    build_args: dict[str, Any]
    merged: bool  # False: the method has no merge and `deployed` is the training-time net
    source: str  # "built" or the model file it came from


def _args_of(method: str, size: str, scale: int, colors: int, options: dict[str, Any]) -> dict[str, Any]:
    return {"method": method, "size": size, "scale": scale, "colors": colors, "options": dict(options)}


def multi_branch(model: nn.Module) -> nn.Module:
    """The method's training-time network in its multi-branch form.

    `collapsed=True` (ECB, SESR, IMDN-CLB) trains the same function with the merged kernel
    rebuilt at each step: a training shortcut, not the method. Unmerged throughput and
    training speed (Table 3) are timed on the multi-branch network the papers train.
    """
    args = model.build_args
    if not args.get("options", {}).get("collapsed"):
        return model
    twin = methods.build(args["method"], args["size"], args["scale"], args["colors"],
                         **{**args["options"], "collapsed": False})
    twin.load_state_dict(model.state_dict())
    return twin


def build_pair(method: str, size: str, scale: int = 4, colors: int = 1, **options: Any) -> ModelPair:
    """Build `method` at `size` and merge it; a bad method, size or option becomes a RepbenchError."""
    try:
        training = methods.build(method, size, scale, colors, **options).eval()
        mergeable = methods.is_mergeable(method)
    except ValueError as err:
        raise RepbenchError(f"{err} (list methods, sizes and options with `repbench methods`)") from err
    deployed = methods.merge(training) if mergeable else training
    return ModelPair(multi_branch(training).eval(), deployed, _args_of(method, size, scale, colors, options), mergeable, "built")


def load_pair(path: str) -> ModelPair:
    """A saved model (training-time or merged). A merged file has no training-time weights, so its
    training-time net is rebuilt from build_args with fresh weights: counts and speed do not depend on them.

    A run folder stands for its final.pt (the training-time weights, as the pipeline measures them),
    else its deployed.pt."""
    folder = Path(path)
    if folder.is_dir():
        found = next((folder / n for n in ("final.pt", "deployed.pt") if (folder / n).is_file()), None)
        if found is None:
            raise RepbenchError(f"{folder} is a folder without final.pt or deployed.pt; pass a model file "
                                "(.pt written by `repbench train` / `merge`) or a finished run folder")
        path = str(found)
    try:
        model = methods.load(path)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        raise RepbenchError(f"cannot load model {path}: {err}; pass a .pt written by `repbench train`/`merge` (methods.save)") from err
    args = dict(model.build_args)
    base = _args_of(args["method"], args["size"], args["scale"], args["colors"], args.get("options", {}))
    mergeable = methods.is_mergeable(args["method"])
    if args.get("merged"):
        training = methods.build(base["method"], base["size"], base["scale"], base["colors"], **base["options"])
        deployed = model
    else:
        training = model
        deployed = methods.merge(model) if mergeable else model
    return ModelPair(multi_branch(training).eval(), deployed.eval(), base, mergeable, str(path))


# --------------------------------------------------------------------------- counts


def conv_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]


def paper_params(model: nn.Module, method: str) -> tuple[int, str]:
    """The paper's Table 2 count and the name of its convention (see CONVENTIONS)."""
    if method in CONV_WEIGHTS_ONLY:
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


def fvcore_macs(model: nn.Module, x: torch.Tensor) -> tuple[int, dict[str, int]]:
    """Total MACs and the per-operator split, as fvcore counts them."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter; unsupported ops are skipped by design
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
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
    """Conv MACs of the deployed net from its size alone (SPEC sections 1-3); None for an unknown topology.

    Independent of the module code on purpose: it is the cross-check of fvcore.
    """
    method, scale, colors = build_args["method"], build_args["scale"], build_args["colors"]
    fields = methods.parse_size(method, build_args["size"])
    out = colors * scale * scale
    if method == "sesr":  # 5x5 (c -> f), m x 3x3 (f -> f), 5x5 (f -> c s^2)
        m, c = fields["m"], fields["c"]
        per_pixel = 25 * colors * c + 9 * m * c * c + 25 * c * out
    elif method == "edsr":
        r, c = fields["r"], fields["c"]
        per_pixel = 9 * (colors * c + (2 * r + 1) * c * c)  # head, 2 convs per block, body tail
        if scale & (scale - 1) == 0:  # log2(s) x [conv c -> 4c, shuffle x2]: stage k runs on 4^k x the pixels
            per_pixel += sum(9 * c * 4 * c * 4**k for k in range(int(math.log2(scale))))
        else:
            per_pixel += 9 * c * scale * scale * c
        per_pixel += 9 * c * colors * scale * scale  # last conv at HR
    elif set(fields) == {"m", "c"} and methods.is_mergeable(method) and _deploys_plain(method):
        m, c = fields["m"], fields["c"]  # Mx-Cy: head, m body convs, tail, all 3x3 at LR
        per_pixel = 9 * (colors * c + m * c * c + c * out)
    else:
        return None
    return per_pixel * lr_height * lr_width


@functools.lru_cache(maxsize=None)
def _deploys_plain(method: str) -> bool:
    from methods.plain import PlainSR

    probe = methods.merge(methods.build(method, "M1C1", scale=2, colors=1))
    return isinstance(probe, PlainSR)


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
    if not pair.merged:
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


# --------------------------------------------------------------------------- environment


_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def parse_dtype(name: str) -> torch.dtype:
    aliases = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
    key = aliases.get(name, name)
    if key not in _DTYPES:
        raise RepbenchError(f"unknown dtype {name!r}; use one of float32, float16, bfloat16")
    return _DTYPES[key]


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _spread(samples: list[float]) -> dict[str, float]:
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"median": statistics.median(samples), "q1": q1, "q3": q3, "min": min(samples), "max": max(samples)}


# --------------------------------------------------------------------------- roofline


@dataclass
class ConvTraffic:
    macs: int
    weight_bytes: int
    activation_bytes: int

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes


_CONV_OPS = {"conv1d", "conv2d", "conv3d", "convolution", "_convolution"}


def conv_traffic(model: nn.Module, x: torch.Tensor) -> ConvTraffic:
    """MACs and per-layer traffic (see the module docstring) of every convolution one forward runs,
    functional ones included.

    A dispatch mode sees each aten convolution once (ops it handles are not re-dispatched to it).
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    total = ConvTraffic(0, 0, 0)

    class _Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            out = func(*args, **(kwargs or {}))
            if func.overloadpacket.__name__ in _CONV_OPS:
                inp, weight = args[0], args[1]
                bias = args[2] if len(args) > 2 and isinstance(args[2], torch.Tensor) else None
                total.macs += out.numel() * math.prod(weight.shape[1:])  # weight: (O, I/groups, k...)
                total.weight_bytes += weight.nbytes + (bias.nbytes if bias is not None else 0)
                total.activation_bytes += inp.nbytes + out.nbytes
            return out

    with torch.inference_mode(), _Mode():
        model(x)
    return total


@dataclass
class Roofline:
    device_entry: str
    peak_tflops: float
    bandwidth_gbs: float
    source: str
    macs_per_batch: int
    bytes_per_batch: int
    intensity_flop_per_byte: float
    bound_tflops: float
    bound_by: str  # "compute" or "memory"
    achieved_tflops: float
    fraction: float
    note: str = ROOFLINE_NOTE


def roofline(traffic: ConvTraffic, batches_per_s: float, peak: DevicePeak) -> Roofline:
    intensity = 2 * traffic.macs / traffic.bytes
    memory_bound = intensity * peak.bandwidth_gbs * 1e9 / 1e12  # TFLOP/s
    bound = min(peak.fp16_tflops, memory_bound)
    achieved = 2 * traffic.macs * batches_per_s / 1e12
    return Roofline(
        device_entry=peak.name,
        peak_tflops=peak.fp16_tflops,
        bandwidth_gbs=peak.bandwidth_gbs,
        source=peak.source,
        macs_per_batch=traffic.macs,
        bytes_per_batch=traffic.bytes,
        intensity_flop_per_byte=intensity,
        bound_tflops=bound,
        bound_by="compute" if peak.fp16_tflops <= memory_bound else "memory",
        achieved_tflops=achieved,
        fraction=achieved / bound,
    )


# --------------------------------------------------------------------------- throughput

# eager-cudagraph: the eager net captured once into a CUDA graph and replayed (no launch overhead);
# compile: torch.compile default; compile-cudagraph: torch.compile(mode="reduce-overhead").
MODES = ("eager", "eager-cudagraph", "compile", "compile-cudagraph")


@dataclass
class ThroughputConfig:
    batch: int = 4  # the paper's protocol: batch 4, 320x180 LR (x4 -> 1280x720)
    lr_height: int = 180
    lr_width: int = 320
    device: str = "auto"
    dtype: str | None = None  # None: float16 on CUDA, float32 on CPU
    channels_last: bool | None = None  # None: on for CUDA (tensor-core convs want NHWC), off on CPU
    modes: tuple[str, ...] | None = None  # None: all MODES on CUDA, eager on CPU
    warmup: int = 10
    repeats: int = 10
    iters: int | None = None  # forwards per timed repeat; None: enough to last min_repeat_s
    min_repeat_s: float = 0.2  # keeps timer resolution and launch jitter out of short repeats
    threads: int | None = None  # CPU threads (torch.set_num_threads); None: leave as is
    peak: DevicePeak | None = None  # explicit roofline peaks (any device); else looked up for CUDA
    extra_peaks: tuple[DevicePeak, ...] = ()


@dataclass
class ThroughputRecord:
    net: str  # "merged", "unmerged" (training-time net in eval mode) or "training-time" (no merge exists)
    mode: str
    device: str
    device_name: str
    dtype: str
    memory_format: str
    batch: int
    lr_height: int
    lr_width: int
    out_height: int
    out_width: int
    torch_version: str
    threads: int
    cudnn_benchmark: bool | None
    warmup: int
    repeats: int
    iters_per_repeat: int
    label: str  # says plainly which protocol produced the number
    images_per_s: float | None = None  # median over repeats
    images_per_s_q1: float | None = None
    images_per_s_q3: float | None = None
    images_per_s_min: float | None = None
    images_per_s_max: float | None = None
    ms_per_batch: float | None = None  # median
    samples: list[float] = field(default_factory=list)  # images/s of each repeat
    roofline: Roofline | None = None
    roofline_note: str = ""
    error: str | None = None


def _resolved(cfg: ThroughputConfig) -> tuple[torch.device, torch.dtype, bool, tuple[str, ...]]:
    device = resolve_device(cfg.device, flag="--device")
    cuda = device.type == "cuda"
    dtype = parse_dtype(cfg.dtype) if cfg.dtype else (torch.float16 if cuda else torch.float32)
    if not cuda and dtype == torch.float16:
        raise RepbenchError("float16 convolutions are not a meaningful CPU benchmark; use --dtype float32 on CPU")
    channels_last = cuda if cfg.channels_last is None else cfg.channels_last
    modes = cfg.modes or (MODES if cuda else ("eager",))
    for mode in modes:
        if mode not in MODES:
            raise RepbenchError(f"unknown throughput mode {mode!r}; valid: {', '.join(MODES)}")
        if mode.endswith("cudagraph") and not cuda:
            raise RepbenchError(f"mode {mode!r} needs a CUDA device; on CPU use eager (or compile)")
    for name in ("batch", "lr_height", "lr_width", "repeats"):
        if getattr(cfg, name) < 1:
            raise RepbenchError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    if cfg.warmup < 0 or (cfg.iters is not None and cfg.iters < 1):
        raise RepbenchError("warmup must be >= 0 and iters >= 1")
    return device, dtype, channels_last, tuple(modes)


def _runner(net: nn.Module, x: torch.Tensor, mode: str) -> Callable[[], Any]:
    """A no-argument callable running one batch in `mode` (compiled/captured on first calls)."""
    if mode == "eager":
        return lambda: net(x)
    if mode == "eager-cudagraph":
        # Capture once on a side stream after a few eager runs (cuDNN picks its algorithms then), replay after.
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                net(x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            net(x)
        return graph.replay
    compiled = torch.compile(net, mode="reduce-overhead" if mode == "compile-cudagraph" else None, dynamic=False)
    if mode == "compile-cudagraph":
        def step() -> Any:
            torch.compiler.cudagraph_mark_step_begin()  # outputs of the last replay may be overwritten
            return compiled(x)

        return step
    return lambda: compiled(x)


def _label(device: torch.device, dtype: torch.dtype, cfg: ThroughputConfig, scale: int) -> str:
    paper = cfg.batch == 4 and (cfg.lr_height, cfg.lr_width) == (180, 320) and scale == 4
    protocol = "paper protocol" if paper else "reduced protocol (not the paper's batch/resolution)"
    if device.type == "cpu":
        return f"CPU {_dtype_name(dtype)}, {protocol}; not comparable with the paper's GPU fp16 figures"
    return f"CUDA {_dtype_name(dtype)}, {protocol}"


def measure_throughput(
    nets: dict[str, nn.Module], colors: int, scale: int, cfg: ThroughputConfig
) -> list[ThroughputRecord]:
    """Time each net (label -> model) in every configured mode; one record per net and mode.

    Within a mode the nets' timed repeats are interleaved (A B A B ...), so a change in
    machine load hits every net alike and their ratio stays fair on a shared machine.
    A mode that fails (compile, capture) is recorded with its error instead of aborting.
    """
    device, dtype, channels_last, modes = _resolved(cfg)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    old_threads = torch.get_num_threads()
    old_benchmark = torch.backends.cudnn.benchmark
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # static shapes: let cuDNN pick the fastest kernels once
    try:
        x = torch.rand(cfg.batch, colors, cfg.lr_height, cfg.lr_width, device=device, dtype=dtype)
        x = x.contiguous(memory_format=fmt)
        prepared = {k: copy.deepcopy(m).eval().to(device=device, dtype=dtype, memory_format=fmt) for k, m in nets.items()}
        peak, why_not = _peak_for(device, dtype, cfg)
        traffic = {k: conv_traffic(m, x) for k, m in prepared.items()} if peak else {}
        records = []
        for mode in modes:
            batch = {k: _record(k, mode, device, dtype, channels_last, scale, cfg, why_not) for k in prepared}
            _time_interleaved(prepared, x, mode, device, cfg, batch)
            for k, rec in batch.items():
                if peak is not None and rec.images_per_s:
                    rec.roofline = roofline(traffic[k], rec.images_per_s / cfg.batch, peak)
                records.append(rec)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        return records
    finally:
        torch.set_num_threads(old_threads)
        torch.backends.cudnn.benchmark = old_benchmark


def _record(
    net: str, mode: str, device: torch.device, dtype: torch.dtype, channels_last: bool, scale: int,
    cfg: ThroughputConfig, roofline_note: str,
) -> ThroughputRecord:
    return ThroughputRecord(
        net=net,
        mode=mode,
        device=device.type,
        device_name=device_name(device),
        dtype=_dtype_name(dtype),
        memory_format="channels_last" if channels_last else "contiguous",
        batch=cfg.batch,
        lr_height=cfg.lr_height,
        lr_width=cfg.lr_width,
        out_height=cfg.lr_height * scale,
        out_width=cfg.lr_width * scale,
        torch_version=torch.__version__,
        threads=torch.get_num_threads(),
        cudnn_benchmark=torch.backends.cudnn.benchmark if device.type == "cuda" else None,
        warmup=cfg.warmup,
        repeats=cfg.repeats,
        iters_per_repeat=0,
        label=_label(device, dtype, cfg, scale),
        roofline_note=roofline_note,
    )


def _time_interleaved(
    nets: dict[str, nn.Module], x: torch.Tensor, mode: str, device: torch.device, cfg: ThroughputConfig,
    records: dict[str, ThroughputRecord],
) -> None:
    if mode.startswith("compile"):
        # Dynamo keeps a small per-code-object cache; nets of one family share forward(), so
        # without a reset a long benchmark would hit the recompile limit and silently run eager.
        # Within one call there are at most a few nets, well under the limit.
        torch._dynamo.reset()
    runs: dict[str, Callable[[], Any]] = {}
    iters: dict[str, int] = {}
    samples: dict[str, list[float]] = {k: [] for k in nets}
    with torch.inference_mode():
        for k, net in nets.items():
            try:
                runs[k] = _runner(net, x, mode)
                for _ in range(max(cfg.warmup, 3 if mode.startswith("compile") else 0)):  # compile: trace, record, replay
                    runs[k]()
                _sync(device)
                iters[k] = cfg.iters or _calibrate(runs[k], device, cfg.min_repeat_s)
            except Exception as err:  # a compile/capture failure must not lose the other numbers
                records[k].error = f"{type(err).__name__}: {err}"
                runs.pop(k, None)
        for _ in range(cfg.repeats):
            for k, run in runs.items():
                _sync(device)
                start = time.perf_counter()
                for _ in range(iters[k]):
                    run()
                _sync(device)
                samples[k].append(cfg.batch * iters[k] / (time.perf_counter() - start))
    for k in runs:
        rec, spread = records[k], _spread(samples[k])
        rec.iters_per_repeat = iters[k]
        rec.samples = samples[k]
        rec.images_per_s = spread["median"]
        rec.images_per_s_q1, rec.images_per_s_q3 = spread["q1"], spread["q3"]
        rec.images_per_s_min, rec.images_per_s_max = spread["min"], spread["max"]
        rec.ms_per_batch = 1e3 * cfg.batch / spread["median"]


def _calibrate(run: Callable[[], Any], device: torch.device, min_repeat_s: float) -> int:
    """Forwards per repeat so that one repeat lasts at least min_repeat_s."""
    start = time.perf_counter()
    run()
    _sync(device)
    return max(1, math.ceil(min_repeat_s / max(time.perf_counter() - start, 1e-9)))


def _peak_for(device: torch.device, dtype: torch.dtype, cfg: ThroughputConfig) -> tuple[DevicePeak | None, str]:
    if cfg.peak is not None:
        return cfg.peak, ""
    if device.type != "cuda":
        return None, "no roofline on CPU unless peaks are given (--peak-tflops, --bandwidth-gbs)"
    if dtype not in (torch.float16, torch.bfloat16):
        return None, f"the peak table holds fp16/bf16 tensor-core peaks; none for {_dtype_name(dtype)}"
    name = device_name(device)
    peak = lookup(name, cfg.extra_peaks)
    if peak is None:
        return None, f"no peaks known for {name!r}: pass --peak-tflops and --bandwidth-gbs, or --devices FILE.yaml"
    return peak, ""


def throughput_pair(pair: ModelPair, cfg: ThroughputConfig, unmerged: bool = True) -> list[ThroughputRecord]:
    """Merged net and, for comparison, the training-time net in eval mode, timed interleaved;
    one net ("training-time") for a method without a merge."""
    colors, scale = pair.build_args["colors"], pair.build_args["scale"]
    if not pair.merged:
        return measure_throughput({"training-time": pair.deployed}, colors, scale, cfg)
    nets = {"merged": pair.deployed, **({"unmerged": pair.training} if unmerged else {})}
    return measure_throughput(nets, colors, scale, cfg)


# --------------------------------------------------------------------------- training speed


@dataclass
class TrainSpeedConfig:
    batch: int = 32  # the paper: batch 32, LR patch 64 (tiny models), Adam, L1 loss
    patch: int = 64
    warmup: int = 3
    iters: int = 10
    device: str = "auto"
    lr: float = 4e-4
    threads: int | None = None


@dataclass
class TrainSpeedRecord:
    device: str
    device_name: str
    dtype: str
    batch: int
    lr_patch: int
    hr_patch: int
    warmup: int
    iters: int
    s_per_iter: float  # median
    s_per_iter_q1: float
    s_per_iter_q3: float
    s_per_iter_min: float
    s_per_iter_max: float
    projected_iterations: int
    projected_hours: float  # s_per_iter x projected_iterations
    torch_version: str
    threads: int
    samples: list[float]
    note: str = "forward + backward + Adam step, L1 loss, fp32, on random batches already on the device (no data loading)"


def measure_train_speed(model: nn.Module, colors: int, scale: int, cfg: TrainSpeedConfig) -> TrainSpeedRecord:
    """Seconds per training iteration of a copy of `model` (the caller's weights stay untouched)."""
    device = resolve_device(cfg.device)
    if min(cfg.batch, cfg.patch, cfg.iters) < 1 or cfg.warmup < 0:
        raise RepbenchError("train batch, patch and iters must be >= 1 and warmup >= 0")
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        net = copy.deepcopy(model).to(device).train()
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        lr_img = torch.rand(cfg.batch, colors, cfg.patch, cfg.patch, device=device)
        hr_img = torch.rand(cfg.batch, colors, cfg.patch * scale, cfg.patch * scale, device=device)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            F.l1_loss(net(lr_img), hr_img).backward()
            opt.step()

        for _ in range(cfg.warmup):
            step()
        samples = []
        for _ in range(cfg.iters):
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            samples.append(time.perf_counter() - start)
        spread = _spread(samples)
        return TrainSpeedRecord(
            device=device.type,
            device_name=device_name(device),
            dtype="float32",
            batch=cfg.batch,
            lr_patch=cfg.patch,
            hr_patch=cfg.patch * scale,
            warmup=cfg.warmup,
            iters=cfg.iters,
            s_per_iter=spread["median"],
            s_per_iter_q1=spread["q1"],
            s_per_iter_q3=spread["q3"],
            s_per_iter_min=spread["min"],
            s_per_iter_max=spread["max"],
            projected_iterations=PAPER_ITERATIONS,
            projected_hours=spread["median"] * PAPER_ITERATIONS / 3600,
            torch_version=torch.__version__,
            threads=torch.get_num_threads(),
            samples=samples,
        )
    finally:
        torch.set_num_threads(old_threads)


# --------------------------------------------------------------------------- the whole measurement


@dataclass
class Measurement:
    model: dict[str, Any]  # build_args + source
    counts: Counts
    throughput: list[ThroughputRecord] = field(default_factory=list)
    train_speed: TrainSpeedRecord | None = None
    environment: dict[str, str] = field(default_factory=lambda: environment())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def environment() -> dict[str, str]:
    """Library versions that a number depends on, stored next to it."""
    import platform

    env = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform()}
    if torch.cuda.is_available():
        env["cuda"] = str(torch.version.cuda)
        env["cudnn"] = str(torch.backends.cudnn.version())
    try:
        from importlib.metadata import version

        env["fvcore"] = version("fvcore")
    except Exception:  # metadata missing in odd installs: the version is informative only
        pass
    return env
