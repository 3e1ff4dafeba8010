"""Options that several subcommands share, added by one helper each so that they mean the same
thing, default the same and read the same in every `--help`.

Torch-free on purpose: every parser is built for every command line (even `repbench methods`),
so anything imported here is paid by all of them.
"""
from __future__ import annotations

import argparse
from typing import Any

# The same default as repbench.device.DEFAULT (which imports torch, so it cannot be read here);
# tests/test_cli.py checks that the two agree.
DEVICE_DEFAULT = "auto"
DEVICE_HELP = "auto (CUDA when torch sees a GPU, else CPU; the default), cpu, cuda or cuda:N"

_RUN_FOLDER_HELP = {
    "deployed": "a run folder (its deployed.pt, else final.pt)",
    "training": "a run folder (its final.pt, the training-time net; else deployed.pt)",
    "final": "a run folder (its final.pt: the training-time net, BN intact)",
}


def add_device_option(parser: Any) -> None:
    """--device on a parser or an argument group."""
    parser.add_argument("--device", default=DEVICE_DEFAULT, help=DEVICE_HELP)


def model_help(*, prefer: str = "deployed", floors: bool = False, extra: str = "") -> str:
    """The one description of --model: a model file or a run folder, plus the floors where they make sense."""
    text = f"a model file (.pt written by `repbench train` or `merge`) or {_RUN_FOLDER_HELP[prefer]}"
    if floors:
        text += "; or 'bicubic' / 'nearest', the fixed upsamplers a trained network must beat"
    return text + extra


def add_model_option(parser: Any, *, prefer: str = "deployed", floors: bool = False, required: bool = False,
                     extra: str = "") -> None:
    """--model PATH on a parser or an argument group (see repbench/inference/modelfile.py for what a folder stands for)."""
    parser.add_argument("--model", metavar="PATH", required=required,
                        help=model_help(prefer=prefer, floors=floors, extra=extra))


def version() -> str:
    """The installed distribution's version; the package's own when it runs from a bare checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("repbench")
    except PackageNotFoundError:
        from repbench import __version__

        return __version__


class _VersionAction(argparse.Action):
    """--version that looks the version up only when asked: importlib.metadata is not free, and
    every other command line would pay for it while the parser is built."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog} {version()}")  # stdout, as argparse's own version action does
        parser.exit()


def add_version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
