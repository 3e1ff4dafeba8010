"""`repbench train`: train a method into a run folder (resumes an unfinished one)."""
from __future__ import annotations

import argparse


def train(args: argparse.Namespace) -> int:
    from repbench.training import config
    from repbench.training.loop import train as run_training

    layers = [config.config_from_json(args.config_json)] if args.config_json else []
    if args.config:
        layers.append(config.load_yaml_config(args.config))
    flags = {
        "method": args.method,
        "size": args.size,
        "scale": args.scale,
        "colors": args.colors,
        "train_data": args.train_data,
        "val_data": args.val_data,
    }
    layers.append({k: v for k, v in flags.items() if v is not None})
    layers.append(config.parse_set(args.set))
    cfg = config.resolve_config(*layers)
    record = run_training(cfg, args.run_dir, stop_after=args.stop_after, on_config_change=args.on_config_change)
    if record.get("signal"):
        # Stopped by Ctrl-C or SIGTERM: the shell's code for that signal (130, 143), so a
        # scheduler never takes the checkpointed-but-unfinished run for a finished one.
        return 128 + int(record["signal"])
    return 130 if record.get("status") == "interrupted" and args.stop_after is None else 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a method into a run folder (resumes an unfinished one)",
        description="Train a method with the paper's recipe. Layers, later wins: recipe defaults, --config-json, "
        "--config FILE, the flags below, --set. Rerunning on a run folder resumes it; a complete run is left alone. "
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
    p.add_argument("--config-json", metavar="JSON|FILE",
                   help="a whole training config as one JSON object, inline or in a file (what the pipeline passes)")
    p.add_argument("--config", metavar="FILE.yaml",
                   help="YAML mapping of config fields (see repbench/training/config.py TrainConfig)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config field (repeatable), e.g. --set iterations=2000 --set options.expand=3")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="checkpoint and stop after N iterations (rerun to continue), e.g. for time-limited jobs")
    p.add_argument("--on-config-change", choices=("refuse", "supersede"), default="refuse",
                   help="when the run folder holds work of another config: refuse (default), or supersede: "
                   "move the old run to RUN_DIR/superseded/<time>-<hash>/ and train afresh (what the pipeline does)")
    p.set_defaults(func=train)
