"""Merged vs unmerged CPU inference throughput of RepSR and ECBSR at the Table 2 sizes (Y, x4).

    python benchmarks/bench_throughput.py                       # the paper's batch 4, 320x180 LR
    python benchmarks/bench_throughput.py --size M16C64 --lr-size 160x90 --repeats 3

The merged net is the same Mx-Cy plain net for both methods; the unmerged one is the
training-time net in eval mode (BN with running statistics), which is what re-parameterization
saves at inference. Every figure is CPU fp32 eager, not the paper's GPU fp16 protocol.
The repeats of the two nets are interleaved, so a change in machine load hits both alike;
"speed-up" is the ratio of medians, "best/best" that of the fastest repeats.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from methods.registry import TABLE2_SIZES
from repbench.cli.measure import parse_wxh
from repbench.errors import RepbenchError



def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", action="append", choices=("repsr", "ecbsr"), help="repeatable (default: both)")
    p.add_argument("--size", action="append", help=f"repeatable (default: {', '.join(TABLE2_SIZES)})")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr-size", default="320x180", metavar="WxH")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--iters", type=int, help="batches per repeat (default: enough for 0.2 s)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--json", help="also write every record to this JSON file")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except RepbenchError as err:
        print(f"bench_throughput: error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import torch

    from repbench import measure

    height, width = parse_wxh(args.lr_size)
    cfg = measure.ThroughputConfig(
        batch=args.batch, lr_height=height, lr_width=width, device="cpu", dtype="float32", modes=("eager",),
        warmup=args.warmup, repeats=args.repeats, iters=args.iters, threads=args.threads,
    )
    print(f"CPU fp32 eager throughput, batch {args.batch}, LR {width}x{height} (x4, Y), torch {torch.__version__}, "
          f"{args.threads or torch.get_num_threads()} threads; median of {args.repeats} repeats")
    print(f"{'method':7s} {'size':7s} {'merged img/s':>13s} {'unmerged img/s':>15s} {'speed-up':>9s} {'best/best':>10s} {'MACs ratio':>11s}")
    rows = []
    for method in args.method or ("repsr", "ecbsr"):
        for size in args.size or TABLE2_SIZES:
            pair = measure.build_pair(method, size, scale=4, colors=1)
            merged, unmerged = measure.throughput_pair(pair, cfg)
            macs_ratio = _macs(pair.training) / _macs(pair.deployed)
            speedup = merged.images_per_s / unmerged.images_per_s  # ratio of medians
            best = merged.images_per_s_max / unmerged.images_per_s_max  # fastest repeats: least disturbed by load
            print(f"{method:7s} {size:7s} {merged.images_per_s:13.2f} {unmerged.images_per_s:15.2f} "
                  f"{speedup:8.2f}x {best:9.2f}x {macs_ratio:10.2f}x", flush=True)
            rows.append({"method": method, "size": size, "speedup": speedup, "speedup_best": best, "macs_ratio": macs_ratio,
                         "merged": asdict(merged), "unmerged": asdict(unmerged)})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _macs(model) -> int:  # type: ignore[no-untyped-def]
    """fvcore MACs per 32x32 LR tile: every layer here runs at LR, so the ratio holds at any size."""
    import torch

    from repbench import measure

    return measure.fvcore_macs(model, torch.rand(1, 1, 32, 32))[0]


if __name__ == "__main__":
    sys.exit(main())
