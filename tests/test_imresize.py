"""MATLAB-bicubic imresize: bit-exact against MATLAB's LR images, and against a naive reference."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from repbench.errors import RepbenchError
from repbench.scoring.images import read_image
from repbench.scoring.imresize import imresize, modcrop


# ----------------------------------------------------------------------------- a naive reference
# A direct, loop-per-pixel transcription of MATLAB's documented algorithm, so the vectorised
# version is checked against something written differently.


def _cubic(x: float) -> float:
    a = abs(x)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def _naive_1d(line: list[float], out_len: int, scale: float, border: str) -> list[float]:
    n = len(line)
    width = 4 / scale if scale < 1 else 4
    out = []
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = []
        for j in range(left, left + math.ceil(width) + 2):
            w = scale * _cubic(scale * (u - j)) if scale < 1 else _cubic(u - j)
            if border == "symmetric":
                k = (j - 1) % (2 * n)
                k = k if k < n else 2 * n - 1 - k
            else:
                k = min(max(j - 1, 0), n - 1)
            taps.append((w, k))
        total = sum(w for w, _ in taps)
        out.append(sum(w / total * line[k] for w, k in taps))
    return out


def _naive(img: np.ndarray, out_shape: tuple[int, int], border: str) -> np.ndarray:
    h, w = img.shape
    rows = np.array([_naive_1d(list(img[:, c]), out_shape[0], out_shape[0] / h, border) for c in range(w)]).T
    return np.array([_naive_1d(list(rows[r]), out_shape[1], out_shape[1] / w, border) for r in range(out_shape[0])])


@pytest.mark.parametrize("border", ["symmetric", "replicate"])
@pytest.mark.parametrize("shape,out_shape", [((12, 12), (3, 3)), ((9, 12), (3, 4)), ((5, 7), (10, 14)), ((6, 6), (4, 9))])
def test_float_path_matches_naive_reference(shape, out_shape, border):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, shape)
    got = imresize(img, output_shape=out_shape, border=border)
    # MATLAB resizes the dimension with the smaller scale first; with these shapes both orders agree
    # up to rounding error, which is all a float comparison can see.
    np.testing.assert_allclose(got, _naive(img, out_shape, border), rtol=0, atol=1e-9)


def test_float_in_float_out_without_rounding():
    img = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    out = imresize(img, 0.5)
    assert out.dtype == np.float32 and out.shape == (4, 4)
    assert not np.allclose(out * 255, np.round(out * 255))  # not quantised anywhere


def test_uint8_rounds_after_each_pass():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    out = imresize(img, 1 / 4)
    assert out.dtype == np.uint8 and out.shape == (6, 6, 3)
    # Rounding once at the end differs from MATLAB's per-pass rounding on some pixels.
    once = np.floor(np.clip(imresize(img.astype(np.float64), 1 / 4), 0, 255) + 0.5)
    assert np.abs(out.astype(int) - once).max() <= 1


def test_constant_image_is_preserved_and_shapes():
    img = np.full((30, 21), 200, np.uint8)
    for scale in (1 / 2, 1 / 3, 1 / 4, 2, 3, 4):
        out = imresize(img, scale)
        assert out.shape == (math.ceil(30 * scale - 1e-9), math.ceil(21 * scale - 1e-9))
        assert (out == 200).all()
    assert imresize(np.zeros((255, 6), np.uint8), 1 / 3).shape == (85, 2)  # no ceil(85.0000001) = 86


def test_upscale_then_channels_independent():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (10, 11, 3), dtype=np.uint8)
    out = imresize(img, 3)
    assert out.shape == (30, 33, 3)
    for c in range(3):
        assert (out[:, :, c] == imresize(img[:, :, c], 3)).all()


def test_modcrop():
    img = np.zeros((13, 10, 3), np.uint8)
    assert modcrop(img, 4).shape == (12, 8, 3)
    assert modcrop(img, 2).shape == (12, 10, 3)
    with pytest.raises(RepbenchError, match="smaller than the scale"):
        modcrop(np.zeros((3, 9), np.uint8), 4)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"scale": 0.5, "border": "wrap"}, "border"),
        ({"scale": 0.5, "output_shape": (2, 2)}, "exactly one"),
        ({}, "exactly one"),
        ({"scale": -1}, "positive"),
        ({"scale": 1e-12}, "into nothing"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(RepbenchError, match=match):
        imresize(np.zeros((8, 8), np.uint8), **kwargs)


def test_bad_dtype():
    with pytest.raises(RepbenchError, match="uint8 or floating"):
        imresize(np.zeros((8, 8), np.int32), 0.5)


# ----------------------------------------------------------------------------- MATLAB's own output


def _lr_cases(root: Path, set_name: str, folder: str) -> list[tuple[Path, Path, int]]:
    cases = []
    for scale in (2, 3, 4):
        for hr in sorted((root / set_name / "HR").glob("*.png")):
            cases.append((hr, root / set_name / folder / f"X{scale}" / f"{hr.stem}x{scale}.png", scale))
    return cases


@pytest.mark.datasets
@pytest.mark.parametrize(
    "set_name,folder,border,expected",
    [
        ("Set5", "LR_bicubic", "symmetric", 15),
        ("Set5", "LR_bicubic_replicate", "replicate", 15),
        ("Set14", "LR_bicubic_replicate", "replicate", 42),
    ],
)
def test_bit_exact_matlab_lr(shared_datasets, set_name, folder, border, expected):
    cases = _lr_cases(shared_datasets, set_name, folder)
    assert len(cases) == expected
    exact = []
    for hr_path, lr_path, scale in cases:
        lr = imresize(modcrop(read_image(hr_path), scale), 1 / scale, border=border)
        ref = read_image(lr_path)
        exact.append(lr.shape == ref.shape and bool((lr == ref).all()))
    assert sum(exact) == expected, [c[1].name for c, ok in zip(cases, exact) if not ok]


@pytest.mark.datasets
def test_symmetric_and_replicate_differ_only_at_the_edge(shared_datasets):
    hr = modcrop(read_image(shared_datasets / "Set5" / "HR" / "baby.png"), 4)
    sym, rep = imresize(hr, 1 / 4), imresize(hr, 1 / 4, border="replicate")
    assert (sym[2:-2, 2:-2] == rep[2:-2, 2:-2]).all()
    assert (sym != rep).any()
