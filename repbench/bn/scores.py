"""Figure 3 as a number: the artifact score of each image (population minus image statistics)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from repbench.device import model_device
from repbench.errors import RepbenchError
from repbench.bn.layers import ARTIFACT_SCORE_DEFINITION, eval_mode, image_statistics, model_colors, require_bn
from repbench.inference.evaluate import evaluate

# ----------------------------------------------------------------------------- Figure 3: scores


def artifact_scores(model: Any, pairs: Sequence[Any], scale: int) -> dict[str, Any]:
    """Y-PSNR/SSIM with population statistics and with each image's own statistics.

    pairs: repbench.data.Pair (name, hr, lr). Scoring is repbench.inference.evaluate's, so the
    population numbers equal `repbench eval` on the same model. Raw numbers per image
    and their means; see ARTIFACT_SCORE_DEFINITION.
    """
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
