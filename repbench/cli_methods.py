"""`repbench methods`: list the registered methods, their size formats and options."""
from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    import methods

    for name in methods.METHODS:
        module = methods.method_module(name)
        opts = ", ".join(f"{k}={v!r}" for k, v in methods.options_of(name).items()) or "-"
        merge = "merges to a plain net" if module.MERGEABLE else "not mergeable"
        print(f"{name:10s} size {module.SIZE_FORMAT:8s} {merge:22s} options: {opts}")
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("methods", help="list registered methods, size formats and options")
    p.set_defaults(func=_run)
