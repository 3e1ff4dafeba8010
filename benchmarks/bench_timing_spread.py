"""The spread of one throughput figure between fresh processes, with and without repbench's steady allocator.

    python benchmarks/bench_timing_spread.py --processes 12

Runs `repbench measure --throughput --deployed-only` (the cpu preset's settings: batch 1, 160x90 LR,
3 repeats, 1 warm-up) in fresh processes, alternating glibc's default allocator
(REPBENCH_KEEP_FREED_MEMORY=0) and the steady one, so both see the same machine. Prints, for each, the
per-process medians, their range and their spread relative to the median, and each process's own
interquartile range. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def one(method: str, size: str, threads: int, default_allocator: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.json"
        env = {**os.environ, **({"REPBENCH_KEEP_FREED_MEMORY": "0"} if default_allocator else {})}
        subprocess.run([sys.executable, "-m", "repbench.cli", "measure", "--method", method, "--size", size,
                        "--throughput", "--deployed-only", "--batch", "1", "--lr-size", "160x90", "--repeats", "3",
                        "--warmup", "1", "--threads", str(threads), "--device", "cpu", "--out", str(out)],
                       check=True, capture_output=True, env=env)
        return json.loads(out.read_text())["throughput"][0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="plain")
    p.add_argument("--size", default="M4C8")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--processes", type=int, default=12)
    args = p.parse_args()
    results: dict[str, list[dict]] = {"glibc defaults": [], "steady allocator": []}
    for _ in range(args.processes):
        results["glibc defaults"].append(one(args.method, args.size, args.threads, True))
        results["steady allocator"].append(one(args.method, args.size, args.threads, False))
    print(f"{args.method}-{args.size}, {args.threads} threads, {args.processes} processes each (alternating)")
    for name, recs in results.items():
        medians = [r["images_per_s"] for r in recs]
        mid = statistics.median(medians)
        iqr = [100 * (r["images_per_s_q3"] - r["images_per_s_q1"]) / r["images_per_s"] for r in recs]
        print(f"  {name:17s} median {mid:7.1f} img/s, processes {min(medians):.1f}-{max(medians):.1f} "
              f"({100 * (max(medians) - min(medians)) / mid:.0f} % of the median); "
              f"within-process IQR {min(iqr):.1f}-{max(iqr):.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
