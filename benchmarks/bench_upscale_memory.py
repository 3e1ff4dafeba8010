"""Peak memory (RSS) and seconds of `repbench upscale` at 1, 6 and 24 megapixels of input.

    python benchmarks/bench_upscale_memory.py                       # 1, 6, 24 MP at x4, tile 512
    python benchmarks/bench_upscale_memory.py --sizes 1,6 --tile 256 --cases plain-y,bicubic

Each case runs `repbench upscale` in a child process on a synthetic photo (scikit-image's
astronaut, mirrored and tiled to a 3:2 frame: 24 MP is 6000x4000) and reads the child's
own peak RSS from wait4(2), so cases do not see each other's peaks. The models are a
merged `plain` M4C16 with random weights (speed and memory do not depend on the weights),
on Y (colors=1) and on RGB (colors=3), plus the bicubic floor. `baseline` is the same
command on a 64x64 input: the fixed cost of Python, torch and the model.
A 24 MP case writes a ~384 MP PNG (hundreds of MB) to a temp folder and deletes it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = ("plain-y", "plain-rgb", "bicubic")
RUN_CLI = "import sys; from repbench import cli; sys.exit(cli.main(sys.argv[1:]))"


def photo(width: int, height: int) -> np.ndarray:
    """A real photo mirrored and tiled to width x height (mirroring keeps the tile borders smooth)."""
    import skimage.data

    base = skimage.data.astronaut()
    cell = np.concatenate([base, base[:, ::-1]], axis=1)
    cell = np.concatenate([cell, cell[::-1]], axis=0)
    reps = (-(-height // cell.shape[0]), -(-width // cell.shape[1]), 1)
    return np.ascontiguousarray(np.tile(cell, reps)[:height, :width])


def frame(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 3:2 frame: 24 MP is 6000x4000."""
    width = int(round(6000 * (megapixels / 24) ** 0.5))
    return width, width * 2 // 3


def make_model(case: str, scale: int, folder: Path) -> str:
    """The --model argument of a case: a saved merged plain net, or the floor's name."""
    if case == "bicubic":
        return "bicubic"
    import methods

    colors = 1 if case == "plain-y" else 3
    path = folder / f"{case}.pt"
    methods.save(methods.merge(methods.build("plain", "M4C16", scale, colors)), path)
    return str(path)


def run_case(model: str, image: Path, out: Path, scale: int, tile: int) -> tuple[float, float, int]:
    """(peak RSS in MiB, wall seconds, exit status) of one `repbench upscale` child process."""
    argv = [sys.executable, "-c", RUN_CLI, "upscale", "--model", model, str(image), str(out),
            "--scale", str(scale), "--tile", str(tile), "--device", "cpu"]
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the max over all children
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    if code != 0:
        print(child.stderr.read().strip().splitlines()[-1:], file=sys.stderr)
    child.stderr.close()
    return usage.ru_maxrss / 1024, seconds, code  # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1,6,24", help="input megapixels, comma separated (default 1,6,24)")
    p.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
    p.add_argument("--tile", type=int, default=512, help="`repbench upscale --tile` (default 512)")
    p.add_argument("--cases", default=",".join(CASES), help=f"comma separated, of {', '.join(CASES)}")
    args = p.parse_args(argv)
    from repbench.scoring.images import write_image

    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    print(f"repbench upscale x{args.scale}, --tile {args.tile}, CPU ({os.cpu_count()} cores)")
    print(f"{'case':10s} {'input':>10s} {'output':>12s} {'peak RSS':>10s} {'seconds':>8s}")
    with tempfile.TemporaryDirectory(prefix="bench_upscale_") as tmp:
        folder = Path(tmp)
        models = {case: make_model(case, args.scale, folder) for case in cases}
        sizes = [(64, 64)] + [frame(float(mp)) for mp in args.sizes.split(",") if mp]
        for i, (w, h) in enumerate(sizes):
            image = folder / f"in_{w}x{h}.png"
            write_image(image, photo(w, h), compress_level=1)
            for case in cases:
                out = folder / "out.png"
                rss, seconds, code = run_case(models[case], image, out, args.scale, args.tile)
                out.unlink(missing_ok=True)
                label = f"{w}x{h}" if i else "baseline"
                shown = f"{rss:7.0f} MiB" if code == 0 else f"failed ({code})"
                print(f"{case:10s} {label:>10s} {f'{w * args.scale}x{h * args.scale}':>12s} {shown:>10s} "
                      f"{seconds:8.1f}", flush=True)
            image.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
