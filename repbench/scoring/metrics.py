"""PSNR and SSIM with the SR community's conventions.

* Y channel of ITU-R BT.601 on the 0..255 scale (16..235), computed in float64 and
  NOT rounded: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255.
* A single-channel image is scored on its intensity directly (Y = I); converting a
  gray image to RGB first and then to Y would shift it by the 16..235 squeeze.
* `border` pixels are shaved from every side (the scale, by convention) before scoring.
* Inputs are uint8 images: SR outputs must be clipped and rounded first (the
  evaluator does this), so the metric sees what a saved PNG would hold.
* SSIM as in Wang et al. 2004 (and MATLAB's reference `ssim_index`): 11x11 Gaussian
  window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, population statistics,
  evaluated only where the window fits inside the (shaved) image ("valid"), then averaged.
"""
from __future__ import annotations

import math

import numpy as np

from repbench.errors import RepbenchError

# BT.601 "studio swing" matrix on 0..255 inputs (MATLAB rgb2ycbcr's coefficients).
_YCBCR = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=np.float64,
) / 255.0
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0])
_YCBCR_INV = np.linalg.inv(_YCBCR)

# Full-range BT.601 luma weights (0.299, 0.587, 0.114): a gray image's intensity from an RGB output.
LUMA_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 219.0

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 255.0


def _as_hwc(img: np.ndarray, what: str) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise RepbenchError(f"{what}: expected an HxW, HxWx1 or HxWx3 image, got shape {img.shape}")
    return img


def rgb_to_ycbcr(img: np.ndarray) -> np.ndarray:
    """HxWx3 RGB on 0..255 (any dtype) -> float64 YCbCr (BT.601, Y in 16..235), no rounding."""
    rgb = _as_hwc(img, "rgb_to_ycbcr").astype(np.float64)
    if rgb.shape[2] != 3:
        raise RepbenchError(f"rgb_to_ycbcr needs 3 channels, got {rgb.shape[2]}")
    return rgb @ _YCBCR.T + _YCBCR_OFFSET


def ycbcr_to_rgb(img: np.ndarray) -> np.ndarray:
    """Exact inverse of `rgb_to_ycbcr`: float64 RGB on 0..255, neither clipped nor rounded."""
    ycc = _as_hwc(img, "ycbcr_to_rgb").astype(np.float64)
    if ycc.shape[2] != 3:
        raise RepbenchError(f"ycbcr_to_rgb needs 3 channels, got {ycc.shape[2]}")
    return (ycc - _YCBCR_OFFSET) @ _YCBCR_INV.T


def round_u8(x: np.ndarray) -> np.ndarray:
    """Clip to 0..255 and round half up to uint8: what a saved PNG of an SR output holds."""
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


def to_y(img: np.ndarray) -> np.ndarray:
    """The HxW float64 plane that is scored: BT.601 Y for RGB, the intensity for gray."""
    img = _as_hwc(img, "to_y")
    if img.shape[2] == 1:
        return img[:, :, 0].astype(np.float64)
    rgb = img.astype(np.float64)
    return 16.0 + (65.481 * rgb[:, :, 0] + 128.553 * rgb[:, :, 1] + 24.966 * rgb[:, :, 2]) / 255.0


def _check_pair(sr: np.ndarray, hr: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    sr = _as_hwc(sr, "SR image")
    hr = _as_hwc(hr, "HR image")
    if sr.shape != hr.shape:
        raise RepbenchError(f"SR image has shape {sr.shape} but HR has {hr.shape}; they must match")
    if border < 0:
        raise RepbenchError(f"border must be >= 0, got {border}")
    h, w = hr.shape[:2]
    if h <= 2 * border or w <= 2 * border:
        raise RepbenchError(f"a {h}x{w} image has nothing left after shaving a border of {border}")
    return sr, hr


def _shave(plane: np.ndarray, border: int) -> np.ndarray:
    return plane[border : plane.shape[0] - border, border : plane.shape[1] - border]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(DATA_RANGE**2 / mse)


def psnr_plane(sr: np.ndarray, hr: np.ndarray, border: int = 0) -> float:
    """PSNR of two HxW planes on the 0..255 scale, `border` pixels shaved."""
    sr = np.asarray(sr, dtype=np.float64)
    hr = np.asarray(hr, dtype=np.float64)
    _check_pair(sr, hr, border)
    return _psnr(_shave(sr, border), _shave(hr, border))


def psnr_y(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR in dB on the Y channel (intensity for gray), `border` pixels shaved."""
    sr, hr = _check_pair(sr, hr, border)
    return _psnr(_shave(to_y(sr), border), _shave(to_y(hr), border))


def psnr_rgb(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR in dB over all channels (the NTIRE convention), `border` pixels shaved."""
    sr, hr = _check_pair(sr, hr, border)
    return _psnr(_shave(sr.astype(np.float64), border), _shave(hr.astype(np.float64), border))


def _gaussian_1d() -> np.ndarray:
    r = (SSIM_WINDOW - 1) / 2
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - r
    g = np.exp(-(x * x) / (2 * SSIM_SIGMA**2))
    return g / g.sum()  # outer(g, g) is then MATLAB's normalised fspecial('gaussian', 11, 1.5)


_GAUSS = _gaussian_1d()


def _filter_valid(plane: np.ndarray) -> np.ndarray:
    """Separable Gaussian filtering, keeping only positions where the window fits."""
    from scipy.ndimage import correlate1d  # imported here: keeps `repbench --help` fast

    out = correlate1d(plane, _GAUSS, axis=0, mode="constant")
    out = correlate1d(out, _GAUSS, axis=1, mode="constant")
    r = SSIM_WINDOW // 2
    return out[r : out.shape[0] - r, r : out.shape[1] - r]


def ssim_plane(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """Mean SSIM of two HxW planes on the 0..255 scale (Wang et al. 2004), `border` pixels shaved."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _check_pair(a, b, border)
    a, b = _shave(a, border), _shave(b, border)
    if a.shape[0] < SSIM_WINDOW or a.shape[1] < SSIM_WINDOW:
        raise RepbenchError(f"SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels after shaving, got {a.shape}")
    c1 = (SSIM_K1 * DATA_RANGE) ** 2
    c2 = (SSIM_K2 * DATA_RANGE) ** 2
    mu_a = _filter_valid(a)
    mu_b = _filter_valid(b)
    var_a = _filter_valid(a * a) - mu_a * mu_a
    var_b = _filter_valid(b * b) - mu_b * mu_b
    cov = _filter_valid(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den))


def ssim_y(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """SSIM on the Y channel (intensity for gray), `border` pixels shaved."""
    sr, hr = _check_pair(sr, hr, border)
    return ssim_plane(to_y(sr), to_y(hr), border)
