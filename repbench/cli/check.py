"""`repbench check RUNS_DIR`: list the runs whose numbers are not results (see repbench.results.checks).

Exit status: 0 no finding, 1 at least one finding, 2 bad input (no such folder, no runs in it)."""
from __future__ import annotations

import argparse
from pathlib import Path


def run_check(runs_dir: str | Path) -> tuple[int, str]:
    """(exit status, the printed list) for a runs folder; raises RepbenchError on bad input."""
    from repbench.results.checks import format_result
    from repbench.report.context import build_context

    ctx = build_context(runs_dir)
    assert ctx.check is not None
    return (1 if ctx.check.findings else 0), format_result(ctx.check, runs_dir, ctx.restarts())


def print_check(runs_dir: str | Path) -> int:
    """Print the list of under-trained runs; returns the exit status."""
    status, text = run_check(runs_dir)
    print(text, end="")
    return status


def check(args: argparse.Namespace) -> int:
    return print_check(args.runs_dir)


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="list under-trained runs: below the bicubic floor, size inversions, still improving (exit 1 if any)",
        description=(
            "Read a runs folder (results/runs/<preset>) and list every trained run that (a) scores below bicubic "
            "on some test set (same scale; Y runs against bicubic's Y PSNR, RGB runs against its RGB PSNR), "
            "(b) is a larger network (deployed MACs) of its method, scale, colors and options with a lower mean "
            "PSNR than a smaller one beyond the seed spread (a single-seed run counts the typical seed std of the "
            "folder's seeded runs at its scale, channel and test set), or (c) was still improving steeply at its last "
            "validation (metrics.csv val_psnr: the last interval gained more than 0.05 dB and more than 5% of "
            "the run's total validation gain). Exit status 0: no finding; 1: findings; 2: bad input."
        ),
    )
    p.add_argument("runs_dir", metavar="RUNS_DIR", help="a preset's runs folder, e.g. results/runs/cpu")
    p.set_defaults(func=check)
