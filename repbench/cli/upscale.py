"""`repbench upscale`: super-resolve images with a trained model (or the bicubic / nearest floor)."""
from __future__ import annotations

import argparse

from repbench.cli.common import add_device_option, add_model_option


def upscale(args: argparse.Namespace) -> int:
    from repbench.inference.upscale import upscale_files

    upscale_files(args.model, args.input, args.output, tile=args.tile, overlap=args.overlap, device=args.device,
                  scale=args.scale)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "upscale",
        help="super-resolve images with a trained model",
        description="Upscale an image, or every image of a folder, with a trained model: RGB models on RGB, "
        "Y models on the Y channel with MATLAB-bicubic chroma; large images in tiles that overlap by the "
        "network's receptive radius, so the result has no seams. Memory grows with the tile, not with the "
        "image: tiles are made a row at a time and a PNG output is encoded as they come; an image whose output "
        "cannot fit in the memory or disk available is refused before any work. "
        "`--model bicubic|nearest --scale S` writes the floors, for comparison.",
    )
    add_model_option(p, floors=True, required=True)
    p.add_argument("input", help="an image, or a folder of images")
    p.add_argument("output", help="the output image, or a folder (images are written as <name>.png)")
    p.add_argument("--scale", type=int, choices=(2, 3, 4),
                   help="upscaling factor: required with bicubic / nearest; a model's own otherwise")
    p.add_argument("--tile", type=int, default=512,
                   help="tile side in input pixels (default 512); memory grows with it, not with the image; "
                   "0 = the whole image at once")
    p.add_argument("--overlap", type=int, default=None,
                   help="extra input pixels around each tile (default: the network's receptive radius)")
    add_device_option(p)
    p.set_defaults(func=upscale)
