"""The training loop: open the run, build, restore, step, log point, finish.

    cfg = resolve_config({"method": "repsr", "size": "M4C16", "scale": 4})
    record = train(cfg, "results/runs/cpu/repsr-M4C16-x4")

`train` reads top to bottom as those phases; each phase is one function below it. What the
run folder holds, and why a resumed run is bit-identical, is described in `runfolder`.
"""
from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

import methods
from repbench import atomic
from repbench.training import runlock
from repbench.training import runstate
from repbench.inference.deploy import deployable
from repbench.device import device_name, model_device, resolve_device, steady_allocator
from repbench.errors import RepbenchError
from repbench.inference.evaluate import evaluate
from repbench.training.patches import PatchSampler, batch_loader
from repbench.training.stopsignals import StopFlag
from repbench.training import runfolder
from repbench.training.config import HOLDOUT, RENAMED_FIELDS, RUNTIME_FIELDS, TrainConfig, config_dict, freeze_start, holdout_count
from repbench.training.datasets import load_pairs, split_holdout
from repbench.training.progress import ProgressLine
from repbench.training.schedules import build_schedule
from repbench.training.spikes import Backoff, SpikeGuard
from repbench.training.state import Run, Window

LossHook = Callable[[int, torch.Tensor], torch.Tensor]


def train(
    cfg: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    stop_after: int | None = None,
    loss_hook: LossHook | None = None,
    log: Callable[[str], None] | None = None,
    on_config_change: str = "refuse",
) -> dict[str, Any]:
    """Train (or resume, or skip a finished run) into `run_dir`; return the train.json record.

    stop_after: checkpoint and stop once this many iterations are done, as Ctrl-C does
    (status "interrupted"; rerun to continue). loss_hook(iteration, loss) -> loss lets
    tests inject a bad loss. on_config_change: what to do when the folder holds work of
    another config, "refuse" or "supersede" (see repbench/training/runstate.py). The folder is
    locked for the whole call: a second trainer on it fails at once.
    """
    run_dir = Path(run_dir)
    log = log or _stderr_line
    created = runfolder.missing_folders(run_dir)  # what a start refused by build() removes again
    with runlock.run_lock(run_dir):
        with runfolder.undone_on_failure(created):
            done = open_run(cfg, run_dir, on_config_change, log)
            if done is not None:
                return done
            run = build(cfg, run_dir)
        restore(run, log)
        stopped_by = run_steps(run, stop_after, loss_hook, log)
        if stopped_by is not None:
            it = stopped_by["iteration"]
            log(f"{run_dir}: stopped at iteration {it} of {cfg.iterations}; checkpoint saved, rerun the same command to resume")
            return {"status": "interrupted", "iteration": it, "run_dir": str(run_dir), "signal": stopped_by["signal"]}
        return finish(run, log)


# ----------------------------------------------------------------------------- open, build, restore


def open_run(cfg: TrainConfig, run_dir: Path, on_config_change: str, log: Callable[[str], None]) -> dict[str, Any] | None:
    """The finished record when there is nothing to do; else make the folder ready (call under the lock)."""
    done = runstate.check_run_dir(run_dir, config_dict(cfg), config_dict(TrainConfig()), RUNTIME_FIELDS,
                                  on_config_change, log, renamed=RENAMED_FIELDS)
    if done is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        runfolder.write_yaml(run_dir / "config.yaml", config_dict(cfg))
    return done


def _setup_device(cfg: TrainConfig) -> torch.device:
    device = resolve_device(cfg.device, flag="--set device=")
    steady_allocator()  # before the first tensor: seconds per step without page-fault churn (repbench/device.py)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic
        torch.backends.cudnn.deterministic = cfg.deterministic
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    return device


