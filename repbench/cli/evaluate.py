"""`repbench eval`: PSNR/SSIM of a model, or of the bicubic / nearest-neighbour floor, on a dataset."""
from __future__ import annotations

import argparse

from repbench.cli.common import add_device_option, add_model_option
from repbench.errors import RepbenchError
from repbench.outputs import check_output_file


def _outputs(args: argparse.Namespace) -> None:
    """Every --out file checked before the model loads or any image is scored."""
    if not args.out:
        return
    if args.dataset_dir:
        check_output_file(args.out)
        return
    if len(args.dataset) > 1 and "{dataset}" not in args.out:
        raise RepbenchError(f"--out {args.out} would hold {len(args.dataset)} datasets: put {{dataset}} in it, "
                            "e.g. --out eval/{dataset}-x4.json")
    from repbench import data

    for name in args.dataset:  # an unknown name fails here too, with the registered ones
        check_output_file(args.out.replace("{dataset}", data.get_dataset(name).name))


def evaluate_model(args: argparse.Namespace) -> int:
    from repbench import data
    from repbench.inference.evaluate import load_model

    _outputs(args)
    model = load_model(args.model)
    scale = args.scale
    if scale is None:
        if isinstance(model, str):
            raise RepbenchError(f"--scale is required with --model {model}")
        scale = int(model.build_args["scale"])
    if args.dataset_dir:
        _evaluate_one(args, model, data.pairs_from_folder(args.dataset_dir, scale), str(args.dataset_dir), scale, args.out)
        return 0
    for name in args.dataset:  # one process for several sets: the imports and the model load are paid once
        dataset = data.get_dataset(name).name
        out = args.out.replace("{dataset}", dataset) if args.out else None
        _evaluate_one(args, model, data.load_pairs(name, scale), dataset, scale, out)
    return 0


def _evaluate_one(args: argparse.Namespace, model, pairs: list, dataset: str, scale: int, out: str | None) -> None:
    from repbench.inference.evaluate import evaluate, write_json

    result = evaluate(model, pairs, scale, device=args.device, dataset=dataset, progress=not args.quiet,
                      border=args.border)
    result["model"]["source"] = args.model
    if out:
        write_json(out, result)
    print(
        f"{result['model']['name']} on {dataset} x{scale}: PSNR-Y {result['psnr_y']:.4f} dB, "
        f"SSIM-Y {result['ssim_y']:.4f}, PSNR-RGB {result['psnr_rgb']:.4f} dB ({result['n_images']} images"
        + (f", border {result['border']}" if args.border is not None else "") + ")"
        + (f" -> {out}" if out else "")
    )


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="PSNR/SSIM of a model or bicubic on a dataset (JSON output)",
        description="Score a model, or the bicubic / nearest-neighbour floor, on registered datasets or a folder "
        "of HR images: PSNR and SSIM on the Y channel and RGB PSNR, per image and mean, border = scale "
        "unless --border N (docs/conventions.md). LR inputs are made with MATLAB bicubic (for registered datasets, "
        "once, into data/cache/).",
    )
    add_model_option(p, floors=True, required=True)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--dataset", nargs="+", metavar="NAME",
                       help="one or more registered dataset names (see `repbench data list`)")
    where.add_argument("--dataset-dir", metavar="DIR", help="a folder of HR images (LR is made with MATLAB bicubic)")
    p.add_argument("--scale", type=int, choices=(2, 3, 4), help="upscaling factor (default: the model's)")
    p.add_argument("--border", type=int, metavar="N",
                   help="pixels shaved from every side before every metric (default: the scale; the NTIRE "
                   "challenges' RGB PSNR shaves 4)")
    p.add_argument("--out", help="write the raw per-image and mean numbers to this JSON file; with several "
                   "datasets, a path with {dataset} in it (one file per dataset)")
    add_device_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=evaluate_model)
