"""`repbench upscale`: super-resolve images with a trained model."""
from __future__ import annotations

import argparse


def upscale(args: argparse.Namespace) -> int:
    from repbench.upscale import upscale_files

    upscale_files(args.model, args.input, args.output, tile=args.tile, overlap=args.overlap, device=args.device)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("upscale", help="super-resolve images with a trained model")
    p.add_argument("--model", required=True, help="a model file (deployed.pt) or a run folder")
    p.add_argument("input", help="an image, or a folder of images")
    p.add_argument("output", help="the output image, or a folder (images are written as <name>.png)")
    p.add_argument("--tile", type=int, default=512, help="tile side in input pixels for large images; 0 = no tiling")
    p.add_argument("--overlap", type=int, default=None,
                   help="extra input pixels around each tile (default: the network's receptive radius)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.set_defaults(func=upscale)
