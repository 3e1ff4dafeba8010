"""Side-by-side figure panels of the BN diagnostics: images as they are, maps as heat maps."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np


# ----------------------------------------------------------------------------- figures


def heat_scale(*maps: np.ndarray) -> float:
    # A few border pixels can be far off; the 99.5th percentile keeps the patterns visible.
    return float(max(max(np.percentile(m, 99.5) for m in maps), 1e-6))


def figure_panels(
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
