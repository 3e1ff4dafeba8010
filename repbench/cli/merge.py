"""`repbench merge`: a run's deployable network (deployed.pt) and its checked ONNX export."""
from __future__ import annotations

import argparse


def merge(args: argparse.Namespace) -> int:
    from repbench.deploy import merge_run

    merge_run(args.run_dir, opset=args.opset)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="write a run's deployable network (deployed.pt) and its ONNX export")
    p.add_argument("run_dir", help="a run folder written by `repbench train`")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.set_defaults(func=merge)
