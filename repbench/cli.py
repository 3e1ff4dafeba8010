"""The `repbench` command. Each feature module registers its own subcommand(s).

Modules are listed explicitly (no import-everything magic); each has
`add_cli(subparsers)` and sets `func` on its parser. Heavy imports (torch) happen
inside the handlers so `repbench --help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from repbench.errors import RepbenchError

_COMMAND_MODULES: tuple[str, ...] = (
    "repbench.cli_methods",
    "repbench.cli_train",
    "repbench.cli_measure",
    "repbench.cli_data",  # `repbench data` and (via repbench.evaluate) `repbench eval`
    "repbench.cli_bn",  # `repbench bn-diagnose`
    "repbench.cli_report",
    "repbench.cli_check",  # `repbench check`: the results check behind the tables' † marks
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repbench",
        description="Benchmark harness for re-parameterizable VGG-style super-resolution networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except RepbenchError as err:
        print(f"repbench {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"repbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