def _data(cfg: TrainConfig) -> tuple[PatchSampler, list]:
    """The patch sampler over the training pairs, and the validation pairs (held out or a dataset)."""
    train_pairs = load_pairs(cfg.train_data, cfg.scale, "training")
    if cfg.val_data.startswith(HOLDOUT):
        train_pairs, val_pairs = split_holdout(train_pairs, holdout_count(cfg.val_data))
    else:
        val_pairs = load_pairs(cfg.val_data, cfg.scale, "validation") if cfg.val_data else []
    sampler = PatchSampler(
        train_pairs, cfg.scale, cfg.colors, cfg.batch_size, cfg.patch_size, seed=cfg.seed,
        patch_size_stage2=cfg.patch_size_stage2, stage2_start=cfg.stage2_start, augment=cfg.augment,
    )
    return sampler, val_pairs


def build(cfg: TrainConfig, run_dir: Path) -> Run:
    """Seed, pick the device, and build data, model, optimizer, schedule and grad scaler."""
    device = _setup_device(cfg)
    sampler, val_pairs = _data(cfg)
    try:
        model = methods.build(cfg.method, cfg.size, cfg.scale, cfg.colors, **cfg.options)
    except ValueError as err:
        raise RepbenchError(str(err)) from err
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
    schedule = build_schedule(
        optimizer, cfg.schedule, cfg.lr, cfg.iterations,
        milestones=cfg.milestones, gamma=cfg.gamma, cycles=cfg.cycles, lr_min=cfg.lr_min, warmup=cfg.warmup,
    )
    use_amp = cfg.amp and device.type == "cuda"
    return Run(
        cfg, run_dir, device, use_amp, workers=cfg.workers if cfg.workers >= 0 else (4 if device.type == "cuda" else 0),
        model=model, optimizer=optimizer, schedule=schedule, scaler=torch.amp.GradScaler("cuda", enabled=use_amp),
        sampler=sampler, val_pairs=val_pairs, freeze_at=freeze_start(cfg) if _has_bn(model) else None,
        guard=SpikeGuard(cfg.spike_backoffs),
    )


def restore(run: Run, log: Callable[[str], None]) -> None:
    """Continue from checkpoints/last.pt when there is one: weights, optimizer, RNG states, BN state."""
    if not run.checkpoint.is_file():
        return
    ckpt = runfolder.load_checkpoint(run.checkpoint)
    run.load_weights(ckpt)
    runfolder.set_rng_states(ckpt["rng"], run.device)
    run.start, run.train_seconds = int(ckpt["iteration"]), float(ckpt["train_seconds"])
    run.bn_frozen_at, run.last_val = ckpt.get("bn_frozen_at"), ckpt.get("val_psnr")
    run.guard.load(ckpt.get("spikes"))
    run.schedule.scale = run.guard.scale
    if run.bn_frozen_at is not None:
        _freeze_bn(run)
    run.events.append("resumed")
    log(f"{run.run_dir}: resuming at iteration {run.start} of {run.cfg.iterations}")


# ----------------------------------------------------------------------------- step and log point


def run_steps(run: Run, stop_after: int | None, loss_hook: LossHook | None,
              log: Callable[[str], None]) -> dict[str, Any] | None:
    """Train to the last iteration; None when done, else {iteration, signal} of where it stopped."""
    cfg = run.cfg
    metrics = runfolder.MetricsLog(run.run_dir / "metrics.csv", resume_at=run.start or None)
    bar = tqdm(
        total=cfg.iterations, initial=run.start, unit="it", dynamic_ncols=True,
        disable=not (cfg.progress and sys.stderr.isatty()), desc=f"{cfg.method}-{cfg.size}-x{cfg.scale}",
    )
    if bar.disable:  # the pipeline (progress=false) or no terminal: one plain line per log point instead
        run.progress = ProgressLine(run.run_dir.name, cfg.iterations, run.start)
    window = Window(torch.zeros((), device=run.device))
    if run.guard.watching:
        run.guard.keep(run.start, run.weights())
    try:
        with StopFlag() as stop:
            while True:
                batches = batch_loader(run.sampler, run.start, cfg.iterations, run.workers, pin_memory=run.device.type == "cuda")
                backoff = None
                try:
                    for it, lr, backoff in _steps(run, batches, window, loss_hook, bar):
                        if backoff is not None:
                            break
                        stopping = stop.set or (stop_after is not None and it >= stop_after and it != cfg.iterations)
                        if log_point(run, it, lr, window, metrics, bar, stopping, log):
                            return {"iteration": it, "signal": stop.signum}
                finally:
                    del batches  # shuts worker processes down
                if backoff is None:
                    return None
                metrics = back_off(run, backoff, window, metrics, bar, log)
    finally:
        bar.close()
        metrics.close()


