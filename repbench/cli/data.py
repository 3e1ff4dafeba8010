"""`repbench data list` and `repbench data prepare NAME [NAME ...] [--scales 2 3 4] [--path DIR]`."""
from __future__ import annotations

import argparse

# Not repbench.data: it loads numpy, yaml and tqdm, which every command line would pay for while
# the parsers are built. The scales are the method registry's (torch-free), the same tuple.
from methods.registry import SCALES
from repbench.errors import RepbenchError


def list_datasets(args: argparse.Namespace) -> int:
    from repbench import data

    rows = list(data.iter_status())
    print(f"{'name':14s} {'role':5s} {'source':9s} {'prepared':9s} location")
    for row in rows:
        prepared = ",".join(f"x{s}" for s in row["prepared"]) or "-"
        print(f"{row['name']:14s} {row['role']:5s} {row['source']:9s} {prepared:9s} {row['location']}")
    print(f"\nregistry: {data.registry_path()}\ncache:    {data.cache_root()}")
    return 0


def prepare_dataset(args: argparse.Namespace) -> int:
    from repbench import data

    # Several names in one call: a cluster user prepares everything a preset needs on the login node
    # (which has the network) in one command before the jobs start.
    if args.path and len(args.names) > 1:
        raise RepbenchError("--path points one dataset at a folder; name a single dataset with it")
    names = [data.get_dataset(n).name for n in args.names]  # every name checked before any work
    for name in names:
        dirs = data.prepare(name, args.scales, path=args.path, progress=not args.quiet)
        for scale, folder in sorted(dirs.items()):
            manifest = data.read_manifest(name, scale) or {}
            print(f"{name} x{scale}: {len(manifest.get('images', []))} HR/LR pairs in {folder}")
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data", help="list and prepare datasets (HR + MATLAB-bicubic LR cache)",
        description="The dataset registry (data/datasets.yaml) and the prepared-pair cache (data/cache/).",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True,
                            help="`repbench data SUBCOMMAND --help` for its options")
    lp = dsub.add_parser("list", help="registered datasets, their source and what is prepared",
                         description="List the registered datasets: role, where their HR images come from, "
                         "which scales are prepared, and where.")
    lp.set_defaults(func=list_datasets)
    pp = dsub.add_parser("prepare", help="download/read HR, modcrop, make LR for each scale (idempotent)",
                         description="Read (or download) datasets' HR images, modcrop them and make their "
                         "MATLAB-bicubic LR for each scale, into data/cache/. A prepared scale is never rebuilt. "
                         "On a cluster, run it on the login node (it has the network) before submitting.")
    pp.add_argument("names", nargs="+", metavar="NAME", help="registered datasets (see `repbench data list`; old "
                    "spellings such as DIV2K-val are accepted)")
    pp.add_argument("--scales", type=int, nargs="+", default=list(SCALES), choices=SCALES,
                    help="upscaling factors to prepare LR images for (default: 2 3 4)")
    pp.add_argument("--path", help="use this folder of HR images instead of the registered source")
    pp.add_argument("--quiet", action="store_true", help="no progress bars")
    pp.set_defaults(func=prepare_dataset)
