"""MATLAB-compatible bicubic `imresize` (the SR community's degradation model).

What makes MATLAB's result distinctive, and therefore what this port keeps:

* cubic kernel with a = -0.5;
* antialiasing on downscale: the kernel is stretched by 1/scale (and its height
  scaled by `scale`), so every output pixel averages over 4/scale input pixels;
* separable: one dimension at a time, the dimension with the smaller scale first
  (rows first when both are equal);
* for uint8 input, the intermediate image is rounded back to uint8 after the first
  1-D pass, exactly like MATLAB (which keeps the input class between passes);
* border handling: symmetric (mirror) index folding, as in current MATLAB releases;
  `border="replicate"` clamps indices instead, as older releases did.

Bit-exactness also depends on floating-point order: weights are normalised and
taps are accumulated left to right, one tap at a time, like MATLAB's MEX kernel.
Everything is vectorised over the image; the only Python loop runs over the
(at most 4/scale + 3) kernel taps.
"""
from __future__ import annotations

import math

import numpy as np

from repbench.errors import RepbenchError

_BORDERS = ("symmetric", "replicate")
_KERNEL_WIDTH = 4.0  # support of the bicubic kernel, in input pixels, before antialiasing


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, written as MATLAB writes it."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    inner = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    outer = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return inner + outer


def contributions(in_len: int, out_len: int, scale: float, border: str) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel: the input indices (0-based) and the weights that produce it.

    Returns (weights, indices), each of shape (out_len, taps).
    """
    antialias = scale < 1
    width = _KERNEL_WIDTH / scale if antialias else _KERNEL_WIDTH

    x = np.arange(1, out_len + 1, dtype=np.float64)
    # Output pixel x (1-based) sits at u in input coordinates: centres of pixels line up.
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    dist = u[:, None] - indices
    weights = scale * _cubic(scale * dist) if antialias else _cubic(dist)

    # Row sums accumulated tap by tap (MATLAB's order), then normalised.
    total = np.zeros(out_len, dtype=np.float64)
    for k in range(taps):
        total += weights[:, k]
    weights = weights / total[:, None]

    idx = indices.astype(np.int64) - 1  # to 0-based
    if border == "symmetric":
        # Fold into [0, 2n) then mirror the upper half: ..., 1, 0 | 0, 1, ..., n-1 | n-1, n-2, ...
        period = 2 * in_len
        idx = np.mod(idx, period)
        idx = np.where(idx >= in_len, period - 1 - idx, idx)
    else:
        idx = np.clip(idx, 0, in_len - 1)

    keep = np.any(weights != 0, axis=0)  # drop taps that are zero for every output pixel
    return weights[:, keep], idx[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float, border: str) -> np.ndarray:
    """One 1-D pass along `axis` of a float64 array; no rounding here."""
    weights, idx = contributions(img.shape[axis], out_len, scale, border)
    moved = np.moveaxis(img, axis, 0)
    extra = (1,) * (moved.ndim - 1)
    out = np.zeros((out_len,) + moved.shape[1:], dtype=np.float64)
    for k in range(weights.shape[1]):
        out += weights[:, k].reshape((out_len,) + extra) * moved[idx[:, k]]
    return np.moveaxis(out, 0, axis)


def round_uint8(img: np.ndarray) -> np.ndarray:
    # MATLAB's double -> uint8 conversion: saturate, then round half away from zero.
    return np.floor(np.clip(img, 0.0, 255.0) + 0.5).astype(np.uint8)


def _output_shape(in_shape: tuple[int, int], scale: float) -> tuple[int, int]:
    # MATLAB: ceil(scale * size). The tiny tolerance keeps 1/3 * 255 from becoming 86.
    return tuple(int(math.ceil(n * scale - 1e-9)) for n in in_shape)  # type: ignore[return-value]


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    border: str = "symmetric",
) -> np.ndarray:
    """Resize an HxW or HxWxC image like MATLAB's `imresize(img, scale, 'bicubic')`.

    Give either `scale` (e.g. 1/4 to downscale, 4 to upscale) or `output_shape`
    (rows, cols). uint8 input gives uint8 output, rounded after each 1-D pass;
    float input gives float output of the same dtype with no rounding or clipping
    (use it for chroma planes or intermediate values).
    """
    if border not in _BORDERS:
        raise RepbenchError(f"unknown border mode {border!r}; use one of {', '.join(_BORDERS)}")
    img = np.asarray(img)
    if img.ndim not in (2, 3):
        raise RepbenchError(f"imresize expects an HxW or HxWxC image, got an array of shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    if not is_uint8 and not np.issubdtype(img.dtype, np.floating):
        raise RepbenchError(f"imresize expects uint8 or floating-point pixels, got {img.dtype}")
    in_shape = (int(img.shape[0]), int(img.shape[1]))
    if min(in_shape) < 1:
        raise RepbenchError(f"cannot resize an empty image of shape {img.shape}")

    if (scale is None) == (output_shape is None):
        raise RepbenchError("imresize needs exactly one of scale= or output_shape=")
    if scale is not None:
        if not scale > 0:
            raise RepbenchError(f"scale must be positive, got {scale!r}")
        out_shape = _output_shape(in_shape, float(scale))
        scales = (float(scale), float(scale))
    else:
        out_shape = (int(output_shape[0]), int(output_shape[1]))  # type: ignore[index]
        if min(out_shape) < 1:
            raise RepbenchError(f"output_shape must be positive, got {output_shape!r}")
        scales = (out_shape[0] / in_shape[0], out_shape[1] / in_shape[1])
    if min(out_shape) < 1:
        raise RepbenchError(f"scale {scale} turns a {in_shape[0]}x{in_shape[1]} image into nothing")

    # MATLAB resizes along the dimension with the smaller scale first (stable order on ties).
    order = sorted((0, 1), key=lambda d: scales[d])
    out = img.astype(np.float64)
    for step, axis in enumerate(order):
        out = _resize_axis(out, axis, out_shape[axis], scales[axis], border)
        if is_uint8:
            out = round_uint8(out)
            if step == 0:
                out = out.astype(np.float64)
    if is_uint8:
        return out
    return out.astype(img.dtype, copy=False)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom/right edge so height and width are multiples of `scale`."""
    h, w = img.shape[0], img.shape[1]
    h2, w2 = h - h % scale, w - w % scale
    if h2 < 1 or w2 < 1:
        raise RepbenchError(f"image of {h}x{w} pixels is smaller than the scale {scale}; it cannot be modcropped")
    return img[:h2, :w2]
