"""`repbench methods`: list the registered methods, their size formats and options."""
from __future__ import annotations

import argparse


def list_methods(args: argparse.Namespace) -> int:
    from methods import registry

    for name in registry.methods():
        info = registry.info(name)
        opts = ", ".join(f"{k}={v!r}" for k, v in info.options.items()) or "-"
        merge = "merges (one conv per block)" if info.mergeable else "not mergeable"
        print(f"{name:10s} size {info.size_format:8s} {merge:22s} options: {opts}")
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "methods",
        help="list registered methods, size formats and options",
        description="List every registered method (methods/registry.py): its size format (e.g. M{m}C{c}), "
        "whether it merges into the plain deployed network, and its build options with their defaults "
        "(set them with `repbench measure --option KEY=VALUE` or `repbench train --set options.KEY=VALUE`).",
    )
    p.set_defaults(func=list_methods)
