"""`repbench measure`: parameters, MACs, #conv, and optionally throughput and training speed, to JSON."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from repbench.cli.common import add_device_option, add_model_option
from repbench.errors import RepbenchError


def parse_option(text: str) -> tuple[str, Any]:
    """'expand=3' -> ('expand', 3); values are YAML scalars, so true/false/ints/floats keep their type."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise RepbenchError(f"--option expects key=value, got {text!r} (e.g. --option expand=3)")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise RepbenchError(f"--option {text!r}: cannot read the value ({err})") from err


def parse_wxh(text: str) -> tuple[int, int]:
    """'320x180' (width x height, as the paper writes it) -> (height, width)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise RepbenchError(f"--lr-size expects WIDTHxHEIGHT, e.g. 320x180, got {text!r}") from None
    if width < 1 or height < 1:
        raise RepbenchError(f"--lr-size must be positive, got {text!r}")
    return height, width


def _pair(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from repbench import measure

    if args.model:
        if args.method or args.size:
            raise RepbenchError("give either --model PATH or --method/--size, not both")
        return measure.load_pair(args.model)
    if not (args.method and args.size):
        raise RepbenchError("give --method and --size (e.g. --method repsr --size M4C16), or --model PATH.pt")
    options = dict(parse_option(o) for o in args.option)
    return measure.build_pair(args.method, args.size, args.scale, args.colors, **options)


def _peaks(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from repbench.peaks import DevicePeak, load_yaml

    extra = tuple(load_yaml(args.devices)) if args.devices else ()
    given = (args.peak_tflops, args.bandwidth_gbs)
    if (given[0] is None) != (given[1] is None):
        raise RepbenchError("--peak-tflops and --bandwidth-gbs go together")
    if given[0] is not None and not all(math.isfinite(v) and v > 0 for v in given):
        raise RepbenchError(f"--peak-tflops and --bandwidth-gbs must be positive numbers, got {given[0]} and {given[1]}")
    peak = DevicePeak("user-supplied", given[0], given[1], source="command line") if given[0] is not None else None
    return peak, extra


def measure_model(args: argparse.Namespace) -> int:
    from repbench import measure

    # Throughput flags are checked even without --throughput: a bad value must not pass silently.
    peak, extra = _peaks(args)
    lr_size = parse_wxh(args.lr_size) if args.lr_size else (180, 320)
    if args.onnx and not args.throughput:
        raise RepbenchError("--onnx times ONNX Runtime beside PyTorch; add --throughput")
    pair = _pair(args)
    counts = measure.measure_counts(pair)
    result = measure.Measurement(model={**pair.build_args, "source": pair.source}, counts=counts)
    _print_counts(pair.build_args, counts)

    if args.throughput:
        height, width = lr_size
        cfg = measure.ThroughputConfig(
            batch=args.batch,
            lr_height=height,
            lr_width=width,
            device=args.device,
            dtype=args.dtype,
            channels_last=args.channels_last,
            modes=tuple(m.strip() for m in args.modes.split(",") if m.strip()) if args.modes else None,
            warmup=args.warmup,
            repeats=args.repeats,
            iters=args.iters,
            threads=args.threads,
            peak=peak,
            extra_peaks=extra,
        )
        result.throughput = measure.throughput_pair(pair, cfg, unmerged=not args.no_unmerged)
        if args.onnx:
            from repbench.onnx_throughput import onnx_throughput

            providers = [p.strip() for p in args.onnx_providers.split(",") if p.strip()] if args.onnx_providers else None
            net = "merged" if pair.merged else "training-time"
            result.throughput += onnx_throughput(pair.deployed, cfg, providers=providers, net=net)
        for rec in result.throughput:
            _print_throughput(rec)

    if args.train_speed:
        tcfg = measure.TrainSpeedConfig(
            batch=args.train_batch, patch=args.train_patch, warmup=args.train_warmup, iters=args.train_iters,
            device=args.device, threads=args.threads,
        )
        colors, scale = pair.build_args["colors"], pair.build_args["scale"]
        result.train_speed = rec = measure.measure_train_speed(pair.training, colors, scale, tcfg)
        print(
            f"training ({rec.device_name}, batch {rec.batch}, LR patch {rec.lr_patch}): "
            f"{rec.s_per_iter:.4f} s/iter (min {rec.s_per_iter_min:.4f}, max {rec.s_per_iter_max:.4f}), "
            f"{rec.projected_hours:.1f} h for {rec.projected_iterations:,} iterations"
        )

    if args.out:
        from repbench.atomic import write_json  # numpy: not for the parser

        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, result.to_dict())
        print(f"wrote {out}")
    return 0


def _print_counts(build_args: dict[str, Any], c: Any) -> None:
    name = f"{build_args['method']}-{build_args['size']} x{build_args['scale']} colors={build_args['colors']}"
    print(f"{name}")
    print(f"  deployed params (true)      {c.deployed_params:,}")
    print(f"  paper convention            {c.paper_params:,} -> {c.paper_text}  [{c.paper_convention_text}]")
    print(f"  MACs (fvcore, LR {c.lr_width}x{c.lr_height} -> {c.out_width}x{c.out_height})  {c.macs / 1e9:.2f} G")
    print(f"  conv layers (deployed)      {c.convs}")
    print(f"  training-time params        {c.training_params:,}  ({c.macs_training / 1e9:.2f} G MACs, {c.convs_training} convs)")
    for note in c.notes:
        print(f"  note: {note}")


def _print_throughput(r: Any) -> None:
    head = f"  {r.net:13s} {r.mode:20s} {r.dtype} {r.memory_format} b{r.batch} {r.lr_width}x{r.lr_height}"
    if r.error:
        print(f"{head}: failed ({r.error})")
        return
    line = (
        f"{head}: {r.images_per_s:.2f} img/s (IQR {r.images_per_s_q1:.2f}-{r.images_per_s_q3:.2f}, "
        f"{r.repeats} x {r.iters_per_repeat} batches)"
    )
    if r.roofline:
        line += f", {100 * r.roofline.fraction:.1f}% of the {r.roofline.bound_by} roofline"
    print(line)
    if r.device == "cpu":
        print(f"    [{r.label}]")


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure",
        help="parameters, MACs, #conv, throughput and training speed of a model",
        description="Count parameters (true and the paper's Table 2 convention), MACs at a 1280x720 output and "
        "conv layers; optionally time inference (--throughput) and training (--train-speed). Raw numbers go to --out.",
    )
    what = p.add_argument_group("model")
    what.add_argument("--method", help="registered method (see `repbench methods`)")
    what.add_argument("--size", help="size, e.g. M4C16 (EDSR: R5C32)")
    what.add_argument("--scale", type=int, default=4, help="upscaling factor (default 4)")
    what.add_argument("--colors", type=int, default=1, help="1 = Y channel (default), 3 = RGB")
    what.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="build option, repeatable")
    add_model_option(what, prefer="training", extra=", instead of --method/--size")
    p.add_argument("--out", metavar="FILE.json", help="write the raw numbers to this JSON file")

    th = p.add_argument_group("throughput (default: the paper's protocol, batch 4, LR 320x180)")
    th.add_argument("--throughput", action="store_true", help="time inference of the merged and unmerged nets")
    th.add_argument("--no-unmerged", action="store_true", help="skip the training-time (unmerged) net")
    add_device_option(th)  # --train-speed runs there too
    th.add_argument("--dtype", help="float32/float16/bfloat16 (default: float16 on CUDA, float32 on CPU)")
    th.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                    help="memory format (default: channels_last on CUDA, contiguous on CPU)")
    th.add_argument("--modes", help="comma list of eager, eager-cudagraph, compile, compile-cudagraph "
                    "(default: all on CUDA, eager on CPU)")
    th.add_argument("--onnx", action="store_true",
                    help="also time the deployed net with ONNX Runtime (CPU provider; CUDA and TensorRT too on a "
                    "CUDA --device when installed); same records, mode onnxruntime-<provider>")
    th.add_argument("--onnx-providers", metavar="LIST", help="comma list of cpu, cuda, tensorrt (default: see --onnx)")
    th.add_argument("--batch", type=int, default=4, help="images per forward (default 4)")
    th.add_argument("--lr-size", metavar="WxH", help="LR input size (default 320x180)")
    th.add_argument("--warmup", type=int, default=10, help="untimed forwards before timing, per net and mode (default 10)")
    th.add_argument("--repeats", type=int, default=10,
                    help="timed repeats per net and mode; the median is reported, the spread as IQR (default 10)")
    th.add_argument("--iters", type=int, help="batches per repeat (default: enough for 0.2 s)")
    th.add_argument("--threads", type=int, help="CPU threads (torch.set_num_threads)")
    th.add_argument("--peak-tflops", type=float, help="device peak, TFLOP/s, for the roofline (with --bandwidth-gbs)")
    th.add_argument("--bandwidth-gbs", type=float, help="device memory bandwidth, GB/s, for the roofline")
    th.add_argument("--devices", metavar="YAML", help="extra device peaks (see repbench.peaks.load_yaml)")

    tr = p.add_argument_group("training speed (default: the paper's batch 32, LR patch 64)")
    tr.add_argument("--train-speed", action="store_true", help="time forward + backward + Adam steps")
    tr.add_argument("--train-batch", type=int, default=32, help="patches per training step (default 32)")
    tr.add_argument("--train-patch", type=int, default=64, help="LR patch side (default 64)")
    tr.add_argument("--train-warmup", type=int, default=3, help="untimed steps before timing (default 3)")
    tr.add_argument("--train-iters", type=int, default=10, help="timed steps; the median is reported (default 10)")
    p.set_defaults(func=measure_model)