def _steps(run: Run, batches: Iterator, window: Window, loss_hook: LossHook | None,
           bar: tqdm) -> Iterator[tuple[int, float, Backoff | None]]:
    """One optimizer step per batch; yields (iterations done, lr of the step, None), or, where the
    spike guard calls a back-off, (iterations done, lr, the back-off) as its last item."""
    for t, lr_batch, hr_batch in batches:
        if run.freeze_at is not None and t >= run.freeze_at and run.bn_frozen_at is None:
            # The paper's frozen BN: population statistics from here on, affine params still train.
            _freeze_bn(run)
            run.bn_frozen_at = t + 1
            run.events.append("bn_frozen")
            run.guard.stop_watching()  # the blocks change form here and the rate is near zero
        lr = run.schedule.apply(t)
        loss = _loss(run, lr_batch.to(run.device, non_blocking=True), hr_batch.to(run.device, non_blocking=True))
        if loss_hook is not None:
            loss = loss_hook(t + 1, loss)
        run.optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        if run.cfg.grad_clip > 0:
            run.scaler.unscale_(run.optimizer)
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
        run.scaler.step(run.optimizer)
        run.scaler.update()
        window.total += loss.detach()
        window.count += 1
        bar.update(1)
        backoff = run.guard.observe(t + 1, loss, last=t + 1 == run.cfg.iterations) if run.guard.watching else None
        yield t + 1, lr, backoff


def _loss(run: Run, lr_batch: torch.Tensor, hr_batch: torch.Tensor) -> torch.Tensor:
    with torch.autocast(run.device.type, dtype=torch.float16, enabled=run.use_amp):
        return F.l1_loss(run.model(lr_batch).float(), hr_batch)


def log_point(run: Run, it: int, lr: float, window: Window, metrics: runfolder.MetricsLog, bar: tqdm,
              stopping: bool, log: Callable[[str], None]) -> bool:
    """After step `it`: check the loss, validate, log and checkpoint when due. True: stop here."""
    cfg = run.cfg
    last = it == cfg.iterations
    validate_now = bool(run.val_pairs) and ((cfg.val_every and it % cfg.val_every == 0) or last)
    snapshot_now = bool(cfg.snapshot_every and it % cfg.snapshot_every == 0)
    checkpoint_now = it % cfg.checkpoint_every == 0 or snapshot_now or stopping or last
    if not (run.events or validate_now or checkpoint_now or it % cfg.log_every == 0):
        return False
    events, run.events = run.events, []
    mean_loss = window.mean()
    run.count_time(window)
    if not math.isfinite(mean_loss) and run.guard.can_back_off() and not last:
        # The block holding this step will be judged at its end (at most BLOCK - 1 steps on) and
        # backed off; keep this log point out of the record, and its state out of the checkpoint.
        run.events = events
        return False
    if not math.isfinite(mean_loss):
        metrics.row(it, mean_loss, lr, run.train_seconds, None, events + ["nonfinite_loss"])
        _diverged(run, it, lr, mean_loss)
    val = None
    if validate_now:
        val = run.last_val = validate_model(run.model, run.val_pairs, cfg.scale, run.device)
    if run.progress is not None:
        log(run.progress.line(it, mean_loss, val))
    metrics.row(it, mean_loss, lr, run.train_seconds, val, events)
    bar.set_postfix(loss=f"{mean_loss:.4f}", **({"val": f"{run.last_val:.2f}"} if run.last_val else {}))
    window.reset()
    if checkpoint_now:
        runfolder.save_checkpoint(run.checkpoint, run.state(it))
        if snapshot_now:
            runfolder.save_checkpoint(run.run_dir / "checkpoints" / f"iter_{it:07d}.pt", run.state(it))
    if stopping:
        metrics.row(it, None, lr, run.train_seconds, None, ["interrupted"])
        return True
    window.start_clock()  # validation and checkpoint writes are not training time
    return False


