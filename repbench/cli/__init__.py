"""The `repbench` command: one module of this package per subcommand.

Modules are listed explicitly (no import-everything magic); each has `add_cli(subparsers)`
and sets `func` on its parser. A handler imports the domain module it drives when it runs,
and no parser imports anything heavier than the standard library and the torch-free method
registry: building the whole tree is paid by every command line, so `repbench --help` and
`repbench methods` stay well under a second. Options several commands share (--model, --device)
come from `common`, so they read and default the same everywhere.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from repbench.cli.common import add_version_option
from repbench.errors import RepbenchError

_COMMAND_MODULES: tuple[str, ...] = (
    "repbench.cli.methods",
    "repbench.cli.train",
    "repbench.cli.merge",
    "repbench.cli.upscale",
    "repbench.cli.measure",
    "repbench.cli.data",
    "repbench.cli.evaluate",  # `repbench eval`
    "repbench.cli.bn_diagnose",
    "repbench.cli.report",
    "repbench.cli.importing",  # `repbench import`: released checkpoints
    "repbench.cli.check",  # the results check behind the tables' † marks
)


def build_parser() -> argparse.ArgumentParser:
    """The `repbench` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="repbench",
        description="Benchmark harness for re-parameterizable VGG-style super-resolution networks.",
    )
    add_version_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="`repbench COMMAND --help` for its options")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a RepbenchError is a clear message and exit status 2, never a traceback."""
    try:
        parser = build_parser()
    except ImportError as err:  # methods.registry.PluginError: a broken method package, named in the message
        if type(err).__name__ != "PluginError":
            raise
        print(f"repbench: error: {err}", file=sys.stderr)
        return 2
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

