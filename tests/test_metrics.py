"""Y-channel PSNR/SSIM conventions, on synthetic data and scikit-image's bundled photos."""
from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data as skdata
from skimage.metrics import structural_similarity

from repbench.errors import RepbenchError
from repbench.scoring.metrics import (
    psnr_plane,
    psnr_rgb,
    psnr_y,
    rgb_to_ycbcr,
    ssim_plane,
    ssim_y,
    to_y,
    ycbcr_to_rgb,
)


def test_to_y_bt601_range_and_gray_intensity():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    y = to_y(rgb)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y[0], [16.0, 235.0, 16 + 65.481], atol=1e-12)
    gray = np.array([[[0], [128], [255]]], np.uint8)
    np.testing.assert_array_equal(to_y(gray)[0], [0.0, 128.0, 255.0])  # intensity, no 16..235 squeeze


def test_ycbcr_round_trip_and_y_agrees():
    img = skdata.astronaut()[::8, ::8]
    ycc = rgb_to_ycbcr(img)
    np.testing.assert_allclose(ycc[:, :, 0], to_y(img), atol=1e-9)
    np.testing.assert_allclose(ycbcr_to_rgb(ycc), img, atol=1e-9)
    grey = rgb_to_ycbcr(np.full((1, 1, 3), 128, np.uint8))[0, 0]
    np.testing.assert_allclose(grey[1:], [128.0, 128.0], atol=1e-9)  # neutral chroma


def test_psnr_known_values():
    hr = np.zeros((20, 20, 1), np.uint8)
    sr = np.ones((20, 20, 1), np.uint8)
    assert psnr_y(sr, hr, 2) == pytest.approx(20 * math.log10(255))
    assert psnr_rgb(sr, hr, 2) == pytest.approx(20 * math.log10(255))
    assert psnr_y(hr, hr, 2) == math.inf
    # Only the shaved border differs: identical after shaving.
    sr = hr.copy()
    sr[:2] = 255
    assert psnr_y(sr, hr, 2) == math.inf
    assert psnr_y(sr, hr, 1) < math.inf


def test_psnr_rgb_counts_every_channel():
    hr = np.zeros((10, 10, 3), np.uint8)
    sr = hr.copy()
    sr[:, :, 2] = 3  # mse = 9 / 3 = 3 over all channels
    assert psnr_rgb(sr, hr, 0) == pytest.approx(10 * math.log10(255**2 / 3))
    assert psnr_y(sr, hr, 0) == pytest.approx(psnr_plane(to_y(sr), to_y(hr)))


def test_ssim_matches_scikit_image_configured_like_wang_2004():
    rng = np.random.default_rng(0)
    hr = skdata.camera()[:200, :240, None]
    sr = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    ours = ssim_y(sr, hr, 3)
    ref = structural_similarity(
        to_y(sr)[3:-3, 3:-3], to_y(hr)[3:-3, 3:-3],
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255,
    )
    assert ours == pytest.approx(ref, abs=1e-12)
    assert ssim_y(hr, hr, 3) == pytest.approx(1.0)
    rgb = skdata.astronaut()[:100, :100]
    assert ssim_y(rgb, rgb, 4) == pytest.approx(1.0)


def test_ssim_plane_border_argument():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 255, (40, 50))
    b = a + rng.normal(0, 5, a.shape)
    assert ssim_plane(a, b, 4) == pytest.approx(ssim_plane(a[4:-4, 4:-4], b[4:-4, 4:-4]))


def test_gray_vs_gray_as_rgb_differ():
    """Scoring a gray image on its intensity differs from converting it to RGB first."""
    hr = skdata.camera()[:128, :128, None]
    sr = (hr // 4 * 4).astype(np.uint8)
    on_intensity = psnr_y(sr, hr, 2)
    as_rgb = psnr_y(np.repeat(sr, 3, 2), np.repeat(hr, 3, 2), 2)
    assert as_rgb == pytest.approx(on_intensity + 20 * math.log10(255 / 219))


@pytest.mark.parametrize(
    "sr_shape,hr_shape,border,match",
    [
        ((10, 10, 3), (10, 12, 3), 0, "must match"),
        ((10, 10, 3), (10, 10, 3), 5, "nothing left"),
        ((10, 10, 4), (10, 10, 4), 0, "HxWx3"),
    ],
)
def test_bad_inputs(sr_shape, hr_shape, border, match):
    with pytest.raises(RepbenchError, match=match):
        psnr_y(np.zeros(sr_shape, np.uint8), np.zeros(hr_shape, np.uint8), border)


def test_ssim_needs_a_window():
    with pytest.raises(RepbenchError, match="at least 11x11"):
        ssim_y(np.zeros((16, 16, 1), np.uint8), np.zeros((16, 16, 1), np.uint8), 3)
