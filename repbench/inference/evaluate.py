"""`evaluate()`: PSNR/SSIM of a model (or bicubic) on HR/LR pairs.

How a prediction is turned into the numbers (see repbench.scoring.metrics for the metrics):

* bicubic: MATLAB-bicubic upscaling of the uint8 LR (rounded after each pass).
* nearest: nearest-neighbour upscaling of the same LR (each LR pixel repeated scale x scale times);
  with bicubic, the floor any trained network must clear.
* Y models (colors = 1): the input is the LR's BT.601 Y / 255 (unrounded; the intensity
  for a grayscale image); the output Y is clipped to 0..255 and rounded, then scored
  against the HR's Y. For RGB PSNR the SR Y is joined with bicubic-upscaled CbCr of the
  LR, converted to RGB and rounded (what `repbench upscale` produces).
* RGB models (colors = 3): the input is RGB / 255 (a gray image is repeated to three
  channels); the output is clipped and rounded to uint8. For a gray image the output is
  reduced to intensity with the BT.601 luma weights (0.299, 0.587, 0.114) and scored on it.
* border shaved = the scale unless `border` is given (every metric alike; NTIRE: 4 at every scale);
  metrics in float64; results are per image and their means.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

import methods
from repbench import atomic
from repbench.data import Pair
from repbench.device import resolve_device
from repbench.errors import RepbenchError
from repbench.scoring.imresize import imresize
from repbench.inference.modelfile import DEPLOYED_FIRST, is_floor, model_path
from repbench.scoring.metrics import (
    LUMA_WEIGHTS,
    SSIM_WINDOW,
    psnr_plane,
    psnr_rgb,
    psnr_y,
    rgb_to_ycbcr,
    round_u8,
    ssim_plane,
    ssim_y,
    to_y,
    ycbcr_to_rgb,
)

CONVENTIONS = {
    "y": "BT.601, Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on 0..255, float64; gray images: intensity",
    "border": "scale pixels shaved on each side",
    "sr_rounding": "SR clipped to 0..255 and rounded before scoring",
    "ssim": "Wang et al. 2004: Gaussian 11x11, sigma 1.5, K1 0.01, K2 0.03, L 255, valid window positions",
    "lr": "MATLAB imresize(modcrop(HR, s), 1/s, 'bicubic'), symmetric border, uint8 after each pass",
}


def _check_size(pair: Pair, scale: int, border: int) -> None:
    h, w = pair.hr.shape[:2]
    need = 2 * border + SSIM_WINDOW
    if h < need or w < need:
        raise RepbenchError(
            f"image {pair.name} is {w}x{h} pixels: too small to score at x{scale} "
            f"(needs at least {need}x{need} so that SSIM fits after shaving {border} pixels)"
        )
    lh, lw = pair.lr.shape[:2]
    if (lh * scale, lw * scale) != (h, w) or pair.lr.shape[2:] != pair.hr.shape[2:]:
        raise RepbenchError(f"image {pair.name}: LR {pair.lr.shape} is not HR {pair.hr.shape} / {scale}")


def _score_rgb_or_gray(name: str, sr: np.ndarray, hr: np.ndarray, border: int) -> dict[str, Any]:
    """Both uint8 HxWxC with the same C."""
    return {
        "name": name,
        "psnr_y": psnr_y(sr, hr, border),
        "ssim_y": ssim_y(sr, hr, border),
        "psnr_rgb": psnr_rgb(sr, hr, border),
    }


def _predict(model: Any, x: np.ndarray, device: Any) -> np.ndarray:
    """Run the model on one CxHxW float image in [0, 1]; returns CxH'xW' float64 on 0..255."""
    with torch.inference_mode():
        inp = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None].to(device)
        out = model(inp)
    return out[0].detach().to("cpu", torch.float64).numpy() * 255.0


def _score_model(model: Any, colors: int, pair: Pair, scale: int, device: Any, border: int) -> dict[str, Any]:
    hr, lr = pair.hr, pair.lr
    gray = hr.shape[2] == 1
    if colors == 1:
        out = _predict(model, to_y(lr)[None] / 255.0, device)
        _check_output(pair, out, 1, scale)
        sr_y = round_u8(out[0]).astype(np.float64)
        hr_y = to_y(hr)
        scores = {"name": pair.name, "psnr_y": psnr_plane(sr_y, hr_y, border), "ssim_y": ssim_plane(sr_y, hr_y, border)}
        if gray:
            scores["psnr_rgb"] = scores["psnr_y"]
        else:
            # Chroma comes from bicubic upscaling of the LR's CbCr (float, no rounding in between).
            cbcr = imresize(rgb_to_ycbcr(lr)[:, :, 1:], output_shape=hr.shape[:2])
            sr_rgb = round_u8(ycbcr_to_rgb(np.dstack([sr_y, cbcr])))
            scores["psnr_rgb"] = psnr_rgb(sr_rgb, hr, border)
        return scores

    rgb_in = np.repeat(lr, 3, axis=2) if gray else lr
    out = _predict(model, rgb_in.transpose(2, 0, 1) / 255.0, device)
    _check_output(pair, out, 3, scale)
    sr = round_u8(out.transpose(1, 2, 0))
    if gray:
        sr = round_u8(sr.astype(np.float64) @ LUMA_WEIGHTS)[:, :, None]
    return _score_rgb_or_gray(pair.name, sr, hr, border)


def _check_output(pair: Pair, out: np.ndarray, colors: int, scale: int) -> None:
    want = (colors,) + pair.hr.shape[:2]
    if out.shape != want:
        raise RepbenchError(
            f"image {pair.name}: the model returned {out.shape}, expected {want} for x{scale}; "
            "is it a model for this scale?"
        )


def describe_model(model: Any) -> dict[str, Any]:
    if isinstance(model, str):
        return {"name": model}
    args = dict(getattr(model, "build_args", {}) or {})
    desc = {"name": f"{args.get('method', type(model).__name__)} {args.get('size', '')}".strip()}
    desc.update(args)
    desc["params"] = int(sum(p.numel() for p in model.parameters()))
    return desc


def floor_upscale(kind: str, lr: np.ndarray, scale: int) -> np.ndarray:
    """A floor's prediction, uint8 HxWxC -> uint8 sHxsWxC: each pixel repeated (nearest) or MATLAB bicubic."""
    if kind == "nearest":
        return np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    return imresize(lr, output_shape=(lr.shape[0] * scale, lr.shape[1] * scale))


