"""PyTorch eager vs ONNX Runtime (CPU provider) throughput of the merged Table 2 networks (x4, Y).

    python benchmarks/bench_onnx.py                        # fp32, batch 1, LR 160x90, 1 thread, the five Table 2 sizes
    python benchmarks/bench_onnx.py --size M16C64 --lr-size 320x180 --threads 2 --json onnx.json

The merged network is the plain Mx-Cy net every re-parameterizable method deploys to, so
random weights time it as well as trained ones. Both runtimes get the same input, thread
count and protocol (warm-up, calibrated repeats, median); the PyTorch and ONNX repeats are
not interleaved, so run it on a quiet machine. Every figure is CPU fp32, not the paper's
GPU fp16 protocol.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from methods.registry import TABLE2_SIZES
from repbench.cli.measure import parse_wxh
from repbench.errors import RepbenchError



def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", action="append", help=f"repeatable (default: {', '.join(TABLE2_SIZES)})")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--lr-size", default="160x90", metavar="WxH")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--min-repeat-s", type=float, default=0.3, help="shortest timed repeat (default 0.3 s)")
    # One thread by default: on a busy machine a thread pool's spin-waiting slows PyTorch far more than
    # onnxruntime, and the ratio would measure the load instead of the runtimes. Pass more on a quiet one.
    p.add_argument("--threads", type=int, default=1, help="CPU threads for both runtimes (default 1)")
    p.add_argument("--json", help="also write every record to this JSON file")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except RepbenchError as err:
        print(f"bench_onnx: error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import torch

    import methods
    from repbench import measure
    from repbench.measure.onnx_throughput import onnx_throughput

    height, width = parse_wxh(args.lr_size)
    threads = args.threads
    if threads < 1:
        raise RepbenchError(f"--threads must be >= 1, got {threads}")
    cfg = measure.ThroughputConfig(
        batch=args.batch, lr_height=height, lr_width=width, device="cpu", dtype="float32", channels_last=False,
        modes=("eager",), warmup=args.warmup, repeats=args.repeats, min_repeat_s=args.min_repeat_s, threads=threads,
    )
    import onnxruntime

    print(f"CPU fp32, batch {args.batch}, LR {width}x{height} (x4, Y), {threads} threads; torch {torch.__version__}, "
          f"onnxruntime {onnxruntime.__version__}; median of {args.repeats} repeats")
    print(f"{'size':7s} {'params':>8s} {'PyTorch img/s':>14s} {'ONNX RT img/s':>14s} {'ORT/PyTorch':>12s}")
    records = []
    for size in args.size or TABLE2_SIZES:
        torch.manual_seed(0)
        merged = methods.merge(methods.build("repsr", size, 4, 1))
        (pt,) = measure.measure_throughput({"merged": merged}, 1, 4, cfg)
        (ort,) = onnx_throughput(merged, cfg, providers=["cpu"])
        if ort.error:
            raise RepbenchError(f"ONNX Runtime failed on {size}: {ort.error}")
        print(f"{size:7s} {methods.count_params(merged):8,d} {pt.images_per_s:14.2f} {ort.images_per_s:14.2f} "
              f"{ort.images_per_s / pt.images_per_s:11.2f}x")
        records += [{"size": size, **asdict(pt)}, {"size": size, **asdict(ort)}]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(records, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
