"""One prepared check of repbench's GPU path: train, validate, merge, evaluate and time on CUDA.

    python benchmarks/gpu_check.py --out docs/results-gpu/<gpu-name>     # a CUDA machine, under 8 minutes
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu-check        # no GPU: same code paths, tiny sizes, seconds

Parts, in this order (each writes a list of records to OUT/<file>.json; OUT/summary.json lists
every check, the environment and the plan):

  train       each Table 2 method (plain, repvgg, ecbsr, repsr at M4C16, sesr at M5C16, its
              Table 2 analogue), x4 Y, a few hundred iterations with AMP on the embedded
              skimage-train / skimage-test images, through repbench.train: the loss falls and
              stays finite, validation, merge and evaluation run on the GPU (seen by a forward
              hook on every module, and the merged parameters are checked to live there).
  ntire       NTIRE Efficient SR timing: fp32, batch 1, one image at a time, CUDA events; the
              merged Table 2 sizes and the NTIRE 2022 baseline IMDN (x4 RGB).
  sweep       batch sweep 1, 4, 16, 64 of merged M4C16 and M16C64 (fp16, channels_last), images/s.
  throughput  merged and unmerged (RepSR training-time) nets at the five Table 2 sizes, the
              paper's protocol (batch 4, 320x180 LR, fp16, channels_last) in eager, eager +
              CUDA graph, torch.compile and torch.compile + CUDA graph, with the roofline fraction.
  onnx        ONNX Runtime throughput of the merged Table 2 sizes with every provider present
              (TensorRT, CUDA, CPU), beside PyTorch eager at the same fp32 NCHW, same record format.

Without CUDA the check refuses (exit 2) unless --dry-run, which runs every part on tiny sizes
(M1C4, a few iterations, small images, eager mode; the compile and CUDA-graph modes are
recorded as skipped with the reason). Exit codes: 0 every required check passed, 1 some
failed (see summary.json), 2 bad input or no GPU.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from repbench.errors import RepbenchError

# Cheapest first: torch.compile (throughput) and TensorRT engine builds (onnx) take the longest and
# stop at the time budget, so they run last and cannot starve the other parts.
PARTS = ("train", "ntire", "sweep", "throughput", "onnx")
ONNX_RESERVE_S = 60.0  # of the budget kept for the onnx part when throughput runs long
TRAIN_METHODS = (("plain", "M4C16", {}), ("repvgg", "M4C16", {}), ("ecbsr", "M4C16", {}), ("repsr", "M4C16", {}),
                 ("sesr", "M5C16", {}))


@dataclass
class Plan:
    """Every size and count the check uses; `full` on a GPU, `dry` for the CPU dry run."""

    train_methods: tuple[tuple[str, str, dict], ...]
    iterations: int
    batch_size: int
    patch_size: int
    log_every: int
    workers: int  # -1: the training default (4 on CUDA)
    sizes: tuple[str, ...]  # Table 2 sizes for throughput, ntire and onnx
    lr_hw: tuple[int, int]
    batch: int
    modes: tuple[str, ...]
    repeats: int
    warmup: int
    iters: int | None
    min_repeat_s: float
    ntire_images: int | None  # None: the whole dataset
    ntire_nets: tuple[tuple[str, str, int, dict], ...]  # (method, size, colors, options) besides the Table 2 sizes
    sweep_sizes: tuple[str, ...]
    sweep_batches: tuple[int, ...]
    sweep_modes: tuple[str, ...]
    onnx_lr_hw: tuple[int, int]
    val_every: int = 0  # 0: at the half and at the end
    check_images: int | None = None  # test images for the re-validation and evaluation after training (None: all)
    skipped_modes: dict[str, str] = field(default_factory=dict)


def full_plan() -> Plan:
    from repbench.measure import MODES

    return Plan(
        train_methods=TRAIN_METHODS, iterations=300, batch_size=32, patch_size=64, log_every=30, workers=-1,
        sizes=("M4C8", "M4C16", "M10C16", "M10C32", "M16C64"), lr_hw=(180, 320), batch=4, modes=MODES,
        repeats=5, warmup=10, iters=None, min_repeat_s=0.1, ntire_images=None, ntire_nets=(("imdn", "B8", 3, {}),),
        sweep_sizes=("M4C16", "M16C64"), sweep_batches=(1, 4, 16, 64), sweep_modes=("eager", "eager-cudagraph"),
        onnx_lr_hw=(180, 320),
    )


def dry_plan(cuda: bool) -> Plan:
    # Same methods and code paths, sizes small enough for seconds on two CPU cores.
    methods_ = tuple((m, "M1C4", {"width": 8} if m == "sesr" else {}) for m, _, _ in TRAIN_METHODS)
    modes = ("eager", "eager-cudagraph") if cuda else ("eager",)
    skipped = {"compile": "torch.compile is left out of the dry run: its first compile alone outlasts it",
               "compile-cudagraph": "torch.compile is left out of the dry run: its first compile alone outlasts it"}
    if not cuda:
        skipped["eager-cudagraph"] = "CUDA graphs need a CUDA device"
    return Plan(
        train_methods=methods_, iterations=4, batch_size=2, patch_size=12, log_every=1, workers=0,
        sizes=("M1C4",), lr_hw=(12, 16), batch=2, modes=modes, repeats=2, warmup=1, iters=2, min_repeat_s=0.0,
        ntire_images=2, ntire_nets=(("imdn", "B1", 3, {"channels": 16}),), sweep_sizes=("M1C4",), sweep_batches=(1, 2),
        sweep_modes=modes, onnx_lr_hw=(12, 16), val_every=4, check_images=1, skipped_modes=skipped,
    )


# --------------------------------------------------------------------------- checks


@dataclass
class Check:
    part: str
    name: str
    passed: bool
    required: bool = True  # a dry run's "loss falls" is informative only: four steps prove nothing
    detail: str = ""


class Checks:
    def __init__(self) -> None:
        self.items: list[Check] = []

    def add(self, part: str, name: str, passed: bool, detail: str = "", required: bool = True) -> bool:
        self.items.append(Check(part, name, bool(passed), required, detail))
        return bool(passed)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.items if c.required)


@contextlib.contextmanager
def devices_seen() -> Iterator[set[str]]:
    """Device types of every tensor that enters any module's forward while the block runs."""
    import torch

    seen: set[str] = set()

    def hook(_module: Any, args: tuple) -> None:
        seen.update(a.device.type for a in args if isinstance(a, torch.Tensor))

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