def back_off(run: Run, backoff: Backoff, window: Window, metrics: runfolder.MetricsLog, bar: tqdm,
             log: Callable[[str], None]) -> runfolder.MetricsLog:
    """Carry out a loss-spike back-off: the kept state at the guard's reduced rate, the replayed steps'
    seconds kept, the metrics rows of the undone steps dropped; return the reopened metrics log."""
    run.load_weights(backoff.state)
    run.schedule.scale = run.guard.scale
    run.start = backoff.restored_to
    run.count_time(window)  # the replayed steps cost time: they count
    window.reset()
    window.start_clock()
    metrics.close()
    metrics = runfolder.MetricsLog(run.run_dir / "metrics.csv", resume_at=run.start)
    metrics.row(run.start, None, run.schedule.apply(run.start), run.train_seconds, None, ["lr_backoff"])
    bar.n = run.start
    bar.refresh()
    log(f"{run.run_dir}: loss spike by iteration {backoff.iteration}; starting again from iteration {run.start} "
        f"at x{backoff.lr_scale:g} the learning rate")
    return metrics


def _diverged(run: Run, it: int, lr: float, mean_loss: float) -> None:
    kept = runfolder.load_checkpoint(run.checkpoint)["iteration"] if run.checkpoint.is_file() else None
    where = f"the last good checkpoint (iteration {kept}) is kept" if kept else "no checkpoint was written yet"
    raise RepbenchError(
        f"the training loss became {mean_loss} by iteration {it} (lr {lr:.3g}); {where}. "
        "The run diverged: lower lr or set grad_clip (e.g. --set grad_clip=1), in a new --run-dir"
    )


# ----------------------------------------------------------------------------- finish


def finish(run: Run, log: Callable[[str], None]) -> dict[str, Any]:
    """Write final.pt, deployed.pt and train.json of a finished run; return the record."""
    cfg, run_dir = run.cfg, run.run_dir
    if run.val_pairs and run.last_val is None:
        run.last_val = validate_model(run.model, run.val_pairs, cfg.scale, run.device)
    run.model.eval()
    methods.save(run.model, run_dir / "final.pt")
    deployed = deployable(run.model)
    methods.save(deployed, run_dir / "deployed.pt")
    facts = {"train_seconds": run.train_seconds, "device": device_name(run.device), "amp": run.use_amp,
             "workers": run.workers, "val_psnr": run.last_val, "bn_frozen_at": run.bn_frozen_at,
             "lr_backoffs": run.guard.backoffs, "allocator": steady_allocator()}
    record = runfolder.train_record(cfg, facts, run.model, deployed)
    atomic.write_json(run_dir / "train.json", record)
    log(
        f"{run_dir}: done, {cfg.iterations} iterations in {run.train_seconds:.1f} s "
        f"({record['sec_per_iter']:.4f} s/iter)" + (f", val Y-PSNR {run.last_val:.3f} dB" if run.last_val is not None else "")
    )
    return record


# ----------------------------------------------------------------------------- helpers


def _stderr_line(msg: str) -> None:
    # One write and a flush per line: parallel jobs piped through `tee` to one terminal (the
    # pipeline's train rule) then interleave whole lines, and each shows as soon as it is logged.
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def validate_model(model: nn.Module, pairs: list, scale: int, device: torch.device | None = None) -> float:
    """Y-PSNR of the deployable form of `model` on `pairs`, run on `device` (default: the model's own)."""
    was_training = model.training
    try:
        try:
            net = methods.merge(model)  # the network that will be deployed, and faster to run
        except methods.NotMergeableError:
            net = model
        with torch.no_grad():
            return float(evaluate(net.eval(), pairs, scale, device=device or model_device(model))["psnr_y"])
    finally:
        model.train(was_training)


def _freeze_bn(run: Run) -> None:
    methods.freeze_bn(run.model)
    if run.cfg.collapse_frozen:
        methods.collapse_linear(run.model)


def _has_bn(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
