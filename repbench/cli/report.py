"""`repbench report`: run folders -> the paper's tables (Markdown), figures and the leaderboard page."""
from __future__ import annotations

import argparse

from repbench.pipeline.targets import TARGETS


def report(args: argparse.Namespace) -> int:
    from repbench.outputs import check_output_dir

    check_output_dir(args.out)  # before the runs are read and the figures drawn
    from repbench import report

    written = report.build_report(
        args.runs, args.out, preset=args.preset, only=args.only, curves=args.curves,
    )
    for path in written:
        print(f"wrote {path}")
    if args.check:
        from repbench.cli.check import print_check

        return print_check(args.runs)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="render the paper's tables, figures and the leaderboard page from run folders",
        description=(
            "Collect every run under --runs (train.json, measure.json, eval/*.json, metrics.csv, the BN "
            "diagnostics in bn/; the bicubic and nearest-neighbour floors in bicubic-x<scale>/eval/ and "
            "nearest-x<scale>/eval/; seed runs <run>-seed<k>/ are folded into their run's mean and spread) and "
            "write table1..table7.md, "
            "fig1_tradeoff.png/.svg, fig5_bn_stats.png/.svg (when a BN run has been diagnosed with "
            "`repbench bn-diagnose RUN --dataset SET --out RUN/bn`), fig6_curves.png/.svg, leaderboard.html and "
            "leaderboard.csv into --out; the NTIRE 2022 IMDN tables (ntire_table2/3/5.md) when named in --only. "
            "Runs that `repbench check` finds under-trained are marked † with the reason. "
            "Files are written atomically."
        ),
    )
    p.add_argument("--runs", required=True, metavar="DIR", help="a preset's runs folder, e.g. results/runs/smoke")
    p.add_argument("--out", default="results", metavar="DIR", help="output folder (default: results)")
    p.add_argument("--preset", metavar="NAME", help="preset named in every header (default: the runs folder's name)")
    p.add_argument(
        "--only", nargs="+", metavar="TARGET",
        help=f"render only these targets: {', '.join(TARGETS)} (default: all but the ntire_* tables, published, "
             "later and the sweeps, which render only when named; a sweep writes NAME.md, .png and .svg; "
             "leaderboard = .html + .csv; a named fig5 without a diagnosed BN run is an error)",
    )
    p.add_argument("--curves", nargs="+", metavar="RUN", help="runs drawn in fig6 (default: Table 2's runs)")
    p.add_argument("--check", action="store_true",
                   help="after writing, run `repbench check` on --runs and exit 1 if it finds under-trained runs")
    p.set_defaults(func=report)
