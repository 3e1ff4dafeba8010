"""Per-image latency the way the NTIRE Efficient SR challenge times it.

fp32, batch 1, one validation image at a time at its own size, each forward timed with CUDA
events (start/end recorded around the call, then synchronised) and averaged over the images,
after a warm-up on the first image. This is not the paper's throughput protocol (batch 4,
fixed 320x180, fp16) and its numbers are kept apart from it. On a CPU the events are replaced
by perf_counter, and the record says which timer was used.
"""
from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from repbench.device import device_name, resolve_device
from repbench.scoring.metrics import to_y

LABEL = "NTIRE ESR protocol: fp32, batch 1, one image at a time at its own size, mean over images"


@dataclass
class LatencyRecord:
    net: str
    device: str
    device_name: str
    dtype: str
    batch: int
    images: int
    timer: str  # "cuda-events" or "perf_counter"
    warmup: int
    ms_mean: float  # the NTIRE figure: average runtime per image
    ms_median: float
    ms_min: float
    ms_max: float
    torch_version: str
    label: str = LABEL
    per_image: list[dict[str, Any]] = field(default_factory=list)  # name, LR height/width, ms


def lr_inputs(pairs: Sequence[Any], colors: int) -> list[tuple[str, np.ndarray]]:
    """(name, CxHxW float32 in [0, 1]) LR inputs of a dataset's pairs: Y for colors=1, RGB for 3."""
    out = []
    for pair in pairs:
        lr = pair.lr
        if colors == 1:
            x = to_y(lr)[None] / 255.0
        else:
            x = (np.repeat(lr, 3, axis=2) if lr.shape[2] == 1 else lr).transpose(2, 0, 1) / 255.0
        out.append((pair.name, np.ascontiguousarray(x, dtype=np.float32)))
    return out


def ntire_latency(model: Any, inputs: Sequence[tuple[str, np.ndarray]], device: Any, net: str = "merged",
                  warmup: int = 5) -> LatencyRecord:
    """Mean per-image latency of `model` (a copy, fp32, eval) over `inputs`, one at a time."""
    if not inputs:
        raise ValueError("no images to time")
    device = resolve_device(device)
    cuda = device.type == "cuda"
    model = copy.deepcopy(model).eval().to(device=device, dtype=torch.float32)
    tensors = [(name, torch.from_numpy(x)[None].to(device)) for name, x in inputs]
    per_image = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(tensors[0][1])
        if cuda:
            torch.cuda.synchronize(device)
        for name, x in tensors:
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                torch.cuda.synchronize(device)
                ms = start.elapsed_time(end)
            else:
                tick = time.perf_counter()
                model(x)
                ms = 1e3 * (time.perf_counter() - tick)
            per_image.append({"name": name, "lr_height": int(x.shape[2]), "lr_width": int(x.shape[3]), "ms": ms})
    times = [r["ms"] for r in per_image]
    return LatencyRecord(
        net=net,
        device=device.type,
        device_name=device_name(device),
        dtype="float32",
        batch=1,
        images=len(times),
        timer="cuda-events" if cuda else "perf_counter",
        warmup=warmup,
        ms_mean=statistics.fmean(times),
        ms_median=statistics.median(times),
        ms_min=min(times),
        ms_max=max(times),
        torch_version=torch.__version__,
        per_image=per_image,
    )
