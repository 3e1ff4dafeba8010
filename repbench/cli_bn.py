"""`repbench bn-diagnose`: the paper's BN artifact analysis (section 4) for one trained model.

    repbench bn-diagnose RUN_DIR --image IMG [--out DIR] [--patch x,y,w,h] [--paste-into IMG2]
    repbench bn-diagnose --model final.pt --dataset skimage-test

IMG is an HR image: it is modcropped and downscaled with MATLAB bicubic, as the
benchmark sets are. Writes into DIR (default RUN_DIR/bn-diagnose/<image name>):
fig3_bn_artifacts.png, fig4_crop_paste.png, fig5_bn_stats.png/.svg, the SR outputs,
and bn_diagnose.json with every number; with --dataset, artifact_scores_<NAME>_x<S>.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from repbench.errors import RepbenchError

DEFAULT_PASTE_DATASET = "skimage-test"


def load_bn_model(run_dir: str | None, model_path: str | None) -> tuple[Any, Path]:
    """The training-time model (BN intact) of a run folder or a model file, and where it came from."""
    import methods

    if bool(run_dir) == bool(model_path):
        raise RepbenchError("give a run folder (RUN_DIR) or --model PATH.pt, not both and not neither")
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


def image_pair(path: str | Path, scale: int) -> Any:
    from repbench.data import make_pair
    from repbench.images import read_image

    path = Path(path)
    return make_pair(path.stem, read_image(path), scale)


def most_textured(pairs: list[Any], exclude: Any | None = None) -> Any:
    """The pair whose LR has the largest mean gradient magnitude: a 'normal' busy image, like the
    paper's baboon, to paste a patch into. Skips a pair with the same HR as `exclude`."""
    import numpy as np

    from repbench.metrics import to_y

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


def _run(args: argparse.Namespace) -> int:
    import torch

    from repbench import bn_diagnose as bd
    from repbench import data
    from repbench.evaluate import describe_model, write_json

    if not args.image and not args.dataset:
        raise RepbenchError("nothing to do: give --image IMG (figures and scores) and/or --dataset NAME (scores)")
    model, model_path = load_bn_model(args.run_dir, args.model)
    bd.require_bn(model)  # fail before any image work
    scale = int(model.build_args["scale"])
    if args.scale is not None and args.scale != scale:
        raise RepbenchError(f"the model upscales x{scale} but --scale is {args.scale}; use --scale {scale} or leave it out")
    if args.device != "cpu":
        from repbench.train import resolve_device

        model.to(resolve_device(args.device, flag="--device "))
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    base_out = Path(args.out) if args.out else model_path.parent / "bn-diagnose"
    summary: dict[str, Any] = {"model": {**describe_model(model), "path": str(model_path)}}

    if args.image:
        pair = image_pair(args.image, scale)
        if args.paste_into:
            target = image_pair(args.paste_into, scale)
        else:
            target = most_textured(data.load_pairs(DEFAULT_PASTE_DATASET, scale), exclude=pair)
        patch = bd.parse_patch(args.patch) if args.patch else None
        out = Path(args.out) if args.out else base_out / pair.name
        result = bd.diagnose_image(model, pair, scale, out, patch=patch, paste_into=target)
        summary.update(result)
        summary["image_path"] = str(args.image)
        s = result["scores"]
        paste = result["paste"]
        print(
            f"{pair.name} x{scale}: Y-PSNR {s['psnr_population']:.3f} dB with population statistics, "
            f"{s['psnr_image_stats']:.3f} dB with the image's own; artifact score {s['artifact_score']:+.3f} dB"
            + (" (BN artifacts: the population statistics cost quality)" if s["artifact_score"] < 0 else "")
        )
        print(
            f"crop-and-paste into {target.name}: mean artifact {paste['artifact_inside']:.3f} inside the pasted "
            f"patch vs {paste['artifact_outside']:.3f} outside (source patch: {paste['artifact_source_patch']:.3f})"
        )
    else:
        out = base_out

    if args.dataset:
        if not data.available(args.dataset):
            raise RepbenchError(
                f"dataset {args.dataset!r} is not available here; prepare it with `repbench data prepare {args.dataset}` "
                "or use skimage-test"
            )
        pairs = data.load_pairs(args.dataset, scale)
        scores = bd.artifact_scores(model, pairs, scale)
        if not args.image:
            # Figure 5 of the pipeline: the layer statistics of the set's first image.
            summary["bn_profile"] = {pairs[0].name: bd.bn_stat_profile(model, pairs[0].lr)}
        scores["dataset"] = args.dataset
        scores["model"] = summary["model"]
        path = write_json(out / f"artifact_scores_{args.dataset}_x{scale}.json", bd.json_safe(scores))
        summary["dataset_scores"] = str(path)
        print(
            f"{args.dataset} x{scale} ({scores['n_images']} images): mean artifact score "
            f"{scores['mean_artifact_score']:+.3f} dB (population {scores['mean_psnr_population']:.3f}, "
            f"image statistics {scores['mean_psnr_image_stats']:.3f}); quality lost to the population "
            f"statistics {scores['mean_artifact_db']:.3f} dB per image; wrote {path}"
        )
    path = write_json(out / "bn_diagnose.json", bd.json_safe(summary))
    print(f"wrote {path}", file=sys.stderr)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bn-diagnose",
        help="BN artifact analysis of a model with BatchNorm (the paper's Figures 3-5 and an artifact score)",
        description="Compare a BN model's output with population statistics and with each image's own "
        "statistics (Figure 3), plot per-layer feature statistics against the population ones (Figure 5), "
        "paste a patch into another image to see whether the artifact follows it (Figure 4), and score "
        "artifacts as PSNR(population) - PSNR(image statistics), per image and over a dataset.",
    )
    p.add_argument("run_dir", nargs="?", help="a run folder with final.pt (the training-time weights, BN intact)")
    p.add_argument("--model", metavar="PATH.pt", help="a training-time model file instead of RUN_DIR")
    p.add_argument("--image", metavar="IMG", help="an HR image (downscaled with MATLAB bicubic by the model's scale)")
    p.add_argument("--dataset", metavar="NAME", help="also score every image of a dataset, e.g. Set5 or skimage-test")
    p.add_argument("--scale", type=int, help="must match the model's scale (default: the model's)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: next to the model, bn-diagnose/<image name>)")
    p.add_argument("--patch", metavar="x,y,w,h",
                   help="LR-pixel box of --image to paste (default: its flattest window)")
    p.add_argument("--paste-into", metavar="IMG2",
                   help=f"HR image to paste the patch into (default: the most textured {DEFAULT_PASTE_DATASET} image)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda[:N] or auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    p.set_defaults(func=_run)
