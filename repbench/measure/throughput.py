"""Inference throughput: the paper's protocol, eager / CUDA graph / torch.compile modes, interleaved timing."""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from repbench.device import device_name, resolve_device
from repbench.measure.peaks import DevicePeak, lookup
from repbench.errors import RepbenchError
from repbench.measure.models import ModelPair, pair_nets
from repbench.measure.roofline import Roofline, conv_traffic, roofline
from repbench.measure.timing import dtype_name, parse_dtype, sample_spread, sync

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
    samples: list[float] = field(default_factory=list)  # images/s of each repeat (of every process)
    # Over several processes (repbench/measure/processes.py) the figure is the median of the processes'
    # medians and q1/q3, min/max are their spread; with one process, the spread of its repeats.
    processes: int = 1
    process_medians: list[float] = field(default_factory=list)
    architecture: str = ""  # models.architecture_signature of the timed net
    omp_wait_policy: str = field(default_factory=lambda: os.environ.get("OMP_WAIT_POLICY", "") or "default (spinning)")
    shared_from: str = ""  # a timing of the same network made once for several runs (--deployed-timing FILE)
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
        return f"CPU {dtype_name(dtype)}, {protocol}; not comparable with the paper's GPU fp16 figures"
    return f"CUDA {dtype_name(dtype)}, {protocol}"


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
            batch = {k: make_record(k, mode, device, dtype, channels_last, scale, cfg, why_not) for k in prepared}
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


def make_record(
    net: str, mode: str, device: torch.device, dtype: torch.dtype, channels_last: bool, scale: int,
    cfg: ThroughputConfig, roofline_note: str,
) -> ThroughputRecord:
    return ThroughputRecord(
        net=net,
        mode=mode,
        device=device.type,
        device_name=device_name(device),
        dtype=dtype_name(dtype),
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
                sync(device)
                iters[k] = cfg.iters or calibrate(runs[k], device, cfg.min_repeat_s)
            except Exception as err:  # a compile/capture failure must not lose the other numbers
                records[k].error = f"{type(err).__name__}: {err}"
                runs.pop(k, None)
        for _ in range(cfg.repeats):
            for k, run in runs.items():
                sync(device)
                start = time.perf_counter()
                for _ in range(iters[k]):
                    run()
                sync(device)
                samples[k].append(cfg.batch * iters[k] / (time.perf_counter() - start))
    for k in runs:
        rec, spread = records[k], sample_spread(samples[k])
        rec.iters_per_repeat = iters[k]
        rec.samples = samples[k]
        rec.images_per_s = spread["median"]
        rec.images_per_s_q1, rec.images_per_s_q3 = spread["q1"], spread["q3"]
        rec.images_per_s_min, rec.images_per_s_max = spread["min"], spread["max"]
        rec.ms_per_batch = 1e3 * cfg.batch / spread["median"]


def calibrate(run: Callable[[], Any], device: torch.device, min_repeat_s: float) -> int:
    """Forwards per repeat so that one repeat lasts at least min_repeat_s."""
    start = time.perf_counter()
    run()
    sync(device)
    return max(1, math.ceil(min_repeat_s / max(time.perf_counter() - start, 1e-9)))


def _peak_for(device: torch.device, dtype: torch.dtype, cfg: ThroughputConfig) -> tuple[DevicePeak | None, str]:
    if cfg.peak is not None:
        return cfg.peak, ""
    if device.type != "cuda":
        return None, "no roofline on CPU unless peaks are given (--peak-tflops, --bandwidth-gbs)"
    if dtype not in (torch.float16, torch.bfloat16):
        return None, f"the peak table holds fp16/bf16 tensor-core peaks; none for {dtype_name(dtype)}"
    name = device_name(device)
    peak = lookup(name, cfg.extra_peaks)
    if peak is None:
        return None, f"no peaks known for {name!r}: pass --peak-tflops and --bandwidth-gbs, or --devices FILE.yaml"
    return peak, ""


def throughput_pair(pair: ModelPair, cfg: ThroughputConfig, unmerged: bool = True) -> list[ThroughputRecord]:
    """Merged net and, for comparison, the training-time net in eval mode, timed interleaved;
    one net ("training-time") for a method without a merge."""
    colors, scale = pair.build_args["colors"], pair.build_args["scale"]
    return measure_throughput(pair_nets(pair, unmerged), colors, scale, cfg)
