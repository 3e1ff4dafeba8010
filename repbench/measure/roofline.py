"""The roofline bound of a timed run: bytes moved by the convolutions against the device's peaks."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from repbench.measure.peaks import DevicePeak

ROOFLINE_NOTE = (
    "bound = min(peak, intensity x bandwidth); intensity = 2 x conv MACs / bytes, bytes = per convolution "
    "its weights + bias + input + output activation at the run's dtype, once each; elementwise ops taken "
    "as fused and on-chip cache reuse between layers ignored, so the fraction is an estimate"
)


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
