"""Where models and batches run: one resolver, one default ("auto": CUDA when torch sees a GPU, else CPU).

Every command that moves a model or a batch (train, validation, evaluate, measure, upscale,
bn-diagnose, the GPU check) resolves its device here, so the same spec means the same
device everywhere and a bad one fails with the same clear message naming the caller's flag.
"""
from __future__ import annotations

import functools
import platform
from typing import Any

import torch

from repbench.errors import RepbenchError

DEFAULT = "auto"


def _fix(flag: str, value: str) -> str:
    # A flag ending in "=" (train's "--set device=") takes its value without a space.
    return f"{flag}{value}" if flag.endswith("=") else f"{flag} {value}"


def resolve_device(spec: str | torch.device | None = DEFAULT, flag: str = "--device") -> torch.device:
    """'auto' (or None) -> cuda if available else cpu; 'cpu', 'cuda', 'cuda:N' as asked.

    `flag` is the option the user set the spec with; error messages name it.
    """
    if isinstance(spec, torch.device):
        spec_text = str(spec)
    else:
        spec_text = DEFAULT if spec is None else str(spec).strip().lower()
    if spec_text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec_text)
    except (RuntimeError, ValueError):
        raise RepbenchError(
            f"unknown device {spec_text!r} for {flag.rstrip('= ')}; use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type not in ("cpu", "cuda"):
        raise RepbenchError(f"device {spec_text!r} is not supported for {flag.rstrip('= ')}; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RepbenchError(
                f"{_fix(flag, spec_text)} asks for a GPU, but torch sees no CUDA device on this machine; "
                f"use {_fix(flag, 'cpu')} (or {_fix(flag, 'auto')}, which picks the GPU when there is one)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RepbenchError(
                f"{_fix(flag, spec_text)}: there are only {torch.cuda.device_count()} CUDA device(s) "
                f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})"
            )
    return device


def device_name(device: torch.device) -> str:
    """A human-readable name stored next to every number: the GPU's name, or the CPU model and threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {cpu_model()} ({torch.get_num_threads()} threads)"


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    try:  # Linux names the part here; platform.processor() is often empty
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def model_device(model: Any) -> torch.device:
    """The device of a model's first parameter (or buffer); CPU for a model with neither."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


# glibc's malloc hands a large block (over 128 KiB at first) to the kernel with mmap and takes it back
# with munmap on free, and trims the top of its heap whenever 128 KiB lie free there. A training step
# allocates and frees tens of megabytes of activations, so every step the kernel maps fresh pages and
# zeroes each of them on first touch: a branched ECBSR M10C32 step (batch 32, LR patch 64) took about
# 300,000 minor page faults, and with two threads they queue on the process's memory lock, which made
# the same step take 3-15 s from run to run. Keeping freed memory in the process (both thresholds at
# 1 GiB) leaves about 1,600 faults a step. The peak memory is the same; it is simply not given back.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 1 << 30


@functools.lru_cache(maxsize=1)
def steady_allocator() -> str:
    """Make glibc keep freed memory for reuse (no mmap/munmap churn per step); describe what was done.

    Called once by the commands whose clocks matter (train, measure) before they allocate tensors.
    Elsewhere (another C library, no libc found) it changes nothing and says so.
    """
    import ctypes
    import ctypes.util
    import os

    if os.environ.get("REPBENCH_KEEP_FREED_MEMORY") == "0":  # for comparing against glibc's own behaviour
        return "glibc defaults (REPBENCH_KEEP_FREED_MEMORY=0)"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "system allocator (not glibc: left as is)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES) == 1
    except (OSError, AttributeError):
        ok = False
    return "glibc, freed memory kept (mmap and trim thresholds 1 GiB)" if ok else "glibc (mallopt refused: left as is)"
