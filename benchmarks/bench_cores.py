"""How to spend the CPU cores on training: one job with N threads, or N one-thread jobs side by side.

For each method/size it times training steps (forward, L1 loss, backward, Adam; the `cpu`
preset's batch 16, LR patch 24, x4, Y) twice:

- one process with `--cores` threads: steps per second of that one job;
- `--cores` processes with one thread each, started together: the sum of their steps per second.

The ratio is what the pipeline gains from running jobs in parallel (`threads: 1` with
`snakemake --cores all`) rather than giving each job every core.

    python benchmarks/bench_cores.py [--cores 2] [--runs plain:M4C16,repsr:M10C16] [--iters 20]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time


def steps_per_second(method: str, size: str, threads: int, iters: int, warmup: int, start=None) -> float:
    import torch
    import torch.nn.functional as F

    import methods

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = methods.build(method, size, 4, 1).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    lr, hr = torch.rand(16, 1, 24, 24), torch.rand(16, 1, 96, 96)

    def step() -> None:
        loss = F.l1_loss(model(lr), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if start is not None:  # side-by-side jobs start timing together
        start.wait()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1.0 / statistics.median(times)


def _worker(args: tuple) -> float:
    method, size, iters, warmup, barrier = args
    return steps_per_second(method, size, 1, iters, warmup, barrier)


def side_by_side(method: str, size: str, jobs: int, iters: int, warmup: int) -> float:
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(jobs)
        with ctx.Pool(jobs) as pool:
            rates = pool.map(_worker, [(method, size, iters, warmup, barrier)] * jobs)
    return sum(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2, help="cores to share out (default 2)")
    parser.add_argument("--runs", default="plain:M4C16,repvgg:M10C16,repsr:M10C32",
                        help="comma-separated method:size pairs")
    parser.add_argument("--iters", type=int, default=20, help="timed steps per measurement (median used)")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    print(f"batch 16, LR patch 24, x4, Y; median of {args.iters} steps after {args.warmup} warm-up")
    print(f"{'run':18s} {'1 job x ' + str(args.cores) + ' threads':>20s} {str(args.cores) + ' jobs x 1 thread':>20s} {'ratio':>7s}")
    for pair in args.runs.split(","):
        method, size = pair.split(":")
        one = steps_per_second(method, size, args.cores, args.iters, args.warmup)
        many = side_by_side(method, size, args.cores, args.iters, args.warmup)
        print(f"{method + ' ' + size:18s} {one:15.2f} it/s {many:15.2f} it/s {many / one:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
