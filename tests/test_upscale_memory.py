"""`repbench upscale` memory: bounded by the tile, exact across tiles, refused up front when it cannot fit."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

import methods
from methods.blocks import init_layer_
from repbench import cli
from repbench.inference import upscale as upscale_mod
from repbench.inference.evaluate import floor_upscale
from repbench.scoring.images import read_image, write_image
from repbench.inference.upscale import load_model, needed_memory, upscale_image

REPO = Path(__file__).resolve().parents[1]
RUN_CLI = "import sys; from repbench import cli; sys.exit(cli.main(sys.argv[1:]))"


def _random_model(path: Path, scale: int, colors: int) -> Path:
    """A merged plain net with a non-zero tail (the zero init would make its output a plain upsampling)."""
    torch.manual_seed(colors)
    net = methods.build("plain", "M4C8", scale, colors)
    init_layer_(net.convs[-1], 1.0)
    methods.save(methods.merge(net), path)
    return path


def _photo(h: int, w: int) -> np.ndarray:
    """A real photo mirrored and tiled to h x w."""
    base = skimage.data.astronaut()
    cell = np.concatenate([base, base[:, ::-1]], axis=1)
    return np.ascontiguousarray(np.tile(cell, (-(-h // 512), -(-w // 1024), 1))[:h, :w])


def _peak_rss_mib(args: list[str]) -> float:
    """Peak RSS of one `repbench upscale` child process (its own, from wait4), in MiB."""
    child = subprocess.Popen([sys.executable, "-c", RUN_CLI, "upscale", *args], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.returncode == 0, err
    return usage.ru_maxrss / 1024


def test_peak_memory_grows_with_the_tile_not_the_image(tmp_path):
    # Before tiles were streamed, this 1200x800 x4 upscale of a Y model held the output, its chroma and its
    # RGB as whole float64 images: ~1.6 GB above the small-input baseline, --tile or not. Now one tile of
    # 128 and one band of output rows are alive at a time: well under 200 MiB above it.
    model = _random_model(tmp_path / "y.pt", 4, 1)
    write_image(tmp_path / "small.png", _photo(32, 32))
    write_image(tmp_path / "big.png", _photo(800, 1200), compress_level=1)
    base = _peak_rss_mib(["--model", str(model), str(tmp_path / "small.png"), str(tmp_path / "o1.png"),
                          "--tile", "128", "--device", "cpu"])
    peak = _peak_rss_mib(["--model", str(model), str(tmp_path / "big.png"), str(tmp_path / "o2.png"),
                          "--tile", "128", "--device", "cpu"])
    assert read_image(tmp_path / "o2.png").shape == (3200, 4800, 3)
    grown = (peak - base) * 2**20
    print(f"peak RSS {base:.0f} MiB for 32x32, {peak:.0f} MiB for 1200x800")
    assert grown < 200 * 2**20, f"peak RSS grew by {grown / 2**20:.0f} MiB for a 1200x800 x4 input"
    # The up-front estimate is an upper bound of what was used.
    assert grown < needed_memory(load_model(model), (800, 1200, 3), 4, 128, None, streamed=True)


@pytest.mark.parametrize(("colors", "gray", "suffix"), [(1, False, ".png"), (3, False, ".png"),
                                                         (3, True, ".png"), (1, False, ".bmp")])
def test_tiled_streamed_output_equals_whole_image_inference(tmp_path, monkeypatch, colors, gray, suffix):
    # Odd sizes, not multiples of the tile, and x3: the chroma's MATLAB-bicubic weights do not repeat
    # exactly every tile. oneDNN sums a conv in an order that depends on the input size (a last-bit
    # difference, now and then a rounded pixel off by 1); without it the network is exact per tile,
    # so everything else (overlap, chroma, rounding, bands, the PNG encoder) must be too.
    img = _photo(61, 45)[:, :, :1] if gray else _photo(61, 45)
    write_image(tmp_path / "in.png", img)
    model = _random_model(tmp_path / "m.pt", 3, colors)
    out = tmp_path / f"out{suffix}"
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "in.png"), str(out), "--tile", "16"]) == 0
    whole = upscale_image(load_model(model), img, tile=0)
    assert whole.shape == (183, 135, img.shape[2])
    assert np.array_equal(read_image(out), whole)


@pytest.mark.parametrize("floor", ["bicubic", "nearest"])
def test_tiled_floors_equal_the_evaluated_floors(tmp_path, floor):
    img = _photo(37, 53)
    write_image(tmp_path / "in.png", img)
    assert cli.main(["upscale", "--model", floor, "--scale", "3", str(tmp_path / "in.png"),
                     str(tmp_path / "out.png"), "--tile", "8"]) == 0
    assert np.array_equal(read_image(tmp_path / "out.png"), floor_upscale(floor, img, 3))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in ("in.png", "m.pt"))


def test_an_output_too_large_for_memory_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    write_image(tmp_path / "in.png", _photo(40, 30))
    model = _random_model(tmp_path / "m.pt", 4, 1)
    monkeypatch.setattr(upscale_mod, "available_memory", lambda: 10**6)
    monkeypatch.setattr(upscale_mod, "upscale_bands", lambda *a, **k: pytest.fail("work started"))
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                     "--tile", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "needs about" in err and "1.0 MB is available" in err
    assert "use a smaller --tile" in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []  # neither out.png nor a temp file beside it


def test_an_output_too_large_for_the_disk_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    write_image(tmp_path / "in.png", _photo(40, 30))
    model = _random_model(tmp_path / "m.pt", 4, 1)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "in.png"), str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "needs up to 57.6 kB of disk" in err and "has 1.0 kB free" in err
    assert _leftovers(tmp_path) == []


def test_a_24_megapixel_photo_fits_in_4_gb_at_x4():
    # The estimate the up-front check uses (benchmarks/bench_upscale_memory.py measures the real peak).
    y_model = methods.merge(methods.build("plain", "M4C16", 4, 1))
    for model, scale in ((y_model, None), ("bicubic", 4)):
        shape = (4000, 6000, 3)
        assert needed_memory(model, shape, scale or 4, 512, None, streamed=True) < 2 * 10**9
        # Not streamed (a .jpg or .tif output), the uint8 output and Pillow's copy of it are whole.
        assert needed_memory(model, shape, scale or 4, 512, None, streamed=False) > 384e6 * 7
        assert needed_memory(model, shape, scale or 4, 0, None, streamed=True) > 40 * 10**9
