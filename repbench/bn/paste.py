"""Figure 4: paste a flat LR patch into another image and see whether its artifact follows it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repbench.errors import RepbenchError
from repbench.bn.layers import image_statistics, predict, sr_images
from repbench.bn.panels import figure_panels, heat_scale
from repbench.scoring.images import write_image
from repbench.scoring.imresize import imresize
from repbench.scoring.metrics import to_y

# ----------------------------------------------------------------------------- Figure 4: crop and paste


def _luma(img: np.ndarray) -> np.ndarray:
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


def sr_outputs(model: Any, lr: np.ndarray, hr_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """SR outputs with population and image statistics: display images and Y planes."""
    pop_img, pop_y = sr_images(predict(model, lr), lr, hr_shape)
    with image_statistics(model):
        own_img, own_y = sr_images(predict(model, lr), lr, hr_shape)
    return {"pop": pop_img, "pop_y": pop_y, "own": own_img, "own_y": own_y}


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


@dataclass(frozen=True)
class Paste:
    """Where a patch comes from and where it lands, in LR pixels, and the merged images."""

    x: int
    y: int
    w: int
    h: int
    dx: int
    dy: int
    scale: int
    merged_lr: np.ndarray
    merged_hr: np.ndarray

    def box_src(self) -> tuple[slice, slice]:
        s = self.scale
        return slice(self.y * s, (self.y + self.h) * s), slice(self.x * s, (self.x + self.w) * s)

    def box_dst(self) -> tuple[slice, slice]:
        s = self.scale
        return slice(self.dy * s, (self.dy + self.h) * s), slice(self.dx * s, (self.dx + self.w) * s)

    def hr_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the pasted region in the merged HR image."""
        s = self.scale
        return self.dx * s, self.dy * s, (self.dx + self.w) * s, (self.dy + self.h) * s


def _paste(source: Any, target: Any, src: tuple[np.ndarray, np.ndarray], dst: tuple[np.ndarray, np.ndarray],
           patch: tuple[int, int, int, int], scale: int) -> Paste:
    """Paste the LR patch (and the matching HR patch) into the centre of the target."""
    (src_lr, src_hr), (dst_lr, dst_hr) = src, dst
    x, y, w, h = (int(v) for v in patch)
    sh, sw = src_lr.shape[:2]
    if x + w > sw or y + h > sh:
        raise RepbenchError(f"patch x={x},y={y},w={w},h={h} does not fit into {source.name}'s {sw}x{sh} LR image")
    th, tw = dst_lr.shape[:2]
    if w > tw or h > th:
        raise RepbenchError(f"a {w}x{h} patch does not fit into {target.name}'s {tw}x{th} LR image; use a smaller --patch")
    dx, dy, s = (tw - w) // 2, (th - h) // 2, scale
    merged_lr = dst_lr.copy()
    merged_lr[dy : dy + h, dx : dx + w] = src_lr[y : y + h, x : x + w]
    merged_hr = dst_hr.copy()
    merged_hr[dy * s : (dy + h) * s, dx * s : (dx + w) * s] = src_hr[y * s : (y + h) * s, x * s : (x + w) * s]
    return Paste(x, y, w, h, dx, dy, s, merged_lr, merged_hr)


