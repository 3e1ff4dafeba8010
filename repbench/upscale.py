"""Upscale images with a trained model: what a user does with a run's deployed.pt.

- RGB models work on RGB. Y models (colors=1) work on the BT.601 Y channel; Cb and Cr
  are upscaled with MATLAB bicubic (the usual practice of the Y-channel SR papers).
- A grayscale image stays grayscale: a Y model sees its intensity (as the evaluation
  does), an RGB model sees it replicated and its output is averaged back to one channel.
- Large images are processed in tiles. Each tile is cut with `overlap` extra LR
  pixels on every side and only its centre is kept; when the overlap covers the
  network's receptive radius, the result equals whole-image inference (no seams).
- `bicubic` and `nearest` (with a scale) upscale the same way `repbench eval` scores them:
  the floors to look at beside a model's output.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

import methods
from repbench.device import model_device, resolve_device
from repbench.errors import RepbenchError
from repbench.evaluate import floor_upscale
from repbench.images import list_images, read_image, write_image
from repbench.imresize import imresize
from repbench.metrics import rgb_to_ycbcr, ycbcr_to_rgb
from repbench.modelfile import DEPLOYED_FIRST, is_floor, model_path

DEFAULT_TILE = 512  # LR pixels per tile side; 0 = whole image at once


def load_model(spec: str | os.PathLike) -> Any:
    """'bicubic' or 'nearest' as they are; else the model a file or a run folder names (its deployed.pt,
    else final.pt; see repbench.modelfile), merged when possible and in eval mode."""
    if is_floor(spec):
        return str(spec)
    path = model_path(spec, DEPLOYED_FIRST, floors=True)
    try:
        model = methods.load(path)
    except (FileNotFoundError, ValueError) as err:
        raise RepbenchError(str(err)) from err
    if not model.build_args.get("merged") and methods.is_mergeable(model.build_args["method"]):
        model = methods.merge(model)
    return model.eval()


def receptive_radius(model: Any) -> int:
    """An upper bound of the receptive radius in LR pixels: the sum of all conv half-widths.

    Exact for a plain conv stack; an overestimate for branched or upsampling nets, which is safe.
    """
    radius = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            radius += max(m.dilation[0] * (m.kernel_size[0] - 1), m.dilation[1] * (m.kernel_size[1] - 1)) // 2
    return radius


def run_tiled(model: Any, x: Any, scale: int, tile: int = DEFAULT_TILE, overlap: int | None = None) -> Any:
    """model(x) for an N x C x H x W tensor, tile by tile when H or W exceeds `tile`."""
    n, _, h, w = x.shape
    with torch.no_grad():
        if tile <= 0 or (h <= tile and w <= tile):
            return model(x)
        pad = receptive_radius(model) if overlap is None else overlap
        out = None
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
                ey0, ex0, ey1, ex1 = max(0, y0 - pad), max(0, x0 - pad), min(h, y1 + pad), min(w, x1 + pad)
                sr = model(x[:, :, ey0:ey1, ex0:ex1])
                if out is None:
                    out = sr.new_empty(n, sr.shape[1], h * scale, w * scale)
                oy, ox = (y0 - ey0) * scale, (x0 - ex0) * scale
                out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = sr[
                    :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
                ]
        return out


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def upscale_image(model: Any, img: np.ndarray, tile: int = DEFAULT_TILE, overlap: int | None = None,
                  device: Any = None, scale: int | None = None) -> np.ndarray:
    """uint8 HxWxC (C = 1 or 3) -> uint8 sHxsWxC. A floor ('bicubic', 'nearest') needs `scale`."""
    if img.ndim == 2:
        img = img[:, :, None]
    if is_floor(model):
        if not scale:
            raise RepbenchError(f"--model {model} needs --scale (2, 3 or 4)")
        return floor_upscale(model, img, scale)
    args = model.build_args
    scale, colors = args["scale"], args["colors"]
    device = device or model_device(model)
    gray = img.shape[2] == 1

    def sr(planes: np.ndarray) -> np.ndarray:  # float HxWxC on 0..255 -> float sHxsWxC on 0..255
        x = torch.from_numpy(np.ascontiguousarray(planes.transpose(2, 0, 1)[None] / 255.0)).float().to(device)
        y = run_tiled(model, x, scale, tile, overlap)
        return y[0].clamp(0, 1).permute(1, 2, 0).cpu().double().numpy() * 255.0

    if colors == 3:
        rgb = np.repeat(img, 3, axis=2) if gray else img
        out = sr(rgb.astype(np.float64))
        return _to_uint8(out.mean(axis=2, keepdims=True) if gray else out)
    if gray:
        return _to_uint8(sr(img.astype(np.float64)))
    ycc = rgb_to_ycbcr(img)
    y = sr(ycc[:, :, :1])
    h, w = y.shape[:2]
    cbcr = imresize(ycc[:, :, 1:], output_shape=(h, w))  # float in, float out: MATLAB bicubic, no rounding
    return _to_uint8(ycbcr_to_rgb(np.concatenate([y, cbcr], axis=2)))


def upscale_files(model_spec: str | os.PathLike, src: str | os.PathLike, dst: str | os.PathLike,
                  tile: int = DEFAULT_TILE, overlap: int | None = None, device: str = "auto",
                  log: Callable[[str], None] = print, scale: int | None = None) -> list[Path]:
    """IN.png OUT.png, or IN_DIR OUT_DIR (every image, written as <stem>.png).

    `scale` is required for a floor ('bicubic', 'nearest'); for a model it must be the model's, if given."""
    if tile < 0:
        raise RepbenchError(f"--tile must be >= 0 (input pixels per tile side; 0 = no tiling), got {tile}")
    if overlap is not None and overlap < 0:
        raise RepbenchError(f"--overlap must be >= 0 (extra input pixels around each tile), got {overlap}; "
                            "leave it out to use the network's receptive radius")
    model = _ready_model(model_spec, device, scale)
    src, dst = Path(src), Path(dst)
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise RepbenchError(f"{src} is a folder, so the output {dst} must be a folder too")
        jobs = [(p, dst / f"{p.stem}.png") for p in list_images(src)]
    elif src.is_file():
        jobs = [(src, dst / f"{src.stem}.png" if dst.is_dir() else dst)]
    else:
        raise RepbenchError(f"input {src} does not exist")
    for inp, out in jobs:  # every output path checked before any work is done
        if out.resolve() == inp.resolve():
            raise RepbenchError(f"output {out} would overwrite its input; choose another output path")
        _check_output_path(out)
    written = []
    for inp, out in jobs:
        result = upscale_image(model, read_image(inp), tile=tile, overlap=overlap, scale=scale)
        try:
            written.append(write_image(out, result))
        except OSError as err:
            raise RepbenchError(f"cannot write {out}: {err.strerror or err}; choose another output path") from err
        log(f"{inp} -> {out} ({result.shape[1]}x{result.shape[0]})")
    return written


def _ready_model(spec: str | os.PathLike, device: str, scale: int | None) -> Any:
    """The loaded model on its device (a floor as its name), its scale checked against `scale`."""
    model = load_model(spec)
    if is_floor(model):
        if scale not in (2, 3, 4):
            raise RepbenchError(f"--model {model} needs --scale 2, 3 or 4 (a fixed upsampler has no scale of its own)")
        return model
    own = int(model.build_args["scale"])
    if scale is not None and scale != own:
        raise RepbenchError(f"the model upscales x{own} but --scale is {scale}; use --scale {own} or leave it out")
    return model.to(resolve_device(device))


def _check_output_path(out: Path) -> None:
    """Refuse an output below an existing file (e.g. out.png/x.png), which no mkdir can create."""
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RepbenchError(f"cannot write {out}: {parent} is a file, not a folder; choose another output path")
            return
