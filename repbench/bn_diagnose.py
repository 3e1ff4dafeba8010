"""BN artifact diagnostics: the paper's section 4 (Figures 3, 4, 5) as measurements.

The paper's claim: BN artifacts in SR come from a mismatch between the statistics of
an image (or a patch of it) and the population statistics BN uses at test time. The
tools here make it measurable on any model with BatchNorm layers:

* `image_statistics(model)`: a context manager under which every BN normalises with the
  statistics of the current input (one image: its own per-channel mean and variance)
  instead of its running (population) statistics. Nothing is written to the model.
* `artifact_scores(model, pairs, scale)`: per image, Y-PSNR with population statistics
  minus Y-PSNR with the image's own statistics (Figure 3 as a number). Negative = the
  population statistics cost quality, i.e. BN artifacts; `artifact_db` is that loss
  (0 when the population statistics are the better ones, as for a frozen-BN model).
* `bn_stat_profile(model, lr)`: per BN layer, the L1 norms of the image's per-channel
  feature variance and mean next to the population running_var / running_mean (Figure 5).
* `paste_experiment(...)`: paste an LR patch into another image and measure whether the
  artifact follows the patch (Figure 4).
* `diagnose_image(...)`: all of the above for one image, with figures and JSON.

Images are uint8 HxWxC arrays (C = 1 or 3), as `repbench.data.Pair` holds them; model
inputs and PSNRs follow `repbench.evaluate` (Y models see BT.601 Y / 255, RGB models
RGB / 255, gray images are repeated to RGB for RGB models).
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from repbench.device import model_device
from repbench.errors import RepbenchError

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
    from torch import nn

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
    from repbench.metrics import to_y

    lr = np.asarray(lr)
    if lr.ndim == 2:
        lr = lr[:, :, None]
    if colors == 1:
        return (to_y(lr) / 255.0)[None].astype(np.float32)
    rgb = np.repeat(lr, 3, axis=2) if lr.shape[2] == 1 else lr
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / 255.0


def _as_batch(model: Any, lr: Any) -> Any:
    """An NCHW float tensor on the model's device from a uint8 image or a tensor."""
    import torch

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
    import torch

    with eval_mode(model), torch.inference_mode():
        out = model(_as_batch(model, lr))
    return out[0].detach().to("cpu", torch.float64).numpy() * 255.0


