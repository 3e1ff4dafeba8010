"""BN layers of a model, switching them to image statistics, and running a model on one image."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from repbench.device import model_device
from repbench.errors import RepbenchError
from repbench.scoring.imresize import imresize
from repbench.scoring.metrics import LUMA_WEIGHTS, rgb_to_ycbcr, round_u8, to_y, ycbcr_to_rgb

BN_MODELS_HINT = (
    "the BN diagnostics need a model with BatchNorm layers, e.g. `edsr` trained with options.bn=true, "
    "`repvgg` or `repsr` (use a run's final.pt: deployed.pt has BN folded into the convolutions)"
)
ARTIFACT_SCORE_DEFINITION = (
    "artifact_score = PSNR(Y) with population statistics (eval mode) - PSNR(Y) with the image's own "
    "statistics (every BN normalises with the per-channel mean/variance of this one image's features); "
    "dB, border = scale; negative means the population statistics cost quality (BN artifacts). "
    "artifact_db = max(0, -artifact_score): the quality lost to the population statistics"
)


# ----------------------------------------------------------------------------- BN layers


def bn_layers(model: Any) -> list[tuple[str, Any]]:
    """(qualified name, module) of every BatchNorm layer, in forward-definition order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def require_bn(model: Any) -> list[tuple[str, Any]]:
    """The BN layers with population statistics, or a RepbenchError saying which models qualify."""
    layers = bn_layers(model)
    if not layers:
        args = getattr(model, "build_args", None) or {}
        what = f"{args.get('method')} {args.get('size')}" if args else type(model).__name__
        merged = " (it is a merged/deployed network)" if args.get("merged") else ""
        raise RepbenchError(f"the model ({what}{merged}) has no BatchNorm layers; {BN_MODELS_HINT}")
    missing = [name for name, bn in layers if bn.running_mean is None or bn.running_var is None]
    if missing:
        raise RepbenchError(
            f"BatchNorm layer(s) {', '.join(missing)} keep no running statistics (track_running_stats=False): "
            "there are no population statistics to compare with"
        )
    return layers


@contextlib.contextmanager
def image_statistics(model: Any) -> Iterator[Any]:
    """Within the block, every BN normalises with the statistics of its current input.

    How: the running_mean / running_var buffers are detached (set to None) and the BN
    put in eval mode. PyTorch's BN then normalises with the batch statistics and has no
    buffer to update, so the population statistics cannot change, even under a frozen-BN
    hook that forces eval mode on every forward. The very same tensors (and mode) are
    put back on exit. With one image per forward, "the batch" is that image.
    """
    layers = require_bn(model)
    saved = [(bn, bn.training, bn.running_mean, bn.running_var) for _, bn in layers]
    try:
        for bn, _, _, _ in saved:
            bn.training = False  # no num_batches_tracked increment
            bn.running_mean = None
            bn.running_var = None
        yield model
    finally:
        for bn, training, mean, var in saved:
            bn.running_mean = mean
            bn.running_var = var
            bn.training = training


# ----------------------------------------------------------------------------- model I/O


def model_colors(model: Any) -> int:
    colors = (getattr(model, "build_args", None) or {}).get("colors")
    if colors not in (1, 3):
        raise RepbenchError("the model has no build_args with colors 1 or 3; load it with methods.load")
    return int(colors)


def model_input(lr: np.ndarray, colors: int) -> np.ndarray:
    """uint8 HxWxC -> float32 CxHxW in [0, 1], with the evaluation's conventions."""
    lr = np.asarray(lr)
    if lr.ndim == 2:
        lr = lr[:, :, None]
    if colors == 1:
        return (to_y(lr) / 255.0)[None].astype(np.float32)
    rgb = np.repeat(lr, 3, axis=2) if lr.shape[2] == 1 else lr
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / 255.0


def as_batch(model: Any, lr: Any) -> Any:
    """An NCHW float tensor on the model's device from a uint8 image or a tensor."""
    if isinstance(lr, torch.Tensor):
        x = lr if lr.dim() == 4 else lr[None]
    else:
        x = torch.from_numpy(model_input(lr, model_colors(model)))[None]
    return x.to(model_device(model), torch.float32)


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Eval mode within the block; every module's own flag is restored afterwards (a plain
    model.train(flag) would not restore mixed states, e.g. BN frozen inside a training model)."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        yield model.eval()
    finally:
        for m, flag in flags:
            m.training = flag


def predict(model: Any, lr: np.ndarray) -> np.ndarray:
    """The model's output for one uint8 LR image: float64 CxH'xW' on 0..255, unrounded.

    Runs in eval mode (population statistics) unless called inside `image_statistics`.
    """
    with eval_mode(model), torch.inference_mode():
        out = model(as_batch(model, lr))
    return out[0].detach().to("cpu", torch.float64).numpy() * 255.0


def sr_images(out: np.ndarray, lr: np.ndarray, hr_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 HxWxC image to look at, float64 Y plane that is scored) from a model output.

    Mirrors repbench.inference.evaluate: a Y model's rounded Y is scored and, for RGB images, shown
    with bicubic-upscaled CbCr; an RGB model's rounded RGB is scored on its Y (a gray
    image on its BT.601 luma).
    """
    gray = lr.shape[2] == 1
    if out.shape[0] == 1:
        y = round_u8(out[0]).astype(np.float64)
        if gray:
            return y.astype(np.uint8)[:, :, None], y
        cbcr = imresize(rgb_to_ycbcr(lr)[:, :, 1:], output_shape=hr_shape)
        return round_u8(ycbcr_to_rgb(np.dstack([y, cbcr]))), y
    sr = round_u8(out.transpose(1, 2, 0))
    if gray:
        sr = round_u8(sr.astype(np.float64) @ LUMA_WEIGHTS)[:, :, None]
    return sr, to_y(sr)
