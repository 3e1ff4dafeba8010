"""`repbench upscale`: Y and RGB models, gray images, folders, and seamless tiling."""
from __future__ import annotations

import numpy as np
import skimage.data
import torch

import methods
from methods.blocks import init_layer_
from repbench import cli
from repbench.scoring.images import read_image, write_image
from repbench.scoring.imresize import imresize, modcrop
from repbench.scoring.metrics import psnr_y, rgb_to_ycbcr, ycbcr_to_rgb
from repbench.inference.upscale import load_model, receptive_radius, run_tiled, upscale_image


def _nearest_model(path, scale, colors):
    """A plain net whose tail is zero: its output is exactly the nearest-neighbour upscale of its input."""
    model = methods.build("plain", "M2C8", scale, colors)
    with torch.no_grad():
        model.convs[-1].weight.zero_()
        model.convs[-1].bias.zero_()
    methods.save(methods.merge(model), path)
    return path


def _nearest(img, s):
    return img.repeat(s, axis=0).repeat(s, axis=1)


def test_tiled_equals_untiled_when_overlap_covers_the_receptive_field():
    torch.manual_seed(0)
    net = methods.build("plain", "M4C8", 3, 3)
    init_layer_(net.convs[-1], 1.0)  # a zero output layer (the init) would hide any seam
    model = methods.merge(net).eval()
    assert receptive_radius(model) == 6  # 6 convs of 3x3
    x = torch.rand(1, 3, 50, 37)
    with torch.no_grad():
        whole = model(x)
    tiled = run_tiled(model, x, 3, tile=16)  # overlap defaults to the receptive radius
    assert tiled.shape == whole.shape and (tiled - whole).abs().max() <= 1e-4
    assert (run_tiled(model, x, 3, tile=16, overlap=8) - whole).abs().max() <= 1e-4
    seams = run_tiled(model, x, 3, tile=16, overlap=0)  # without overlap the tile borders show
    assert (seams - whole).abs().max() > 1e-3


def test_y_model_round_trip_on_a_real_photo(tmp_path):
    hr = modcrop(skimage.data.astronaut()[100:300, 150:330], 2)
    lr = imresize(hr, 0.5)
    write_image(tmp_path / "in.png", lr)
    model = _nearest_model(tmp_path / "y.pt", 2, 1)
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                     "--tile", "40"]) == 0
    out = read_image(tmp_path / "out.png")
    assert out.shape == hr.shape and out.dtype == np.uint8
    # Y is the model's (here: nearest-neighbour), CbCr are MATLAB-bicubic upscaled, then back to RGB.
    ycc = rgb_to_ycbcr(lr)
    cbcr = imresize(ycc[:, :, 1:], output_shape=hr.shape[:2])
    expected = np.clip(np.round(ycbcr_to_rgb(np.dstack([_nearest(ycc[:, :, :1], 2), cbcr]))), 0, 255)
    assert np.abs(out - expected).max() <= 1  # float32 inference may flip a rounding
    assert psnr_y(out, hr, 2) > 25  # a recognisable image, not garbage


def test_rgb_model_on_rgb_and_gray_and_folders(tmp_path):
    model = _nearest_model(tmp_path / "rgb.pt", 3, 3)
    rgb = skimage.data.chelsea()[:60, :90]
    gray = skimage.data.camera()[:50, :70, None]
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "cat.png", rgb)
    write_image(tmp_path / "in" / "camera.png", gray)
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert np.array_equal(read_image(tmp_path / "out" / "cat.png"), _nearest(rgb, 3))
    out_gray = read_image(tmp_path / "out" / "camera.png")
    assert out_gray.shape == (150, 210, 1) and np.array_equal(out_gray, _nearest(gray, 3))


def test_y_model_keeps_gray_images_gray(tmp_path):
    model = load_model(_nearest_model(tmp_path / "y.pt", 4, 1))
    gray = skimage.data.camera()[:30, :20, None]
    assert np.array_equal(upscale_image(model, gray), _nearest(gray, 4))


def test_a_run_folder_is_a_model_and_training_weights_are_merged(tmp_path):
    model = methods.build("repsr", "M1C4", 2, 1)
    methods.save(model, tmp_path / "final.pt")
    loaded = load_model(tmp_path)
    assert loaded.build_args["merged"] and not loaded.training


def test_upscale_errors(tmp_path, capsys):
    model = _nearest_model(tmp_path / "m.pt", 2, 1)
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "nope.png"), str(tmp_path / "o.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["upscale", "--model", str(tmp_path), str(tmp_path / "x.png"), str(tmp_path / "o.png")]) == 2
    assert "is a folder without deployed.pt or final.pt" in capsys.readouterr().err
    write_image(tmp_path / "x.png", np.zeros((8, 8, 3), np.uint8))
    assert cli.main(["upscale", "--model", str(model), str(tmp_path / "x.png"), str(tmp_path / "x.png")]) == 2
    assert "overwrite its input" in capsys.readouterr().err