def _round_u8(x: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


_LUMA = np.array([65.481, 128.553, 24.966]) / 219.0  # BT.601 luma weights (0.299, 0.587, 0.114)


def sr_images(out: np.ndarray, lr: np.ndarray, hr_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 HxWxC image to look at, float64 Y plane that is scored) from a model output.

    Mirrors repbench.evaluate: a Y model's rounded Y is scored and, for RGB images, shown
    with bicubic-upscaled CbCr; an RGB model's rounded RGB is scored on its Y (a gray
    image on its BT.601 luma).
    """
    from repbench.imresize import imresize
    from repbench.metrics import rgb_to_ycbcr, to_y, ycbcr_to_rgb

    gray = lr.shape[2] == 1
    if out.shape[0] == 1:
        y = _round_u8(out[0]).astype(np.float64)
        if gray:
            return y.astype(np.uint8)[:, :, None], y
        cbcr = imresize(rgb_to_ycbcr(lr)[:, :, 1:], output_shape=hr_shape)
        return _round_u8(ycbcr_to_rgb(np.dstack([y, cbcr]))), y
    sr = _round_u8(out.transpose(1, 2, 0))
    if gray:
        sr = _round_u8(sr.astype(np.float64) @ _LUMA)[:, :, None]
    return sr, to_y(sr)


# ----------------------------------------------------------------------------- Figure 5: statistics


def capture_bn_stats(model: Any, lr: Any, *, normalize_with: str = "population") -> list[dict[str, Any]]:
    """Per BN layer, the per-channel mean and variance of its input for one image.

    Forward hooks on every BN record the statistics of the tensor that enters it.
    normalize_with: "population" (eval mode, what the deployed network computes, so a
    deviation in an early layer propagates to later ones as in the paper's Figure 5) or
    "image" (every BN uses the image's own statistics). The variance is unbiased (n - 1),
    the convention of BN's running_var. Returns name, channels, and float64 numpy vectors
    mean, var, running_mean, running_var.
    """
    import torch

    if normalize_with not in ("population", "image"):
        raise RepbenchError(f"normalize_with must be 'population' or 'image', got {normalize_with!r}")
    layers = require_bn(model)
    found: dict[str, dict[str, Any]] = {}
    population = {
        name: (bn.running_mean.detach().to("cpu", torch.float64).numpy().copy(),
               bn.running_var.detach().to("cpu", torch.float64).numpy().copy())
        for name, bn in layers
    }

    def hook_for(name: str) -> Any:
        def hook(_module: Any, inputs: tuple[Any, ...], _output: Any) -> None:
            x = inputs[0].detach().to(torch.float64)
            dims = [d for d in range(x.dim()) if d != 1]  # every axis but the channels
            found[name] = {
                "mean": x.mean(dim=dims).cpu().numpy(),
                "var": x.var(dim=dims, unbiased=True).cpu().numpy(),
            }

        return hook

    handles = [bn.register_forward_hook(hook_for(name)) for name, bn in layers]
    try:
        with image_statistics(model) if normalize_with == "image" else contextlib.nullcontext():
            predict(model, lr)
    finally:
        for handle in handles:
            handle.remove()
    stats = []
    for name, bn in layers:
        if name not in found:  # a BN on a branch this forward did not take
            continue
        mean_pop, var_pop = population[name]
        stats.append({
            "name": name,
            "channels": int(bn.num_features),
            "mean": found[name]["mean"],
            "var": found[name]["var"],
            "running_mean": mean_pop,
            "running_var": var_pop,
        })
    return stats


def bn_stat_profile(model: Any, lr_image: Any, *, normalize_with: str = "population") -> list[dict[str, Any]]:
    """Figure 5's numbers: per BN layer (in order), L1 norms over channels of the image's
    feature variance and mean and of the population running_var / running_mean.

    Each entry: index, name, channels, l1_var_image, l1_var_population, l1_mean_image,
    l1_mean_population, var_ratio (image / population).
    """
    profile = []
    for i, s in enumerate(capture_bn_stats(model, lr_image, normalize_with=normalize_with)):
        l1_var_img, l1_var_pop = float(np.abs(s["var"]).sum()), float(np.abs(s["running_var"]).sum())
        profile.append({
            "index": i,
            "name": s["name"],
            "channels": s["channels"],
            "l1_var_image": l1_var_img,
            "l1_var_population": l1_var_pop,
            "l1_mean_image": float(np.abs(s["mean"]).sum()),
            "l1_mean_population": float(np.abs(s["running_mean"]).sum()),
            "var_ratio": l1_var_img / l1_var_pop if l1_var_pop > 0 else None,
        })
    return profile


def plot_bn_profile(profiles: Mapping[str, Sequence[Mapping[str, Any]]], out_stem: str | os.PathLike) -> list[Path]:
    """Plot L1 norms of variance (left) and mean (right) per BN layer; writes STEM.png and STEM.svg.

    profiles: label -> bn_stat_profile(...). Image statistics are solid lines, population
    statistics dashed in the same colour (drawn once when several labels share them,
    e.g. two images through one model).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    profiles = {k: list(v) for k, v in profiles.items() if v}
    if not profiles:
        raise RepbenchError("plot_bn_profile needs at least one non-empty profile (from bn_stat_profile)")
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = (("var", "L1 norm of variance"), ("mean", "L1 norm of mean"))
    drawn_population: list[tuple[np.ndarray, np.ndarray]] = []
    for k, (label, prof) in enumerate(profiles.items()):
        color = f"C{k % 10}"
        x = np.array([p.get("index", i) for i, p in enumerate(prof)])
        pop = (np.array([p["l1_var_population"] for p in prof]), np.array([p["l1_mean_population"] for p in prof]))
        new_pop = not any(
            a.shape == pop[0].shape and np.allclose(a, pop[0]) and np.allclose(b, pop[1]) for a, b in drawn_population
        )
        for ax, (key, _) in zip(axes, panels):
            ax.plot(x, [p[f"l1_{key}_image"] for p in prof], "-o", ms=3, color=color, label=f"{label}: image")
            if new_pop:
                ax.plot(x, [p[f"l1_{key}_population"] for p in prof], "--", color=color, label=f"{label}: population")
        if new_pop:
            drawn_population.append(pop)
    for ax, (key, title) in zip(axes, panels):
        values = [p[f"l1_{key}_{w}"] for prof in profiles.values() for p in prof for w in ("image", "population")]
        if min(values) > 0 and max(values) / min(values) > 20:  # wide range: log scale, as the paper's plot
            ax.set_yscale("log")
        ax.set_xlabel("BN layer (forward order)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


# ----------------------------------------------------------------------------- Figure 3: scores


def artifact_scores(model: Any, pairs: Sequence[Any], scale: int) -> dict[str, Any]:
    """Y-PSNR/SSIM with population statistics and with each image's own statistics.

    pairs: repbench.data.Pair (name, hr, lr). Scoring is repbench.evaluate's, so the
    population numbers equal `repbench eval` on the same model. Raw numbers per image
    and their means; see ARTIFACT_SCORE_DEFINITION.
    """
    from repbench.evaluate import evaluate

    require_bn(model)
    pairs = list(pairs)
    if not pairs:
        raise RepbenchError("no images to score")
    colors = model_colors(model)
    device = str(model_device(model))
    with eval_mode(model):
        pop = evaluate(model, pairs, scale, colors=colors, device=device)
        with image_statistics(model):
            img = evaluate(model, pairs, scale, colors=colors, device=device)
    per_image = []
    for a, b in zip(pop["per_image"], img["per_image"]):
        per_image.append({
            "name": a["name"],
            "psnr_population": a["psnr_y"],
            "psnr_image_stats": b["psnr_y"],
            "artifact_score": a["psnr_y"] - b["psnr_y"],
            "artifact_db": max(0.0, b["psnr_y"] - a["psnr_y"]),
            "ssim_population": a["ssim_y"],
            "ssim_image_stats": b["ssim_y"],
        })

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in per_image]))

    return {
        "scale": scale,
        "n_images": len(per_image),
        "mean_psnr_population": mean("psnr_population"),
        "mean_psnr_image_stats": mean("psnr_image_stats"),
        "mean_artifact_score": mean("artifact_score"),
        "mean_abs_artifact_score": float(np.mean([abs(r["artifact_score"]) for r in per_image])),
        "min_artifact_score": float(min(r["artifact_score"] for r in per_image)),
        # Sign matters: a frozen-BN model is tuned to its population statistics, so its own-statistics
        # output is the worse one (a large positive score). Only a negative score is a BN artifact.
        "mean_artifact_db": mean("artifact_db"),
        "per_image": per_image,
        "definition": ARTIFACT_SCORE_DEFINITION,
    }