# --------------------------------------------------------------------------- parts


def part_train(plan: Plan, device: Any, runs_root: Path, checks: Checks, dry: bool, log: Callable[[str], None]) -> list[dict]:
    import torch

    import methods
    from repbench import data
    from repbench.inference.evaluate import evaluate
    from repbench.training.config import resolve_config
    from repbench.training.loop import train, validate_model

    val_pairs = data.load_pairs("skimage-test", 4)[: plan.check_images]
    records = []
    for method, size, options in plan.train_methods:
        name = f"{method}-{size}"
        cfg = resolve_config({
            "method": method, "size": size, "scale": 4, "colors": 1, "options": dict(options),
            "train_data": "skimage-train", "val_data": "skimage-test",
            "iterations": plan.iterations, "batch_size": plan.batch_size, "patch_size": plan.patch_size,
            "device": str(device), "amp": True, "workers": plan.workers, "log_every": plan.log_every,
            "val_every": plan.val_every or max(1, plan.iterations // 2), "checkpoint_every": plan.iterations, "progress": False, "seed": 0,
        })
        start = time.perf_counter()
        result = train(cfg, runs_root / name, log=lambda _msg: None)
        rows = list(csv.DictReader(open(runs_root / name / "metrics.csv", newline="")))
        losses = [float(r["loss"]) for r in rows if r.get("loss")]
        val_rows = [float(r["val_psnr"]) for r in rows if r.get("val_psnr")]
        model = methods.load(runs_root / name / "final.pt").to(device)
        with devices_seen() as val_devices:
            val_again = validate_model(model, val_pairs, 4, device)
        merged = methods.merge(model)
        merged_devices = sorted({p.device.type for p in merged.parameters()} | {b.device.type for b in merged.buffers()})
        with devices_seen() as eval_devices, torch.no_grad():
            scores = evaluate(merged, val_pairs, 4, device=device)
        half = max(1, len(losses) // 3)
        first, last = sum(losses[:half]) / half, sum(losses[-half:]) / half
        rec = {
            "method": method, "size": size, "options": options, "scale": 4, "colors": 1,
            "iterations": plan.iterations, "batch_size": plan.batch_size, "patch_size": plan.patch_size,
            "device": result["device"], "amp": result["amp"], "train_seconds": result["train_seconds"],
            "sec_per_iter": result["sec_per_iter"], "wall_seconds": time.perf_counter() - start,
            "losses": losses, "loss_first_third": first, "loss_last_third": last,
            "val_psnr_during_training": val_rows, "val_psnr_train_json": result["val_psnr"],
            "val_psnr_reloaded": val_again, "validation_devices": sorted(val_devices),
            "merged_param_devices": merged_devices, "eval_devices": sorted(eval_devices),
            "eval_psnr_y": scores["psnr_y"], "eval_ssim_y": scores["ssim_y"],
            "params_deployed": result["params_deployed"], "bn_frozen_at": result["bn_frozen_at"],
        }
        where = device.type
        checks.add("train", f"{name}: loss finite", losses and all(math.isfinite(v) for v in losses), f"{len(losses)} log rows")
        checks.add("train", f"{name}: loss falls", last < first, f"{first:.4f} -> {last:.4f}", required=not dry)
        checks.add("train", f"{name}: AMP on", result["amp"] == (where == "cuda"), f"amp={result['amp']}")
        checks.add("train", f"{name}: validated during training", bool(val_rows) and result["val_psnr"] is not None)
        checks.add("train", f"{name}: validation on {where}", val_devices == {where}, f"{sorted(val_devices)}")
        checks.add("train", f"{name}: merged params on {where}", merged_devices == [where], f"{merged_devices}")
        checks.add("train", f"{name}: evaluation on {where}", eval_devices == {where}, f"{sorted(eval_devices)}")
        checks.add("train", f"{name}: eval PSNR finite", math.isfinite(scores["psnr_y"]), f"{scores['psnr_y']:.3f} dB")
        records.append(rec)
        log(f"train {name}: loss {first:.4f} -> {last:.4f}, val {val_again:.3f} dB, "
            f"{result['sec_per_iter'] * 1e3:.1f} ms/iter on {result['device']}")
    return records


def _throughput_cfg(plan: Plan, device: Any, batch: int, modes: tuple[str, ...], lr_hw: tuple[int, int],
                    fp32: bool = False) -> Any:
    """The paper's protocol on CUDA (fp16, channels_last); fp32 NCHW where a comparison with ONNX needs it."""
    from repbench import measure

    half = device.type == "cuda" and not fp32
    return measure.ThroughputConfig(
        batch=batch, lr_height=lr_hw[0], lr_width=lr_hw[1], device=str(device),
        dtype="float16" if half else "float32", channels_last=not fp32, modes=modes, warmup=plan.warmup,
        repeats=plan.repeats, iters=plan.iters, min_repeat_s=plan.min_repeat_s,
    )


def _skipped(part: str, size: str, reason: str, **extra: Any) -> dict:
    return {"part": part, "size": size, "skipped": reason, **extra}


def _record_dict(rec: Any, **extra: Any) -> dict:
    return {**extra, **dataclasses.asdict(rec)}


def part_throughput(plan: Plan, device: Any, checks: Checks, deadline: float, log: Callable[[str], None]) -> list[dict]:
    from repbench import measure

    records: list[dict] = []
    for size in plan.sizes:
        if time.monotonic() > deadline:
            records.append(_skipped("throughput", size, "time budget spent"))
            checks.add("throughput", f"{size}: timed", False, "time budget spent")
            continue
        pair = measure.build_pair("repsr", size, 4, 1)
        recs = measure.throughput_pair(pair, _throughput_cfg(plan, device, plan.batch, plan.modes, plan.lr_hw))
        for rec in recs:
            records.append(_record_dict(rec, method="repsr", size=size))
            checks.add("throughput", f"{size} {rec.net} {rec.mode}: ran", rec.error is None, rec.error or "")
            if device.type == "cuda" and rec.error is None:
                checks.add("throughput", f"{size} {rec.net} {rec.mode}: roofline", rec.roofline is not None,
                           rec.roofline_note, required=False)
        for mode, reason in plan.skipped_modes.items():
            records.append(_skipped("throughput", size, reason, mode=mode))
        merged = {r.mode: r.images_per_s for r in recs if r.net == "merged" and r.images_per_s}
        log(f"throughput {size}: " + ", ".join(f"{m} {v:.1f} img/s" for m, v in merged.items()))
    return records


def part_ntire(plan: Plan, device: Any, checks: Checks, ntire_data: str, log: Callable[[str], None]) -> list[dict]:
    import methods
    from repbench import data
    from repbench.measure.latency import lr_inputs, ntire_latency

    pairs = data.load_pairs(ntire_data, 4)[: plan.ntire_images]
    nets = [("repsr", s, 1, {}) for s in plan.sizes] + list(plan.ntire_nets)
    records = []
    for method, size, colors, options in nets:
        merged = methods.merge(methods.build(method, size, 4, colors, **options))
        rec = ntire_latency(merged, lr_inputs(pairs, colors), device, warmup=plan.warmup)
        records.append(_record_dict(rec, method=method, size=size, colors=colors, dataset=ntire_data))
        expected = "cuda-events" if device.type == "cuda" else "perf_counter"
        checks.add("ntire", f"{method}-{size}: timed per image", rec.images == len(pairs) and rec.timer == expected,
                   f"{rec.images} images, {rec.timer}")
        log(f"ntire {method}-{size}: {rec.ms_mean:.3f} ms/image (fp32, batch 1, {rec.timer})")
    return records


def part_sweep(plan: Plan, device: Any, checks: Checks, log: Callable[[str], None]) -> list[dict]:
    import methods
    from repbench import measure

    records = []
    for size in plan.sweep_sizes:
        merged = methods.merge(methods.build("repsr", size, 4, 1))
        for batch in plan.sweep_batches:
            recs = measure.measure_throughput({"merged": merged}, 1, 4,
                                              _throughput_cfg(plan, device, batch, plan.sweep_modes, plan.lr_hw))
            for rec in recs:
                records.append(_record_dict(rec, method="repsr", size=size))
                checks.add("sweep", f"{size} batch {batch} {rec.mode}: ran", rec.error is None, rec.error or "")
            log(f"sweep {size} batch {batch}: " + ", ".join(f"{r.mode} {r.images_per_s or 0:.1f} img/s" for r in recs))
    return records


def part_onnx(plan: Plan, device: Any, checks: Checks, deadline: float, log: Callable[[str], None]) -> list[dict]:
    import methods
    from repbench import measure
    from repbench.measure.onnx_throughput import available_providers, onnx_throughput

    if "cpu" not in available_providers():
        checks.add("onnx", "onnxruntime importable", False, "onnxruntime is not installed")
        return [_skipped("onnx", "", "onnxruntime is not installed")]
    records: list[dict] = []
    for size in plan.sizes:
        if time.monotonic() > deadline:
            records.append(_skipped("onnx", size, "time budget spent"))
            continue
        merged = methods.merge(methods.build("repsr", size, 4, 1))
        # fp32 NCHW on both sides: the CPU and CUDA providers run the exported fp32 graph.
        cfg = _throughput_cfg(plan, device, plan.batch, ("eager",), plan.onnx_lr_hw, fp32=True)
        recs = measure.measure_throughput({"merged": merged}, 1, 4, cfg) + onnx_throughput(merged, cfg)
        for rec in recs:
            records.append(_record_dict(rec, method="repsr", size=size))
            checks.add("onnx", f"{size} {rec.mode}: ran", rec.error is None, rec.error or "")
        log(f"onnx {size}: " + ", ".join(f"{r.mode} {r.images_per_s or 0:.1f} img/s" for r in recs))
    return records


# --------------------------------------------------------------------------- driver


def run(args: argparse.Namespace, log: Callable[[str], None]) -> int:
    import torch

    from repbench import atomic, measure
    from repbench.device import device_name, resolve_device

    device = resolve_device(args.device)
    if device.type != "cuda" and not args.dry_run:
        raise RepbenchError(
            "gpu_check needs a CUDA GPU and torch sees none here; run it on a GPU machine, "
            "or add --dry-run for a CPU dry run of the same code paths on tiny sizes"
        )
    parts = PARTS if not args.parts else tuple(p.strip() for p in args.parts.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise RepbenchError(f"unknown part(s) {', '.join(unknown)}; valid: {', '.join(PARTS)}")
    plan = dry_plan(device.type == "cuda") if args.dry_run else full_plan()
    if args.dry_run and device.type == "cpu":
        # Tiny convs gain nothing from a thread pool, and on a busy machine its spinning threads cost seconds.
        torch.set_num_threads(1)
    if args.iterations:
        plan.iterations = args.iterations
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checks = Checks()
    started, t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.monotonic()
    deadline = t0 + args.budget_s
    summary: dict[str, Any] = {
        "dry_run": args.dry_run, "device": device.type, "device_name": device_name(device), "started": started,
        "budget_s": args.budget_s, "environment": measure.environment(), "plan": dataclasses.asdict(plan), "parts": {},
    }
    if device.type == "cuda":
        summary["environment"]["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
    files = {"train": "train.json", "throughput": "throughput.json", "ntire": "ntire.json", "sweep": "batch_sweep.json",
             "onnx": "onnx.json"}
    with tempfile.TemporaryDirectory(prefix="gpu-check-runs-") as tmp:
        runs_root = Path(args.keep_runs) if args.keep_runs else Path(tmp)
        for part in parts:
            tick = time.monotonic()
            if tick > deadline:
                summary["parts"][part] = {"skipped": "time budget spent", "seconds": 0.0, "records": 0}
                checks.add(part, "ran", False, "time budget spent")
                continue
            log(f"--- {part}")
            try:
                if part == "train":
                    records = part_train(plan, device, runs_root, checks, args.dry_run, log)
                elif part == "throughput":
                    reserve = ONNX_RESERVE_S if "onnx" in parts[parts.index(part):] else 0.0
                    records = part_throughput(plan, device, checks, deadline - reserve, log)
                elif part == "ntire":
                    records = part_ntire(plan, device, checks, args.ntire_data, log)
                elif part == "sweep":
                    records = part_sweep(plan, device, checks, log)
                else:
                    records = part_onnx(plan, device, checks, deadline, log)
                error = None
            except RepbenchError:
                raise
            except Exception as err:  # one broken part must not hide the others' results
                records, error = [], f"{type(err).__name__}: {err}"
                checks.add(part, "ran", False, error)
                log(f"{part} failed: {error}")
            atomic.write_json(out / files[part], records)
            summary["parts"][part] = {"seconds": time.monotonic() - tick, "records": len(records), "error": error,
                                      "file": files[part]}
    summary["seconds"] = time.monotonic() - t0
    summary["checks"] = [dataclasses.asdict(c) for c in checks.items]
    summary["passed"] = checks.passed
    atomic.write_json(out / "summary.json", summary)
    failed = [c for c in checks.items if c.required and not c.passed]
    for c in failed:
        log(f"FAILED {c.part}: {c.name} ({c.detail})")
    log(f"{len(checks.items) - len(failed)}/{len(checks.items)} checks passed in {summary['seconds']:.1f} s; wrote {out}")
    return 0 if not failed else 1


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    p = argparse.ArgumentParser(prog="gpu_check.py", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the JSON records (e.g. docs/results-gpu/h100)")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes, a few seconds; runs without a GPU")
    p.add_argument("--device", default="auto", help="auto (CUDA if present; the default), cuda[:N], or cpu with --dry-run")
    p.add_argument("--parts", metavar="LIST", help=f"comma list of {', '.join(PARTS)} (default: all)")
    p.add_argument("--iterations", type=int, help="training iterations per method (default 300; dry run 4)")
    p.add_argument("--ntire-data", default="skimage-test", metavar="NAME",
                   help="dataset for the NTIRE timing (default skimage-test, always available; DIV2K-valid once prepared)")
    p.add_argument("--budget-s", type=float, default=400.0,
                   help="wall-clock budget; sizes and parts not started by then are recorded as skipped (default 400)")
    p.add_argument("--keep-runs", metavar="DIR", help="keep the training run folders here (default: a temporary folder)")
    args = p.parse_args(argv)
    if args.iterations is not None and args.iterations < 2:
        print("gpu_check: error: --iterations must be >= 2 (validation runs at the half and at the end)", file=sys.stderr)
        return 2
    try:
        return run(args, lambda msg: print(msg, flush=True))
    except RepbenchError as err:
        print(f"gpu_check: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
