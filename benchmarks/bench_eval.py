"""How long the bicubic baseline evaluation of Set5 + Set14 at x2/x3/x4 takes (target: < 20 s on 2 cores).

Timed end to end from the HR folders: read, modcrop, MATLAB-bicubic down and up, PSNR/SSIM.
Nothing is cached, so the figure does not depend on an earlier `repbench data prepare`.

    python benchmarks/bench_eval.py [--datasets-root DIR] [--repeats 1]

Without the Set5/Set14 folders it times scikit-image's bundled test split instead (and says so).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from repbench import data
from repbench.inference.evaluate import evaluate


def _folders(root: Path) -> dict[str, Path]:
    found = {name: root / name / "HR" for name in ("Set5", "Set14")}
    return {name: folder for name, folder in found.items() if folder.is_dir()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets-root", default=None, help="folder holding Set5/HR and Set14/HR")
    parser.add_argument("--repeats", type=int, default=1, help="time the whole run this many times, report the best")
    args = parser.parse_args()

    root = Path(args.datasets_root) if args.datasets_root else data.datasets_root()
    folders = _folders(root)
    if not folders:
        print(f"Set5/Set14 not found under {root}; timing the embedded skimage-test split instead")

    best = None
    rows: list[tuple[str, int, float, float, float]] = []
    for _ in range(max(1, args.repeats)):
        rows = []
        start = time.perf_counter()
        for scale in (2, 3, 4):
            if folders:
                for name, folder in folders.items():
                    t0 = time.perf_counter()
                    result = evaluate("bicubic", data.pairs_from_folder(folder, scale), scale, dataset=name)
                    rows.append((name, scale, result["psnr_y"], result["ssim_y"], time.perf_counter() - t0))
            else:
                t0 = time.perf_counter()
                pairs = [data.make_pair(p.name, p.hr, scale) for p in data.load_pairs("skimage-test", 4)]
                result = evaluate("bicubic", pairs, scale, dataset="skimage-test")
                rows.append(("skimage-test", scale, result["psnr_y"], result["ssim_y"], time.perf_counter() - t0))
        total = time.perf_counter() - start
        best = total if best is None else min(best, total)

    for name, scale, psnr, ssim, seconds in rows:
        print(f"{name:12s} x{scale}  PSNR-Y {psnr:8.4f}  SSIM-Y {ssim:.4f}  {seconds:6.2f} s")
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"bicubic evaluation, all of the above: {best:.2f} s "
        f"(best of {max(1, args.repeats)}; {os.cpu_count()} CPUs visible, OMP_NUM_THREADS={threads}, "
        f"Python {platform.python_version()})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