# ----------------------------------------------------------------------------- Figure 4: crop and paste


def _luma(img: np.ndarray) -> np.ndarray:
    from repbench.metrics import to_y

    return to_y(img)


def flattest_patch(lr: np.ndarray, size: int | None = None) -> tuple[int, int, int, int]:
    """(x, y, w, h) in LR pixels of the square window with the lowest Y variance.

    BN artifacts show up in smooth regions (the paper's first observation), so the
    flattest window is the natural default patch. The window stays a quarter of its
    side away from the image border, where zero padding would dominate the features.
    """
    y = _luma(lr)
    h, w = y.shape
    k = int(size) if size else max(4, min(32, h // 4, w // 4))
    if k < 1 or k > min(h, w):
        raise RepbenchError(f"a {k}x{k} patch does not fit into the {w}x{h} LR image; pass --patch x,y,w,h")
    pad = k // 4 if min(h, w) >= k + 2 * (k // 4) else 0
    s1 = np.pad(np.cumsum(np.cumsum(y, 0), 1), ((1, 0), (1, 0)))
    s2 = np.pad(np.cumsum(np.cumsum(y * y, 0), 1), ((1, 0), (1, 0)))

    def box(s: np.ndarray) -> np.ndarray:
        return s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]

    n = float(k * k)
    var = box(s2) / n - (box(s1) / n) ** 2  # var[y0, x0] of the window with top-left (y0, x0)
    sub = var[pad : var.shape[0] - pad, pad : var.shape[1] - pad]
    y0, x0 = np.unravel_index(int(np.argmin(sub)), sub.shape)
    return int(x0) + pad, int(y0) + pad, k, k


def parse_patch(text: str) -> tuple[int, int, int, int]:
    parts = [p.strip() for p in str(text).split(",")]
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise RepbenchError(f"--patch expects x,y,w,h in LR pixels (four integers), e.g. 40,60,32,32; got {text!r}") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise RepbenchError(f"--patch {text!r}: x and y must be >= 0, w and h >= 1")
    return x, y, w, h


def _match_channels(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if a.shape[2] == b.shape[2]:
        return a, b
    return (np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a), (np.repeat(b, 3, axis=2) if b.shape[2] == 1 else b)


def _outputs(model: Any, lr: np.ndarray, hr_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """SR outputs with population and image statistics: display images and Y planes."""
    pop_img, pop_y = sr_images(predict(model, lr), lr, hr_shape)
    with image_statistics(model):
        own_img, own_y = sr_images(predict(model, lr), lr, hr_shape)
    return {"pop": pop_img, "pop_y": pop_y, "own": own_img, "own_y": own_y}


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def paste_experiment(
    model: Any,
    source: Any,
    target: Any,
    scale: int,
    patch: tuple[int, int, int, int] | None = None,
    out_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The paper's Figure 4: paste an LR patch of `source` into the centre of `target`'s LR.

    source, target: Pairs (name, hr, lr). patch: (x, y, w, h) in source LR pixels
    (default: `flattest_patch`). The HR patch is pasted at the same place of the target HR.

    The artifact map of an image is |Y(population-stats output) - Y(healthy reference)|.
    For the source and the target alone the reference is the output with their own
    statistics. For the merged image it is the same references pasted the same way (the
    source's own-stats output inside the patch, the target's outside): the merged image's
    own statistics would be the target's and cannot heal the patch. If the artifact follows
    the patch, it is large inside the pasted region (about as large as on the source
    patch, with the same pattern) and small outside. A band of min(w, h) / 8 LR pixels
    around the boundary is left out of both means, because the network mixes inside and
    outside there. Also recorded: error vs the pasted HR inside and outside.
    """
    src_lr, dst_lr = _match_channels(np.asarray(source.lr), np.asarray(target.lr))
    src_hr, dst_hr = _match_channels(np.asarray(source.hr), np.asarray(target.hr))
    if patch is None:
        patch, patch_source = flattest_patch(src_lr), "flattest window (lowest Y variance) of the source"
    else:
        patch_source = "given"
    x, y, w, h = (int(v) for v in patch)
    sh, sw = src_lr.shape[:2]
    if x + w > sw or y + h > sh:
        raise RepbenchError(f"patch x={x},y={y},w={w},h={h} does not fit into {source.name}'s {sw}x{sh} LR image")
    th, tw = dst_lr.shape[:2]
    if w > tw or h > th:
        raise RepbenchError(f"a {w}x{h} patch does not fit into {target.name}'s {tw}x{th} LR image; use a smaller --patch")
    dx, dy = (tw - w) // 2, (th - h) // 2
    s = scale

    merged_lr = dst_lr.copy()
    merged_lr[dy : dy + h, dx : dx + w] = src_lr[y : y + h, x : x + w]
    merged_hr = dst_hr.copy()
    merged_hr[dy * s : (dy + h) * s, dx * s : (dx + w) * s] = src_hr[y * s : (y + h) * s, x * s : (x + w) * s]

    src = _outputs(model, src_lr, src_hr.shape[:2])
    dst = _outputs(model, dst_lr, dst_hr.shape[:2])
    pop_m, pop_m_y = sr_images(predict(model, merged_lr), merged_lr, merged_hr.shape[:2])
    ref_m_y = dst["own_y"].copy()
    box_src = (slice(y * s, (y + h) * s), slice(x * s, (x + w) * s))
    box_dst = (slice(dy * s, (dy + h) * s), slice(dx * s, (dx + w) * s))
    ref_m_y[box_dst] = src["own_y"][box_src]

    art_src = np.abs(src["pop_y"] - src["own_y"])
    art_dst = np.abs(dst["pop_y"] - dst["own_y"])
    art_m = np.abs(pop_m_y - ref_m_y)
    err_m = np.abs(pop_m_y - _luma(merged_hr))

    margin = max(1, min(w, h) // 8) * s
    H, W = art_m.shape
    yy, xx = np.mgrid[0:H, 0:W]
    y0, y1, x0, x1 = dy * s, (dy + h) * s, dx * s, (dx + w) * s
    inside = (yy >= y0 + margin) & (yy < y1 - margin) & (xx >= x0 + margin) & (xx < x1 - margin)
    near = (yy >= y0 - margin) & (yy < y1 + margin) & (xx >= x0 - margin) & (xx < x1 + margin)
    shaved = (yy >= s) & (yy < H - s) & (xx >= s) & (xx < W - s)  # the scoring border, as in PSNR
    outside = ~near & shaved
    src_inside = art_src[box_src][margin : h * s - margin, margin : w * s - margin]
    m_inside = art_m[box_dst][margin : h * s - margin, margin : w * s - margin]

    corr = None
    if src_inside.size > 1 and src_inside.std() > 0 and m_inside.std() > 0:
        corr = float(np.corrcoef(src_inside.ravel(), m_inside.ravel())[0, 1])
    inside_mean, outside_mean = _mean_or_none(art_m[inside]), _mean_or_none(art_m[outside])
    result: dict[str, Any] = {
        "source": source.name,
        "target": target.name,
        "scale": s,
        "patch_lr": {"x": x, "y": y, "w": w, "h": h},
        "patch_source": patch_source,
        "pasted_at_lr": {"x": dx, "y": dy, "w": w, "h": h},
        "margin_hr_pixels": margin,
        "artifact_inside": inside_mean,
        "artifact_outside": outside_mean,
        "artifact_inside_over_outside": (inside_mean / outside_mean) if inside_mean is not None and outside_mean else None,
        "artifact_source_patch": _mean_or_none(src_inside),
        "artifact_target_region_before": _mean_or_none(
            art_dst[box_dst][margin : h * s - margin, margin : w * s - margin]
        ),
        "artifact_pattern_correlation": corr,
        "error_vs_hr_inside": _mean_or_none(err_m[inside]),
        "error_vs_hr_outside": _mean_or_none(err_m[outside]),
        "artifact_definition": "mean |Y(population-stats output) - Y(own-stats reference)| on 0..255, see paste_experiment",
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        from repbench.images import write_image
        from repbench.imresize import imresize

        write_image(out_dir / "fig4_merged_lr.png", merged_lr)
        write_image(out_dir / "fig4_merged_sr_population.png", pop_m)
        path = out_dir / "fig4_crop_paste.png"
        _figure(
            path,
            [
                (imresize(merged_lr, output_shape=merged_hr.shape[:2]), f"{target.name} + {source.name} patch (bicubic)"),
                (pop_m, "population statistics"),
                (art_src, f"artifact map, {source.name}"),
                (art_m, f"artifact map, merged: in {inside_mean:.2f} / out {outside_mean:.2f}"
                 if inside_mean is not None and outside_mean is not None else "artifact map, merged"),
            ],
            boxes={0: (x0, y0, x1, y1), 1: (x0, y0, x1, y1), 2: (x * s, y * s, (x + w) * s, (y + h) * s), 3: (x0, y0, x1, y1)},
            heat_vmax=_heat_scale(art_src, art_m),
        )
        result["files"] = {"figure": str(path), "merged_lr": str(out_dir / "fig4_merged_lr.png"),
                           "merged_sr_population": str(out_dir / "fig4_merged_sr_population.png")}
    return result


# ----------------------------------------------------------------------------- figures


def _heat_scale(*maps: np.ndarray) -> float:
    # A few border pixels can be far off; the 99.5th percentile keeps the patterns visible.
    return float(max(max(np.percentile(m, 99.5) for m in maps), 1e-6))


def _figure(
    path: Path,
    panels: list[tuple[np.ndarray, str]],
    boxes: Mapping[int, tuple[int, int, int, int]] | None = None,
    heat_vmax: float | None = None,
) -> Path:
    """Panels side by side: uint8 images as they are, float 2-D maps as heat maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    h, w = panels[0][0].shape[:2]
    side = 4.0
    fig, axes = plt.subplots(1, len(panels), figsize=(side * len(panels), side * h / w + 0.5), squeeze=False)
    for i, (ax, (img, title)) in enumerate(zip(axes[0], panels)):
        if img.dtype == np.uint8:
            ax.imshow(img[:, :, 0] if img.shape[2] == 1 else img, cmap="gray" if img.shape[2] == 1 else None,
                      vmin=0, vmax=255, interpolation="nearest")
        else:
            im = ax.imshow(img, cmap="inferno", vmin=0, vmax=heat_vmax, interpolation="nearest")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        if boxes and i in boxes:
            bx0, by0, bx1, by1 = boxes[i]
            ax.add_patch(Rectangle((bx0 - 0.5, by0 - 0.5), bx1 - bx0, by1 - by0, fill=False, ec="cyan", lw=1.2))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- one image, everything


def diagnose_image(
    model: Any,
    pair: Any,
    scale: int,
    out_dir: str | os.PathLike,
    *,
    patch: tuple[int, int, int, int] | None = None,
    paste_into: Any | None = None,
) -> dict[str, Any]:
    """Figures 3, 4 and 5 for one image (a Pair), written into out_dir; returns the raw numbers.

    Files: fig3_bn_artifacts.png (bicubic | population stats | image stats | difference),
    sr_population.png, sr_image_stats.png, bicubic.png, fig5_bn_stats.png/.svg and, with
    `paste_into` (a Pair), fig4_crop_paste.png.
    """
    from repbench.images import write_image
    from repbench.imresize import imresize

    require_bn(model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hr, lr = np.asarray(pair.hr), np.asarray(pair.lr)
    scores = artifact_scores(model, [pair], scale)["per_image"][0]
    outs = _outputs(model, lr, hr.shape[:2])
    bicubic = imresize(lr, output_shape=hr.shape[:2])
    files = {
        "sr_population": write_image(out_dir / "sr_population.png", outs["pop"]),
        "sr_image_stats": write_image(out_dir / "sr_image_stats.png", outs["own"]),
        "bicubic": write_image(out_dir / "bicubic.png", bicubic),
    }
    diff = np.abs(outs["pop_y"] - outs["own_y"])
    files["fig3"] = _figure(
        out_dir / "fig3_bn_artifacts.png",
        [
            (bicubic, "bicubic"),
            (outs["pop"], f"population statistics: {scores['psnr_population']:.2f} dB"),
            (outs["own"], f"image statistics: {scores['psnr_image_stats']:.2f} dB"),
            (diff, f"|population - image| (Y), mean {diff.mean():.2f}"),
        ],
        heat_vmax=_heat_scale(diff),
    )
    profiles = {pair.name: bn_stat_profile(model, lr)}
    result: dict[str, Any] = {
        "image": pair.name,
        "scale": scale,
        "scores": scores,
        "mean_abs_difference_y": float(diff.mean()),
        "bn_profile": {pair.name: profiles[pair.name]},
    }
    if paste_into is not None:
        result["paste"] = paste_experiment(model, pair, paste_into, scale, patch=patch, out_dir=out_dir)
        profiles[paste_into.name] = result["bn_profile"][paste_into.name] = bn_stat_profile(model, paste_into.lr)
        files["fig4"] = Path(result["paste"]["files"]["figure"])
    png, svg = plot_bn_profile(profiles, out_dir / "fig5_bn_stats")
    files["fig5_png"], files["fig5_svg"] = png, svg
    result["files"] = {k: str(v) for k, v in files.items()}
    return result


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
