"""`repbench import`: a released checkpoint (registered, or any file) -> a repbench model file or run folder."""
from __future__ import annotations

import argparse

from repbench.errors import RepbenchError


def _list() -> int:
    from repbench.published.registry import load_registry

    for entry in load_registry().values():
        rgb = "RGB" if entry.colors == 3 else "Y"
        print(f"{entry.name:18s} {entry.method} {entry.size} x{entry.scale} {rgb}, {entry.form} form  "
              f"{entry.label}; {entry.licence}")
    return 0


def _architecture(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from repbench.published.convert import Architecture

    named = [args.method, args.size]
    if not any(named):
        return None
    if not all(named):
        raise RepbenchError("give --method and --size together (e.g. --method rlfn --size B6C52), or neither "
                            "to match the file against every registered architecture")
    from repbench.cli.measure import parse_option

    options = tuple(sorted(dict(parse_option(o) for o in args.option).items()))
    return Architecture(args.method, args.size, args.scale, args.colors, args.form, options)


def _check_outputs(out: str | None, run_dir: str | None) -> None:
    """Refuse before any work (a download, a conversion) an output that cannot be written."""
    from repbench.outputs import check_output_dir, check_output_file

    if out:
        check_output_file(out)
    if run_dir:
        check_output_dir(run_dir, "--run-dir")


def import_model(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if bool(args.name) == bool(args.file):
        raise RepbenchError("give a registered NAME (see `repbench import --list`) or --file PATH, not both")
    if not (args.out or args.run_dir):
        raise RepbenchError("say where to write it: --out FILE.pt (a model file) or --run-dir DIR (a run folder)")
    if args.name and (args.method or args.size):
        raise RepbenchError(f"{args.name} is registered: its network comes from data/published.yaml, "
                            "drop --method/--size")
    _check_outputs(args.out, args.run_dir)
    import methods
    from repbench.published import imports

    if args.name:
        model, facts = imports.import_registered(args.name, offline=args.offline, progress=not args.quiet)
    elif args.external:
        model, facts = imports.import_external(args.file)
    else:
        model, facts = imports.import_file(args.file, _architecture(args))
    if args.out:
        methods.save(model, args.out)
        print(f"wrote {args.out}")
    if args.run_dir:
        imports.write_run(args.run_dir, model, facts)
    b, err = model.build_args, facts.get("merge_max_abs_err_float64")
    check = f", merge check (float64) max abs error {err:.1e}" if err is not None else ""
    print(f"{b['method']} {b['size']} x{b['scale']} colors={b['colors']}: {methods.count_params(model):,} params{check}")
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="turn a released checkpoint into a repbench model file or run folder",
        description="Load a released state dict into its zoo network by name (each method's key map, every key's "
        "shape checked) and write a model file that eval, measure, merge, upscale and the report take. A "
        "registered model (data/published.yaml) is taken from the cache, a local copy, or downloaded and "
        "verified against its sha256. A file that does not fit is refused naming the first key or shape that "
        "differs and the architectures it would fit.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="a registered published model (see --list)")
    p.add_argument("--list", action="store_true", help="list the registered published models and exit")
    p.add_argument("--file", metavar="PATH", help="a released checkpoint that is not registered")
    p.add_argument("--method", help="with --file: the zoo method it loads into (default: whichever fits)")
    p.add_argument("--size", help="with --file: the size, e.g. B6C52")
    p.add_argument("--scale", type=int, default=4, choices=(2, 3, 4), help="with --file: upscaling factor (default 4)")
    p.add_argument("--colors", type=int, default=3, choices=(1, 3), help="with --file: 3 = RGB (default), 1 = Y")
    p.add_argument("--form", choices=("training", "deployed"), default="training",
                   help="with --file: deployed for a re-parameterized (merged) release")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="build option, repeatable")
    p.add_argument("--external", action="store_true",
                   help="with --file: any architecture spandrel recognises (optional extra `published`); "
                   "measured and evaluated, never merged")
    p.add_argument("--out", metavar="FILE.pt", help="write a model file")
    p.add_argument("--run-dir", metavar="DIR", help="write a run folder (final.pt, deployed.pt, train.json)")
    p.add_argument("--offline", action="store_true", help="never download: the cache or a local copy only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=import_model)
