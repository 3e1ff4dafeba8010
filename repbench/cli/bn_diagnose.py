"""`repbench bn-diagnose`: the paper's BN artifact analysis (section 4) for one trained model.

    repbench bn-diagnose RUN_DIR --image IMG [--out DIR] [--patch x,y,w,h] [--paste-into IMG2]
    repbench bn-diagnose --model RUN_DIR|final.pt --dataset skimage-test

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

from repbench.cli.common import add_device_option, add_model_option
from repbench.errors import RepbenchError
from repbench.outputs import check_output_dir


def bn_diagnose(args: argparse.Namespace) -> int:
    import torch

    from repbench.bn import diagnose, parse_patch, require_bn
    from repbench.device import resolve_device
    from repbench.inference.evaluate import describe_model, write_json

    if not args.image and not args.dataset:
        raise RepbenchError("nothing to do: give --image IMG (figures and scores) and/or --dataset NAME (scores)")
    if args.out:  # before the model loads; the default folder (beside the model) is checked once it is known
        check_output_dir(args.out)
    model, model_path = diagnose.load_bn_model(args.run_dir, args.model)
    require_bn(model)  # fail before any image work
    scale = int(model.build_args["scale"])
    if args.scale is not None and args.scale != scale:
        raise RepbenchError(f"the model upscales x{scale} but --scale is {args.scale}; use --scale {scale} or leave it out")
    model.to(resolve_device(args.device))
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    base_out = Path(args.out) if args.out else model_path.parent / "bn-diagnose"
    if not args.out:
        check_output_dir(base_out / Path(args.image).stem if args.image else base_out, "the output folder")
    summary: dict[str, Any] = {"model": {**describe_model(model), "path": str(model_path)}}
    out = base_out
    if args.image:
        out = Path(args.out) if args.out else base_out / Path(args.image).stem
        patch = parse_patch(args.patch) if args.patch else None
        summary.update(diagnose.diagnose_one_image(model, scale, args.image, out, paste_into=args.paste_into, patch=patch))
    if args.dataset:
        path = diagnose.diagnose_dataset(model, scale, args.dataset, out, summary, with_profile=not args.image)
        summary["dataset_scores"] = str(path)
    path = write_json(out / "bn_diagnose.json", summary)
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
    add_model_option(p, prefer="final", extra=", instead of RUN_DIR")
    p.add_argument("--image", metavar="IMG", help="an HR image (downscaled with MATLAB bicubic by the model's scale)")
    p.add_argument("--dataset", metavar="NAME", help="also score every image of a dataset, e.g. Set5 or skimage-test")
    p.add_argument("--scale", type=int, help="must match the model's scale (default: the model's)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: next to the model, bn-diagnose/<image name>)")
    p.add_argument("--patch", metavar="x,y,w,h",
                   help="LR-pixel box of --image to paste (default: its flattest window)")
    p.add_argument("--paste-into", metavar="IMG2",
                   help="HR image to paste the patch into (default: the most textured skimage-test image)")
    add_device_option(p)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    p.set_defaults(func=bn_diagnose)
