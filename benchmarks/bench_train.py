"""Seconds per training iteration of RepSR and ECBSR (the paper's Table 3 comparison), on this machine.

One iteration is what `repbench train` does per step: forward, L1 loss, backward,
Adam step, on a batch of random LR/HR patches (batch 32, LR patch 64 by default,
x4, Y channel: the tiny-model recipe). The median of `--iters` timed iterations
after `--warmup` untimed ones is reported. It also times the patch sampler on the
embedded training photos, the data-loading cost a step has to hide.

    python benchmarks/bench_train.py [--sizes M4C16] [--methods repsr,ecbsr] [--threads N] [--device cpu]

The `cpu` preset's step costs (its budgets are set from them):

    python benchmarks/bench_train.py --methods plain,repvgg,ecbsr,repsr --collapsed ecbsr \
        --sizes M4C8,M4C16,M10C16,M10C32,M16C64 --batch 16 --patch 24 --threads 1
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import methods
from repbench.device import device_name, resolve_device


def time_step(method: str, size: str, args: argparse.Namespace, device: torch.device, **options) -> float:
    torch.manual_seed(0)
    model = methods.build(method, size, args.scale, args.colors, **options).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=4e-4)
    p = args.patch
    lr = torch.rand(args.batch, args.colors, p, p, device=device)
    hr = torch.rand(args.batch, args.colors, p * args.scale, p * args.scale, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    for i in range(args.warmup + args.iters):
        sync()
        start = time.perf_counter()
        loss = F.l1_loss(model(lr), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_sampler(args: argparse.Namespace) -> float | None:
    from repbench import data
    from repbench.training.patches import PatchSampler

    try:
        pairs = data.load_pairs("skimage-train", args.scale)
    except Exception as err:  # the benchmark of the model step does not depend on it
        print(f"(patch sampler not timed: {err})")
        return None
    sampler = PatchSampler(pairs, args.scale, args.colors, args.batch, args.patch, seed=0)
    times = []
    for t in range(max(3, args.iters)):
        start = time.perf_counter()
        sampler.batch(t)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="repsr,ecbsr")
    parser.add_argument("--sizes", default="M4C16", help="comma-separated, e.g. M4C16,M10C16,M10C32,M16C64")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--patch", type=int, default=64, help="LR patch side")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--colors", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5, help="timed iterations (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--collapsed", default="", help="comma-separated methods timed as the pipeline trains them "
                        "with options.collapsed (e.g. ecbsr,sesr: the linear blocks as their merged kernel)")
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device, flag="--device ")
    print(f"device: {device_name(device)}, torch {torch.__version__}, {torch.get_num_threads()} threads, fp32")
    print(f"batch {args.batch}, LR patch {args.patch}, x{args.scale}, colors {args.colors}; "
          f"median of {args.iters} iterations after {args.warmup} warm-up")
    results: dict[tuple[str, str], float] = {}
    for size in args.sizes.split(","):
        for method in args.methods.split(","):
            options = {"collapsed": True} if method in args.collapsed.split(",") else {}
            sec = time_step(method, size, args, device, **options)
            results[method, size] = sec
            print(f"{method:8s} {size:7s} {sec:8.4f} s/iter")
        if ("repsr", size) in results and ("ecbsr", size) in results:
            saving = 1 - results["repsr", size] / results["ecbsr", size]
            print(f"{'':8s} {size:7s} RepSR takes {abs(100 * saving):.0f}% {'less' if saving >= 0 else 'more'} time "
                  "per iteration than ECBSR (the paper, Table 3: ~50% less, on A100 GPUs)")
    sampler = time_sampler(args)
    if sampler is not None:
        print(f"patch sampler: {sampler:.4f} s per batch (main process; workers hide it on GPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
