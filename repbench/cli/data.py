"""`repbench data list` and `repbench data prepare NAME [NAME ...] [--scales 2 3 4] [--path DIR]`."""
from __future__ import annotations

import argparse

from repbench import data
from repbench.errors import RepbenchError


def list_datasets(args: argparse.Namespace) -> int:
    rows = list(data.iter_status())
    print(f"{'name':14s} {'role':5s} {'source':9s} {'prepared':9s} location")
    for row in rows:
        prepared = ",".join(f"x{s}" for s in row["prepared"]) or "-"
        print(f"{row['name']:14s} {row['role']:5s} {row['source']:9s} {prepared:9s} {row['location']}")
    print(f"\nregistry: {data.registry_path()}\ncache:    {data.cache_root()}")
    return 0


def prepare_dataset(args: argparse.Namespace) -> int:
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
    p = sub.add_parser("data", help="list and prepare datasets (HR + MATLAB-bicubic LR cache)")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    lp = dsub.add_parser("list", help="registered datasets, their source and what is prepared")
    lp.set_defaults(func=list_datasets)
    pp = dsub.add_parser("prepare", help="download/read HR, modcrop, make LR for each scale (idempotent)")
    pp.add_argument("names", nargs="+", metavar="NAME", help="registered datasets (see `repbench data list`)")
    pp.add_argument("--scales", type=int, nargs="+", default=list(data.SCALES), choices=data.SCALES)
    pp.add_argument("--path", help="use this folder of HR images instead of the registered source")
    pp.add_argument("--quiet", action="store_true", help="no progress bars")
    pp.set_defaults(func=prepare_dataset)
