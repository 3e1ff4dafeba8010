"""Training speed: seconds per iteration (forward + backward + Adam) and the projection to the paper's budget."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from repbench.device import device_name, resolve_device
from repbench.errors import RepbenchError
from repbench.measure.timing import sample_spread, sync

@dataclass
class TrainSpeedConfig:
    batch: int = 32  # the paper: batch 32, LR patch 64 (tiny models), Adam, L1 loss
    patch: int = 64
    warmup: int = 3
    iters: int = 10
    device: str = "auto"
    lr: float = 4e-4
    threads: int | None = None
    projected_iterations: int | None = None  # project the step time to this many iterations (the caller's budget)


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
    projected_iterations: int | None
    projected_hours: float | None  # s_per_iter x projected_iterations
    torch_version: str
    threads: int
    samples: list[float]
    note: str = "forward + backward + Adam step, L1 loss, fp32, on random batches already on the device (no data loading)"
    form: str = ""  # the form timed: "collapsed" (one conv per block, as a collapsed run trains) or the net as built


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
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            samples.append(time.perf_counter() - start)
        spread = sample_spread(samples)
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
            projected_iterations=cfg.projected_iterations,
            projected_hours=spread["median"] * cfg.projected_iterations / 3600 if cfg.projected_iterations else None,
            torch_version=torch.__version__,
            threads=torch.get_num_threads(),
            samples=samples,
        )
    finally:
        torch.set_num_threads(old_threads)
