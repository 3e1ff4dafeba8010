"""The spread of one throughput figure between fresh processes, under two settings, alternating.

    python benchmarks/bench_timing_spread.py --compare omp --processes 12
    python benchmarks/bench_timing_spread.py --compare allocator --processes 12
    python benchmarks/bench_timing_spread.py --compare omp --load    # with a busy process beside it

Runs `repbench measure --throughput --deployed-only` (the cpu preset's settings: batch 1, 160x90 LR,
3 repeats, 1 warm-up, every core) in fresh processes, alternating the two settings so both see the same
machine: `omp` compares OpenMP threads that spin at their barriers (OMP_WAIT_POLICY=ACTIVE) with
repbench's passive waiting; `allocator` compares glibc's default malloc (REPBENCH_KEEP_FREED_MEMORY=0)
with repbench's steady one. `--load` keeps one busy-looping process running beside the timings, as
another job or user would. Prints, for each setting, the per-process medians' range relative to their
median and each process's own interquartile range.
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


SETTINGS = {
    "omp": {"OpenMP spinning": {"OMP_WAIT_POLICY": "ACTIVE"}, "OpenMP passive": {"OMP_WAIT_POLICY": "PASSIVE"}},
    "allocator": {"glibc defaults": {"REPBENCH_KEEP_FREED_MEMORY": "0"}, "steady allocator": {}},
}


def one(method: str, size: str, threads: int, extra_env: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.json"
        env = {**os.environ, **extra_env}
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
    p.add_argument("--compare", choices=tuple(SETTINGS), default="omp")
    p.add_argument("--load", action="store_true", help="a busy-looping process runs beside the timings")
    args = p.parse_args()
    settings = SETTINGS[args.compare]
    results: dict[str, list[dict]] = {name: [] for name in settings}
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.load else None
    try:
        for _ in range(args.processes):
            for name, env in settings.items():
                results[name].append(one(args.method, args.size, args.threads, env))
    finally:
        if busy is not None:
            busy.kill()
    print(f"{args.method}-{args.size}, {args.threads} threads, {args.processes} processes each (alternating)"
          + (", one busy process beside them" if args.load else ""))
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
