"""What every timing shares: dtypes, device synchronisation, spread of samples, the environment.

Why the loops (throughput.py, train_speed.py) time with perf_counter + sync and not with
torch.utils.benchmark.Timer:
- Throughput interleaves the nets' repeats (A B A B ...) so that load drift on a shared machine
  hits every net alike; a Timer times one statement at a time (blocked_autorange: all of A, then B).
- measure.json records fixed --warmup / --repeats / iters and every repeat's sample, which the
  report's spread and the tables read; blocked_autorange picks its own block size and total time,
  and Timer.timeit(n) returns one number, not n samples.
- Timer runs with num_threads=1 unless told otherwise, which silently changes the CPU numbers
  (--threads / torch's default); and its synchronisation is the same torch.cuda.synchronize as sync().
"""
from __future__ import annotations

import statistics

import torch

from repbench.errors import RepbenchError

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def parse_dtype(name: str) -> torch.dtype:
    aliases = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
    key = aliases.get(name, name)
    if key not in _DTYPES:
        raise RepbenchError(f"unknown dtype {name!r}; use one of float32, float16, bfloat16")
    return _DTYPES[key]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def sample_spread(samples: list[float]) -> dict[str, float]:
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else samples * 3
    return {"median": statistics.median(samples), "q1": q1, "q3": q3, "min": min(samples), "max": max(samples)}


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
