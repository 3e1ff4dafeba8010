"""`repbench merge --model RUN`: a run's deployable network (deployed.pt) and its checked ONNX export."""
from __future__ import annotations

import argparse

from repbench.cli.common import add_model_option
from repbench.errors import RepbenchError


def merge(args: argparse.Namespace) -> int:
    from repbench.inference.deploy import merge_model

    # `repbench merge RUN` was the old form; it still works, as the same thing as --model RUN.
    if args.model and args.run_dir:
        raise RepbenchError(f"give the run once: --model {args.model} (the positional {args.run_dir} is the old form)")
    spec = args.model or args.run_dir
    if not spec:
        raise RepbenchError("give the run to merge: --model RUN_DIR (or a model file)")
    merge_model(spec, opset=args.opset)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge",
        help="write a run's deployable network (deployed.pt) and its ONNX export",
        description="Merge a run's training-time net into the plain deployed net (RUN/deployed.pt, kept when it "
        "exists) and export it to RUN/deployed.onnx, checked against PyTorch with onnxruntime. A model file "
        "outside a run folder gets <stem>-deployed.pt and <stem>-deployed.onnx beside it.",
    )
    add_model_option(p)
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="the old form of --model RUN_DIR (still accepted)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.set_defaults(func=merge)
