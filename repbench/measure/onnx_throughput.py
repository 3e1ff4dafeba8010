"""Deployment-mode throughput: the exported network run by ONNX Runtime, beside PyTorch's numbers.

The deployable net is exported with `onnx_export.export_onnx` (float32, dynamic shapes) and
timed per execution provider with the PyTorch protocol's warm-up, repeats and median, and
written as the same `measure.ThroughputRecord`, with mode "onnxruntime-<provider>". Input and
output are bound to the provider's device once (I/O binding), so a GPU provider is timed
without host <-> device copies, as `measure_throughput` times PyTorch on tensors already there.

Providers: CPU always; on a CUDA `device`, CUDA and TensorRT too when this onnxruntime build
offers them (`onnxruntime.get_available_providers()`). TensorRT runs fp16 when the run's
dtype is float16; the CPU and CUDA providers run the float32 graph, and the record says so.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from repbench.device import resolve_device
from repbench.errors import RepbenchError
from repbench.measure import throughput, timing
from repbench.inference.onnx_export import export_onnx

# Short names used in the records' mode ("onnxruntime-cpu") and on the command line.
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


def available_providers() -> list[str]:
    """Short names of the providers this onnxruntime build offers (among those timed here)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    have = set(ort.get_available_providers())
    return [short for short, full in PROVIDERS.items() if full in have]


def default_providers(device_type: str) -> list[str]:
    """CPU on a CPU run; on a CUDA run every GPU provider present, then CPU for reference."""
    have = available_providers()
    if device_type == "cuda":
        return [p for p in ("tensorrt", "cuda") if p in have] + (["cpu"] if "cpu" in have else [])
    return ["cpu"] if "cpu" in have else []


def _checked_providers(providers: Sequence[str] | None, device: torch.device) -> list[str]:
    """The providers to time (default: the device's), each known, built into onnxruntime and runnable here."""
    have = available_providers()
    chosen = list(providers) if providers else default_providers(device.type)
    for p in chosen:
        if p not in PROVIDERS:
            raise RepbenchError(f"unknown ONNX Runtime provider {p!r}; valid: {', '.join(PROVIDERS)}")
        if p not in have:
            raise RepbenchError(
                f"this onnxruntime build has no {PROVIDERS[p]}; available here: {', '.join(have) or 'none'}"
            )
        if p != "cpu" and device.type != "cuda":
            raise RepbenchError(f"provider {p!r} runs on a GPU; use --device cuda (or auto on a GPU machine)")
    return chosen


def onnx_throughput(
    model: Any,
    cfg: Any,
    providers: Sequence[str] | None = None,
    net: str = "merged",
    onnx_path: str | os.PathLike | None = None,
) -> list[Any]:
    """One ThroughputRecord per provider for `model` (a deployable repbench network).

    `cfg` is a `measure.ThroughputConfig` (batch, LR size, device, dtype, warmup, repeats,
    iters, threads); its `modes` and `channels_last` do not apply (ONNX graphs are NCHW).
    A provider that fails to build or run is recorded with its error, not raised.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise RepbenchError("onnxruntime is not installed; install it (pip install onnxruntime) to time ONNX Runtime") from None
    device = resolve_device(cfg.device)
    dtype = timing.parse_dtype(cfg.dtype) if cfg.dtype else (torch.float16 if device.type == "cuda" else torch.float32)
    chosen = _checked_providers(providers, device)
    for name in ("batch", "lr_height", "lr_width", "repeats"):
        if getattr(cfg, name) < 1:
            raise RepbenchError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    colors, scale = model.build_args["colors"], model.build_args["scale"]

    tmp_dir = None
    if onnx_path is None:
        tmp_dir = tempfile.TemporaryDirectory(prefix="repbench-onnx-")
        onnx_path = Path(tmp_dir.name) / "deployed.onnx"
        export_onnx(model, onnx_path)
    try:
        rng = torch.Generator().manual_seed(0)
        x = torch.rand(cfg.batch, colors, cfg.lr_height, cfg.lr_width, generator=rng).numpy()
        records = []
        for p in chosen:
            run_dtype = torch.float16 if (p == "tensorrt" and dtype == torch.float16) else torch.float32
            run_device = torch.device("cpu") if p == "cpu" else device
            rec = throughput.make_record(net, f"onnxruntime-{p}", run_device, run_dtype, False, scale, cfg, "")
            rec.label = f"ONNX Runtime {PROVIDERS[p]}, " + rec.label
            rec.cudnn_benchmark = None
            try:
                run, threads = _session_runner(str(onnx_path), p, x, run_device, cfg.threads, run_dtype)
                rec.threads = threads
                _time(run, cfg, rec)
            except Exception as err:  # a provider that cannot run this graph must not lose the others
                rec.error = f"{type(err).__name__}: {err}"
            records.append(rec)
        return records
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()


def _session_runner(
    path: str, provider: str, x: Any, device: Any, threads: int | None, dtype: Any
) -> tuple[Callable[[], Any], int]:
    """A no-argument callable running one batch, with input and output bound on the provider's device."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    provider_options: dict[str, Any] = {}
    if provider in ("cuda", "tensorrt"):
        provider_options["device_id"] = device.index or 0
    if provider == "tensorrt":
        provider_options["trt_fp16_enable"] = dtype == torch.float16
    chain: list[Any] = [(PROVIDERS[provider], provider_options)]
    if provider == "tensorrt":
        chain.append((PROVIDERS["cuda"], {"device_id": device.index or 0}))  # nodes TensorRT leaves out
    session = ort.InferenceSession(path, sess_options=opts, providers=chain)
    if session.get_providers()[0] != PROVIDERS[provider]:
        raise RuntimeError(f"onnxruntime fell back to {session.get_providers()[0]} instead of {PROVIDERS[provider]}")
    where = "cpu" if provider == "cpu" else "cuda"
    binding = session.io_binding()
    x_value = ort.OrtValue.ortvalue_from_numpy(x, where, device.index or 0)
    binding.bind_ortvalue_input("lr", x_value)
    binding.bind_output("sr", where, device.index or 0)

    def run() -> Any:
        session.run_with_iobinding(binding)
        return binding

    return run, threads or 0  # 0: onnxruntime's own default (one thread per physical core)


def _time(run: Callable[[], Any], cfg: Any, rec: Any) -> None:
    """PyTorch's protocol: warm-up, calibrated iterations per repeat, median and spread over repeats.

    onnxruntime's run returns once the outputs are ready (it synchronises its own stream), so
    wall-clock time around the loop is the device time plus launch overhead, as in eager PyTorch.
    """
    for _ in range(max(cfg.warmup, 1)):  # the first runs build the provider's engine / kernels
        run()
    iters = cfg.iters or throughput.calibrate(run, torch.device("cpu"), cfg.min_repeat_s)
    samples = []
    for _ in range(cfg.repeats):
        start = time.perf_counter()
        for _ in range(iters):
            run()
        samples.append(cfg.batch * iters / (time.perf_counter() - start))
    spread = timing.sample_spread(samples)
    rec.iters_per_repeat = iters
    rec.samples = samples
    rec.images_per_s = spread["median"]
    rec.images_per_s_q1, rec.images_per_s_q3 = spread["q1"], spread["q3"]
    rec.images_per_s_min, rec.images_per_s_max = spread["min"], spread["max"]
    rec.ms_per_batch = 1e3 * cfg.batch / spread["median"]