def _regions(paste: Paste, shape: tuple[int, int], margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the pasted region less a margin, and of everything outside it plus the margin (less
    the scoring border): the network mixes inside and outside near the boundary."""
    s, (H, W) = paste.scale, shape
    x0, y0, x1, y1 = paste.hr_box()
    yy, xx = np.mgrid[0:H, 0:W]
    inside = (yy >= y0 + margin) & (yy < y1 - margin) & (xx >= x0 + margin) & (xx < x1 - margin)
    near = (yy >= y0 - margin) & (yy < y1 + margin) & (xx >= x0 - margin) & (xx < x1 + margin)
    shaved = (yy >= s) & (yy < H - s) & (xx >= s) & (xx < W - s)  # the scoring border, as in PSNR
    return inside, ~near & shaved


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
    paste = _paste(source, target, (src_lr, src_hr), (dst_lr, dst_hr), patch or flattest_patch(src_lr), scale)
    s, w, h = paste.scale, paste.w, paste.h

    src = sr_outputs(model, src_lr, src_hr.shape[:2])
    dst = sr_outputs(model, dst_lr, dst_hr.shape[:2])
    pop_m, art_src, art_m, err_m = _merged_maps(model, paste, src, dst)

    margin = max(1, min(w, h) // 8) * s
    inside, outside = _regions(paste, art_m.shape, margin)
    core = (slice(margin, h * s - margin), slice(margin, w * s - margin))
    src_inside, m_inside = art_src[paste.box_src()][core], art_m[paste.box_dst()][core]
    inside_mean, outside_mean = _mean_or_none(art_m[inside]), _mean_or_none(art_m[outside])
    result: dict[str, Any] = {
        "source": source.name,
        "target": target.name,
        "scale": s,
        "patch_lr": {"x": paste.x, "y": paste.y, "w": w, "h": h},
        "patch_source": "given" if patch is not None else "flattest window (lowest Y variance) of the source",
        "pasted_at_lr": {"x": paste.dx, "y": paste.dy, "w": w, "h": h},
        "margin_hr_pixels": margin,
        "artifact_inside": inside_mean,
        "artifact_outside": outside_mean,
        "artifact_inside_over_outside": (inside_mean / outside_mean) if inside_mean is not None and outside_mean else None,
        "artifact_source_patch": _mean_or_none(src_inside),
        "artifact_target_region_before": _mean_or_none(np.abs(dst["pop_y"] - dst["own_y"])[paste.box_dst()][core]),
        "artifact_pattern_correlation": _correlation(src_inside, m_inside),
        "error_vs_hr_inside": _mean_or_none(err_m[inside]),
        "error_vs_hr_outside": _mean_or_none(err_m[outside]),
        "artifact_definition": "mean |Y(population-stats output) - Y(own-stats reference)| on 0..255, see paste_experiment",
    }
    if out_dir is not None:
        result["files"] = _paste_figure(Path(out_dir), paste, pop_m, art_src, art_m, (source.name, target.name),
                                        (inside_mean, outside_mean))
    return result


def _merged_maps(model: Any, paste: Paste, src: dict[str, np.ndarray],
                 dst: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The merged image's population-stats output, the source's artifact map, the merged image's
    artifact map (against the pasted own-stats references) and its error against the pasted HR."""
    pop_m, pop_m_y = sr_images(predict(model, paste.merged_lr), paste.merged_lr, paste.merged_hr.shape[:2])
    ref_m_y = dst["own_y"].copy()
    ref_m_y[paste.box_dst()] = src["own_y"][paste.box_src()]
    art_src = np.abs(src["pop_y"] - src["own_y"])
    return pop_m, art_src, np.abs(pop_m_y - ref_m_y), np.abs(pop_m_y - _luma(paste.merged_hr))


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two maps; None where either is constant or has one pixel."""
    if a.size > 1 and a.std() > 0 and b.std() > 0:
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    return None


def _paste_figure(out_dir: Path, paste: Paste, pop_m: np.ndarray, art_src: np.ndarray, art_m: np.ndarray,
                  names: tuple[str, str], means: tuple[float | None, float | None]) -> dict[str, str]:
    """fig4_crop_paste.png and the merged LR and SR images; returns their paths."""
    (source, target), (inside_mean, outside_mean), s = names, means, paste.scale
    write_image(out_dir / "fig4_merged_lr.png", paste.merged_lr)
    write_image(out_dir / "fig4_merged_sr_population.png", pop_m)
    path = out_dir / "fig4_crop_paste.png"
    box = paste.hr_box()
    src_box = (paste.x * s, paste.y * s, (paste.x + paste.w) * s, (paste.y + paste.h) * s)
    figure_panels(
        path,
        [
            (imresize(paste.merged_lr, output_shape=paste.merged_hr.shape[:2]), f"{target} + {source} patch (bicubic)"),
            (pop_m, "population statistics"),
            (art_src, f"artifact map, {source}"),
            (art_m, f"artifact map, merged: in {inside_mean:.2f} / out {outside_mean:.2f}"
             if inside_mean is not None and outside_mean is not None else "artifact map, merged"),
        ],
        boxes={0: box, 1: box, 2: src_box, 3: box},
        heat_vmax=heat_scale(art_src, art_m),
    )
    return {"figure": str(path), "merged_lr": str(out_dir / "fig4_merged_lr.png"),
            "merged_sr_population": str(out_dir / "fig4_merged_sr_population.png")}
