"""`repbench eval`: PSNR/SSIM of a model, or of the bicubic / nearest-neighbour floor, on a dataset."""
from __future__ import annotations

import argparse

from repbench.errors import RepbenchError


def evaluate_model(args: argparse.Namespace) -> int:
    from repbench import data
    from repbench.evaluate import evaluate, load_model, write_json

    model = load_model(args.model)
    scale = args.scale
    if scale is None:
        if isinstance(model, str):
            raise RepbenchError(f"--scale is required with --model {model}")
        scale = int(model.build_args["scale"])
    if args.dataset_dir:
        pairs = data.pairs_from_folder(args.dataset_dir, scale)
        dataset = str(args.dataset_dir)
    else:
        pairs = data.load_pairs(args.dataset, scale)
        dataset = data.get_dataset(args.dataset).name
    result = evaluate(model, pairs, scale, device=args.device, dataset=dataset, progress=not args.quiet)
    result["model"]["source"] = args.model
    if args.out:
        write_json(args.out, result)
    print(
        f"{result['model']['name']} on {dataset} x{scale}: PSNR-Y {result['psnr_y']:.4f} dB, "
        f"SSIM-Y {result['ssim_y']:.4f}, PSNR-RGB {result['psnr_rgb']:.4f} dB ({result['n_images']} images)"
        + (f" -> {args.out}" if args.out else "")
    )
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="PSNR/SSIM of a model or bicubic on a dataset (JSON output)")
    p.add_argument("--model", required=True,
                   help="'bicubic', 'nearest' (the floors) or a model file written by repbench (merged or not)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--dataset", help="a registered dataset name (see `repbench data list`)")
    where.add_argument("--dataset-dir", help="a folder of HR images (LR is made with MATLAB bicubic)")
    p.add_argument("--scale", type=int, choices=(2, 3, 4), help="upscaling factor (default: the model's)")
    p.add_argument("--out", help="write the raw per-image and mean numbers to this JSON file")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU; the default), cpu or cuda[:N]")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=evaluate_model)