def _upsample(kind: str, pair: Pair) -> np.ndarray:
    return floor_upscale(kind, pair.lr, pair.hr.shape[0] // pair.lr.shape[0])


def load_model(spec: str | os.PathLike) -> nn.Module | str:
    """'bicubic' or 'nearest' as they are, else the model a file or a run folder names (repbench.inference.modelfile)."""
    if is_floor(spec):
        return str(spec)
    path = model_path(spec, DEPLOYED_FIRST, floors=True)
    try:
        return methods.load(path)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise RepbenchError(f"cannot load model {path}: {err}") from err


def evaluate(
    model: Any,
    pairs: list[Pair],
    scale: int,
    *,
    colors: int | None = None,
    device: Any = "auto",
    dataset: str | None = None,
    progress: bool = False,
    border: int | None = None,
) -> dict[str, Any]:
    """Score `model` ("bicubic", "nearest", a model file path, or an nn.Module) on `pairs` at `scale`,
    `border` pixels shaved from every side for every metric (default: the scale).

    Returns raw numbers: means `psnr_y`, `ssim_y`, `psnr_rgb`, and `per_image`.
    """
    if not pairs:
        raise RepbenchError("no images to evaluate")
    border = scale if border is None else border
    if border < 0:
        raise RepbenchError(f"the border must be >= 0 pixels, got {border}")
    if isinstance(model, str):
        model = load_model(model)
    run_device: Any = None
    was_training = False
    if not isinstance(model, str):
        colors = _model_colors(model, colors, scale)
        run_device = resolve_device(device)
        was_training = model.training
        model.eval().to(run_device)

    start = time.perf_counter()
    per_image = []
    try:
        for pair in tqdm(pairs, desc=f"eval x{scale}", unit="img", disable=not progress):
            _check_size(pair, scale, border)
            if isinstance(model, str):
                sr = _upsample(model, pair)
                per_image.append(_score_rgb_or_gray(pair.name, sr, pair.hr, border))
            else:
                per_image.append(_score_model(model, int(colors), pair, scale, run_device, border))  # type: ignore[arg-type]
    finally:
        if was_training:
            model.train()
    seconds = time.perf_counter() - start

    return _record(model, dataset, scale, border, colors, per_image, seconds)


def _model_colors(model: Any, colors: int | None, scale: int) -> int:
    """The model's channel count (1: Y, 3: RGB), from its build_args unless given; refuse a wrong scale."""
    args = getattr(model, "build_args", {}) or {}
    colors = colors or args.get("colors")
    if colors not in (1, 3):
        raise RepbenchError("the model has no build_args; pass colors=1 (Y) or colors=3 (RGB) to evaluate()")
    if args.get("scale") not in (None, scale):
        raise RepbenchError(f"the model upscales x{args['scale']} but --scale is {scale}; evaluate it at x{args['scale']}")
    return int(colors)


def _record(model: Any, dataset: str | None, scale: int, border: int, colors: int | None,
            per_image: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in per_image]))

    return {
        "model": describe_model(model),
        "dataset": dataset,
        "scale": scale,
        "border": border,
        "colors": colors if not isinstance(model, str) else None,
        "n_images": len(per_image),
        "psnr_y": mean("psnr_y"),
        "ssim_y": mean("ssim_y"),
        "psnr_rgb": mean("psnr_rgb"),
        "per_image": per_image,
        "conventions": _conventions(border, scale),
        "seconds": seconds,
    }


def _conventions(border: int, scale: int) -> dict[str, str]:
    """CONVENTIONS as they are for the default border (the scale); the border named when --border differs."""
    return CONVENTIONS if border == scale else {**CONVENTIONS, "border": f"{border} pixels shaved on each side"}


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomic JSON write; non-finite numbers become null (strict JSON)."""
    return atomic.write_json(path, obj, strict=True)
