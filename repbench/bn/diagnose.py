"""Everything for one image (Figures 3, 4 and 5 with their numbers), and for one run or model file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from repbench.errors import RepbenchError
import methods
from repbench import atomic, data
from repbench.bn.layers import require_bn
from repbench.bn.panels import figure_panels, heat_scale
from repbench.bn.paste import paste_experiment, sr_outputs
from repbench.bn.scores import artifact_scores
from repbench.bn.stats import PROFILE_TITLE, bn_stat_profile, plot_bn_profile
from repbench.data import Pair, make_pair
from repbench.scoring.images import read_image, write_image
from repbench.scoring.imresize import imresize
from repbench.scoring.metrics import to_y

DEFAULT_PASTE_DATASET = "skimage-test"

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
    require_bn(model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hr, lr = np.asarray(pair.hr), np.asarray(pair.lr)
    scores = artifact_scores(model, [pair], scale)["per_image"][0]
    outs = sr_outputs(model, lr, hr.shape[:2])
    bicubic = imresize(lr, output_shape=hr.shape[:2])
    files = {
        "sr_population": write_image(out_dir / "sr_population.png", outs["pop"]),
        "sr_image_stats": write_image(out_dir / "sr_image_stats.png", outs["own"]),
        "bicubic": write_image(out_dir / "bicubic.png", bicubic),
    }
    diff = np.abs(outs["pop_y"] - outs["own_y"])
    files["fig3"] = figure_panels(
        out_dir / "fig3_bn_artifacts.png",
        [
            (bicubic, "bicubic"),
            (outs["pop"], f"population statistics: {scores['psnr_population']:.2f} dB"),
            (outs["own"], f"image statistics: {scores['psnr_image_stats']:.2f} dB"),
            (diff, f"|population - image| (Y), mean {diff.mean():.2f}"),
        ],
        heat_vmax=heat_scale(diff),
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
    png, svg = plot_bn_profile(profiles, out_dir / "fig5_bn_stats",
                               title=f"{PROFILE_TITLE}\nimage(s): {', '.join(profiles)} (x{scale})")
    files["fig5_png"], files["fig5_svg"] = png, svg
    result["files"] = {k: str(v) for k, v in files.items()}
    return result


# ----------------------------------------------------------------------------- a run or a model file


def load_bn_model(run_dir: str | None, model_path: str | None) -> tuple[Any, Path]:
    """The training-time model (BN intact) of a run folder or a model file, and where it came from."""
    if bool(run_dir) == bool(model_path):
        raise RepbenchError("give a run folder (RUN_DIR) or --model PATH.pt, not both and not neither")
    if model_path and Path(model_path).is_dir():  # --model RUN_DIR means what RUN_DIR does
        run_dir, model_path = str(model_path), None
    if run_dir:
        folder = Path(run_dir)
        if not folder.is_dir():
            raise RepbenchError(f"run folder {folder} does not exist")
        path = folder / "final.pt"
        if not path.is_file():
            hint = (" (its deployed.pt has BN folded into the convolutions, so it cannot be diagnosed)"
                    if (folder / "deployed.pt").is_file() else "")
            raise RepbenchError(f"{folder} has no final.pt{hint}; finish the run with `repbench train` first")
    else:
        path = Path(str(model_path))
    try:
        model = methods.load(path)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        raise RepbenchError(f"cannot load model {path}: {err}") from err
    return model.eval(), path


def image_pair(path: str | Path, scale: int) -> Pair:
    """An HR image file as a Pair, its LR made with MATLAB bicubic."""
    path = Path(path)
    return make_pair(path.stem, read_image(path), scale)


def most_textured(pairs: list[Any], exclude: Any | None = None) -> Any:
    """The pair whose LR has the largest mean gradient magnitude: a 'normal' busy image, like the
    paper's baboon, to paste a patch into. Skips a pair with the same HR as `exclude`."""
    best, best_score = None, -1.0
    for p in pairs:
        if exclude is not None and p.hr.shape == exclude.hr.shape and np.array_equal(p.hr, exclude.hr):
            continue
        y = to_y(p.lr)
        score = float(np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean())
        if score > best_score:
            best, best_score = p, score
    if best is None:
        raise RepbenchError("no image to paste into; pass --paste-into IMG")
    return best


def diagnose_one_image(model: nn.Module, scale: int, image: str, out: Path, *, paste_into: str | None = None,
                       patch: tuple[int, int, int, int] | None = None) -> dict[str, Any]:
    """`diagnose_image` for an HR image file; prints the scores and the crop-and-paste result."""
    pair = image_pair(image, scale)
    if paste_into:
        target = image_pair(paste_into, scale)
    else:
        target = most_textured(data.load_pairs(DEFAULT_PASTE_DATASET, scale), exclude=pair)
    result = diagnose_image(model, pair, scale, out, patch=patch, paste_into=target)
    s, paste = result["scores"], result["paste"]
    print(
        f"{pair.name} x{scale}: Y-PSNR {s['psnr_population']:.3f} dB with population statistics, "
        f"{s['psnr_image_stats']:.3f} dB with the image's own; artifact score {s['artifact_score']:+.3f} dB"
        + (" (BN artifacts: the population statistics cost quality)" if s["artifact_score"] < 0 else "")
    )
    print(
        f"crop-and-paste into {target.name}: mean artifact {paste['artifact_inside']:.3f} inside the pasted "
        f"patch vs {paste['artifact_outside']:.3f} outside (source patch: {paste['artifact_source_patch']:.3f})"
    )
    return {**result, "image_path": str(image)}


def diagnose_dataset(model: nn.Module, scale: int, dataset: str, out: Path, summary: dict[str, Any],
                     with_profile: bool) -> Path:
    """Artifact scores over a dataset, written as artifact_scores_<NAME>_x<S>.json; with_profile: also
    the layer statistics of its first image into `summary` (Figure 5 of the pipeline)."""
    if not data.available(dataset):
        raise RepbenchError(
            f"dataset {dataset!r} is not available here; prepare it with `repbench data prepare {dataset}` "
            "or use skimage-test"
        )
    pairs = data.load_pairs(dataset, scale)
    scores = artifact_scores(model, pairs, scale)
    if with_profile:
        summary["bn_profile"] = {pairs[0].name: bn_stat_profile(model, pairs[0].lr)}
    scores["dataset"] = dataset
    scores["model"] = summary["model"]
    path = atomic.write_json(out / f"artifact_scores_{dataset}_x{scale}.json", scores, strict=True)
    print(
        f"{dataset} x{scale} ({scores['n_images']} images): mean artifact score "
        f"{scores['mean_artifact_score']:+.3f} dB (population {scores['mean_psnr_population']:.3f}, "
        f"image statistics {scores['mean_psnr_image_stats']:.3f}); quality lost to the population "
        f"statistics {scores['mean_artifact_db']:.3f} dB per image; wrote {path}"
    )
    return path
