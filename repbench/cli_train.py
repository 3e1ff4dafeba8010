"""`repbench train`, `repbench merge` and `repbench upscale`."""
from __future__ import annotations

import argparse


def _train(args: argparse.Namespace) -> int:
    from repbench import train as engine

    layers = [engine.load_yaml_config(args.config)] if args.config else []
    flags = {
        "method": args.method,
        "size": args.size,
        "scale": args.scale,
        "colors": args.colors,
        "train_data": args.train_data,
        "val_data": args.val_data,
    }
    layers.append({k: v for k, v in flags.items() if v is not None})
    layers.append(engine.parse_set(args.set))
    cfg = engine.resolve_config(*layers)
    record = engine.train(cfg, args.run_dir, stop_after=args.stop_after, on_config_change=args.on_config_change)
    if record.get("signal"):
        # Stopped by Ctrl-C or SIGTERM: the shell's code for that signal (130, 143), so a
        # scheduler never takes the checkpointed-but-unfinished run for a finished one.
        return 128 + int(record["signal"])
    return 130 if record.get("status") == "interrupted" and args.stop_after is None else 0


def _merge(args: argparse.Namespace) -> int:
    from repbench.train import merge_run

    merge_run(args.run_dir, opset=args.opset)
    return 0


def _upscale(args: argparse.Namespace) -> int:
    from repbench.upscale import upscale_files

    upscale_files(args.model, args.input, args.output, tile=args.tile, overlap=args.overlap, device=args.device)
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a method into a run folder (resumes an unfinished one)",
        description="Train a method with the paper's recipe. Layers, later wins: recipe defaults, --config FILE, "
        "the flags below, --set. Rerunning on a run folder resumes it; a complete run is left alone. "
        "Ctrl-C or SIGTERM checkpoints after the current step (exit 130 / 143; rerun to resume). "
        "One trainer per run folder: a second one exits with an error naming the first's PID.",
    )
    p.add_argument("--method", help="a registered method (see `repbench methods`)")
    p.add_argument("--size", help="the method's size, e.g. M4C16")
    p.add_argument("--scale", type=int, help="2, 3 or 4")
    p.add_argument("--colors", type=int, help="1 (Y channel) or 3 (RGB)")
    p.add_argument("--train-data", help="training dataset name, e.g. DIV2K-train, T91, skimage-train")
    p.add_argument("--val-data", help="validation dataset name, e.g. Set5, skimage-test")
    p.add_argument("--run-dir", required=True, help="the run folder, e.g. results/runs/cpu/repsr-M4C16-x4")
    p.add_argument("--config", metavar="FILE.yaml", help="YAML mapping of config fields (see repbench/train.py TrainConfig)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config field (repeatable), e.g. --set iterations=2000 --set options.expand=3")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="checkpoint and stop after N iterations (rerun to continue), e.g. for time-limited jobs")
    p.add_argument("--on-config-change", choices=("refuse", "supersede"), default="refuse",
                   help="when the run folder holds work of another config: refuse (default), or supersede: "
                   "move the old run to RUN_DIR/superseded/<time>-<hash>/ and train afresh (what the pipeline does)")
    p.set_defaults(func=_train)

    p = sub.add_parser("merge", help="write a run's deployable network (deployed.pt) and its ONNX export")
    p.add_argument("run_dir", help="a run folder written by `repbench train`")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.set_defaults(func=_merge)

    p = sub.add_parser("upscale", help="super-resolve images with a trained model")
    p.add_argument("--model", required=True, help="a model file (deployed.pt) or a run folder")
    p.add_argument("input", help="an image, or a folder of images")
    p.add_argument("output", help="the output image, or a folder (images are written as <name>.png)")
    p.add_argument("--tile", type=int, default=512, help="tile side in input pixels for large images; 0 = no tiling")
    p.add_argument("--overlap", type=int, default=None,
                   help="extra input pixels around each tile (default: the network's receptive radius)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.set_defaults(func=_upscale)
