"""BN artifact diagnostics: the paper's section 4 (Figures 3, 4, 5) as measurements.

Modules: `layers` (BN layers, image statistics, running a model on one image), `stats` (Figure 5),
`scores` (Figure 3 as a number), `paste` (Figure 4), `panels` (figure panels), `diagnose` (one
image, one dataset, one run).

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
inputs and PSNRs follow `repbench.inference.evaluate` (Y models see BT.601 Y / 255, RGB models
RGB / 255, gray images are repeated to RGB for RGB models).
"""
from __future__ import annotations

from repbench.bn.diagnose import diagnose_image, load_bn_model
from repbench.bn.layers import (
    ARTIFACT_SCORE_DEFINITION,
    BN_MODELS_HINT,
    bn_layers,
    eval_mode,
    image_statistics,
    model_colors,
    model_input,
    predict,
    require_bn,
    sr_images,
)
from repbench.bn.paste import flattest_patch, parse_patch, paste_experiment
from repbench.bn.scores import artifact_scores
from repbench.bn.stats import bn_stat_profile, capture_bn_stats, draw_bn_profile, plot_bn_profile

# The package's public names: re-exported from its modules.
__all__ = [
    "diagnose_image", "load_bn_model", "ARTIFACT_SCORE_DEFINITION", "BN_MODELS_HINT", "bn_layers", "eval_mode",
    "image_statistics", "model_colors", "model_input", "predict", "require_bn", "sr_images", "flattest_patch",
    "parse_patch", "paste_experiment", "artifact_scores", "bn_stat_profile", "capture_bn_stats", "draw_bn_profile",
    "plot_bn_profile",
]
