"""The right half of every table: parameters, MACs, #conv, inference throughput, roofline, training speed.

Modules: `models` (what is measured), `counts`, `ntire` (the NTIRE challenges' figures, `--protocol
ntire`), `timing` (shared by every timing), `roofline`, `throughput`, `train_speed` and `measurement`
(one measure.json).

Conventions (docs/conventions.md, "Counting" and "Timing"):

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

from repbench.device import resolve_device
from repbench.measure.counts import (
    CONVENTIONS,
    EDSR_NOTE,
    Counts,
    closed_form_macs,
    conv_layers,
    flop_counter_macs,
    fvcore_macs,
    measure_counts,
    paper_params,
    render_paper,
)
from repbench.measure.measurement import Measurement
from repbench.measure.models import OUTPUT_HEIGHT, OUTPUT_WIDTH, ModelPair, build_pair, load_pair, lr_size, multi_branch
from repbench.measure.roofline import ROOFLINE_NOTE, ConvTraffic, Roofline, conv_traffic, roofline
from repbench.measure.throughput import (
    MODES,
    ThroughputConfig,
    ThroughputRecord,
    measure_throughput,
    throughput_pair,
)
from repbench.measure.timing import environment, parse_dtype
from repbench.measure.train_speed import TrainSpeedConfig, TrainSpeedRecord, measure_train_speed
from repbench.measure.ntire import NTIRE_LR_HW, NtireCounts, hook_counts, ntire_counts, ntire_latency_of

# The package's public names: re-exported from its modules.
__all__ = [
    "resolve_device", "CONVENTIONS", "EDSR_NOTE", "Counts", "closed_form_macs", "conv_layers", "flop_counter_macs",
    "fvcore_macs", "measure_counts", "paper_params", "render_paper", "Measurement", "OUTPUT_HEIGHT", "OUTPUT_WIDTH",
    "ModelPair", "build_pair", "load_pair", "lr_size", "multi_branch", "ROOFLINE_NOTE", "ConvTraffic", "Roofline",
    "conv_traffic", "roofline", "MODES", "ThroughputConfig", "ThroughputRecord", "measure_throughput",
    "throughput_pair", "environment", "parse_dtype", "TrainSpeedConfig", "TrainSpeedRecord", "measure_train_speed",
    "NTIRE_LR_HW", "NtireCounts", "hook_counts", "ntire_counts", "ntire_latency_of",
]
