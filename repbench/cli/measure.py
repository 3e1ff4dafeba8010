"""`repbench measure`: parameters, MACs, #conv, and optionally throughput, training speed and the NTIRE
challenges' figures (`--protocol ntire`), to JSON."""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repbench.cli.common import add_device_option, add_model_option
from repbench.errors import RepbenchError
from repbench.outputs import check_output_file

if TYPE_CHECKING:  # torch stays out of the parser: these load only when a command runs
    from repbench.measure.models import ModelPair
    from repbench.measure.ntire import NtireCounts


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
    from repbench.measure.peaks import DevicePeak, load_yaml

    extra = tuple(load_yaml(args.devices)) if args.devices else ()
    given = (args.peak_tflops, args.bandwidth_gbs)
    if (given[0] is None) != (given[1] is None):
        raise RepbenchError("--peak-tflops and --bandwidth-gbs go together")
    if given[0] is not None and not all(math.isfinite(v) and v > 0 for v in given):
        raise RepbenchError(f"--peak-tflops and --bandwidth-gbs must be positive numbers, got {given[0]} and {given[1]}")
    peak = DevicePeak("user-supplied", given[0], given[1], source="command line") if given[0] is not None else None
    return peak, extra


def steady_clocks() -> None:
    """Before torch loads (here, and in every timing process spawned from here): OpenMP threads that spin
    at their barriers collapse when any other process takes a core, so they wait passively; and glibc
    keeps freed memory (no page-fault churn; repbench/device.py). README, "How timings are taken"."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from repbench.device import steady_allocator

    steady_allocator()


def measure_model(args: argparse.Namespace) -> int:
    steady_clocks()
    from repbench import measure
    if args.out:  # before any counting or timing: a result that cannot be written is not worth measuring
        check_output_file(args.out)
    # Throughput flags are checked even without --throughput: a bad value must not pass silently.
    peak, extra = _peaks(args)
    lr_size = parse_wxh(args.lr_size) if args.lr_size else (180, 320)
    if args.onnx and not args.throughput:
        raise RepbenchError("--onnx times ONNX Runtime beside PyTorch; add --throughput")
    _check_ntire_flags(args)
    _check_timing_flags(args)
    pair = _pair(args)
    counts = measure.measure_counts(pair)
    result = measure.Measurement(model={**pair.build_args, "source": pair.source}, counts=counts)
    _print_counts(pair.build_args, counts)
    if args.protocol == "ntire":
        result.ntire = _ntire(args, pair)

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
        result.throughput = _time_nets(args, pair, cfg)
        if args.onnx:
            from repbench.measure.onnx_throughput import onnx_throughput

            providers = [p.strip() for p in args.onnx_providers.split(",") if p.strip()] if args.onnx_providers else None
            net = "merged" if pair.merged else "training-time"
            result.throughput += onnx_throughput(pair.deployed, cfg, providers=providers, net=net)
        for rec in result.throughput:
            _print_throughput(rec)

    if args.train_speed:
        result.train_speed = _train_speed(args, pair)

    if args.out:
        from repbench.atomic import write_json  # numpy: not for the parser

        out = Path(args.out)
        write_json(out, result.to_dict())  # makes the folder; an OSError is a RepbenchError there
        print(f"wrote {out}")
    return 0


def _train_speed(args: argparse.Namespace, pair: ModelPair) -> Any:
    """The synthetic training step of the net as the run trains it (collapsed where it trains collapsed)."""
    from repbench import measure
    from repbench.training.config import PAPER_ITERATIONS

    tcfg = measure.TrainSpeedConfig(
        batch=args.train_batch, patch=args.train_patch, warmup=args.train_warmup, iters=args.train_iters,
        device=args.device, threads=args.train_threads or args.threads, projected_iterations=PAPER_ITERATIONS,
    )
    colors, scale = pair.build_args["colors"], pair.build_args["scale"]
    net = pair.as_trained if pair.as_trained is not None else pair.training
    rec = measure.measure_train_speed(net, colors, scale, tcfg)
    rec.form = "collapsed" if net.build_args.get("options", {}).get("collapsed") else "as built (multi-branch)"
    print(
        f"training ({rec.device_name}, batch {rec.batch}, LR patch {rec.lr_patch}): "
        f"{rec.s_per_iter:.4f} s/iter (min {rec.s_per_iter_min:.4f}, max {rec.s_per_iter_max:.4f}), "
        f"{rec.projected_hours:.1f} h for {rec.projected_iterations:,} iterations"
    )
    return rec


def _time_nets(args: argparse.Namespace, pair: ModelPair, cfg: Any) -> list:
    """The throughput records: a shared deployed timing where given, the rest timed here, in one process
    or in --processes fresh ones (repbench/measure/processes.py)."""
    from repbench.measure import processes, shared
    from repbench.measure.models import architecture_signature
    from repbench.measure.throughput import measure_throughput

    records = shared.read_shared(args.deployed_timing, pair) if args.deployed_timing else []
    one_net = shared.training_is_deployed(pair)
    nets = shared.nets_to_time(pair, unmerged=not args.no_unmerged, deployed_only=args.deployed_only,
                               shared=bool(args.deployed_timing), one_net=one_net)
    if nets and args.processes > 1:
        source = processes.PairSource(path=args.model) if args.model else processes.PairSource(
            method=args.method, size=args.size, scale=args.scale, colors=args.colors,
            options=dict(parse_option(o) for o in args.option))
        timed = processes.throughput_in_processes(source, tuple(nets), cfg, args.processes)
    elif nets:
        timed = measure_throughput(nets, pair.build_args["colors"], pair.build_args["scale"], cfg)
    else:
        timed = []
    signatures = {name: architecture_signature(net) for name, net in nets.items()}
    for rec in timed:
        rec.architecture = signatures[rec.net]
    records += timed
    copies = one_net and not args.no_unmerged and not args.deployed_only
    return records + (shared.same_as_deployed(records) if copies else [])


def _check_timing_flags(args: argparse.Namespace) -> None:
    if (args.deployed_only or args.deployed_timing or args.processes != 1) and not args.throughput:
        raise RepbenchError("--processes, --deployed-only and --deployed-timing belong to --throughput; add it")
    if args.deployed_only and args.deployed_timing:
        raise RepbenchError("--deployed-only times the deployed net; --deployed-timing takes it from a file: give one")
    if args.processes < 1:
        raise RepbenchError(f"--processes must be >= 1, got {args.processes}")
    if args.deployed_timing and not Path(args.deployed_timing).is_file():
        raise RepbenchError(f"--deployed-timing {args.deployed_timing}: no such file; write it with "
                            "`repbench measure --throughput --deployed-only --out FILE`")


def _check_ntire_flags(args: argparse.Namespace) -> None:
    if args.protocol != "ntire" and (args.latency_dataset or args.latency_images is not None):
        raise RepbenchError("--latency-dataset and --latency-images belong to --protocol ntire")
    if args.latency_images is not None and not args.latency_dataset:
        raise RepbenchError("--latency-images caps the images of --latency-dataset NAME; give that too")
    if args.latency_images is not None and args.latency_images < 1:
        raise RepbenchError(f"--latency-images must be >= 1, got {args.latency_images}")
    if args.latency_warmup < 0:
        raise RepbenchError(f"--latency-warmup must be >= 0, got {args.latency_warmup}")


def _ntire(args: argparse.Namespace, pair: ModelPair) -> NtireCounts:
    """The NTIRE record of the deployed net: counts at a 256x256 LR input, and the per-image latency."""
    from repbench import data, measure

    build = pair.build_args
    # An unknown dataset fails before the counts, with the registered names.
    dataset = data.get_dataset(args.latency_dataset).name if args.latency_dataset else None
    rec = measure.ntire_counts(pair.deployed, build["colors"], build_args=build)
    if dataset:
        net = "merged" if pair.merged else "training-time"
        rec.latency = measure.ntire_latency_of(pair.deployed, build["colors"], build["scale"], dataset,
                                               args.latency_images, args.device, net, args.latency_warmup)
        rec.latency_dataset = dataset
    _print_ntire(rec)
    return rec


def _print_ntire(r: NtireCounts) -> None:
    h, w = r.flops_lr_hw
    print(f"NTIRE protocol (deployed net, one {w}x{h} LR input)")
    print(f"  params                      {r.params:,}")
    print(f"  FLOPs, fvcore (2024)        {r.flops_fvcore / 1e9:.2f} G  (1 multiply-add = 1)")
    print(f"  FLOPs, 2022 counter         {r.flops_ntire2022 / 1e9:.2f} G  (conv MACs + activation outputs)")
    print(f"  conv MACs, no bias          {r.macs_conv_no_bias / 1e9:.2f} G")
    print(f"  activations (fvcore)        {r.activations / 1e6:.2f} M")
    print(f"  conv layers                 {r.convs}")
    if r.latency is not None:
        lat = r.latency
        print(f"  latency ({r.latency_dataset}, {lat.images} images, {lat.dtype}, batch 1, {lat.timer}, "
              f"{lat.device_name}): {lat.ms_mean:.2f} ms mean (median {lat.ms_median:.2f}, "
              f"min {lat.ms_min:.2f}, max {lat.ms_max:.2f})")
    for note in r.notes:
        print(f"  note: {note}")


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
    if r.processes > 1:  # the spread that matters: between fresh processes (repbench/measure/processes.py)
        spread = (f"median of {r.processes} processes, range {r.images_per_s_min:.2f}-{r.images_per_s_max:.2f}, "
                  f"IQR {r.images_per_s_q1:.2f}-{r.images_per_s_q3:.2f}; each {r.repeats} x {r.iters_per_repeat} batches")
    else:
        spread = (f"IQR {r.images_per_s_q1:.2f}-{r.images_per_s_q3:.2f} over {r.repeats} x {r.iters_per_repeat} "
                  "batches of one process; add --processes N for the spread between processes")
    line = f"{head}: {r.images_per_s:.2f} img/s ({spread})"
    if r.shared_from:
        line += f" [timed once for this network: {r.shared_from}]"
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
        "conv layers; optionally time inference (--throughput) and training (--train-speed), and add the NTIRE "
        "Efficient SR challenges' figures (--protocol ntire). Raw numbers go to --out.",
    )
    what = p.add_argument_group("model")
    what.add_argument("--method", help="registered method (see `repbench methods`)")
    what.add_argument("--size", help="size, e.g. M4C16 (EDSR: R5C32)")
    what.add_argument("--scale", type=int, default=4, help="upscaling factor (default 4)")
    what.add_argument("--colors", type=int, default=1, help="1 = Y channel (default), 3 = RGB")
    what.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="build option, repeatable")
    add_model_option(what, prefer="training", extra=", instead of --method/--size")
    p.add_argument("--out", metavar="FILE.json", help="write the raw numbers to this JSON file")
    p.add_argument("--protocol", choices=("paper", "ntire"), default="paper",
                   help="paper (default): the paper's counts (and timings when asked); ntire: also the NTIRE Efficient SR challenges' "
                   "figures at one 256x256 LR input (params, fvcore FLOPs, the 2022 counter's FLOPs, conv MACs, "
                   "activations, #conv), in measure.json's `ntire` record")

    nt = p.add_argument_group("NTIRE latency (--protocol ntire; fp32, batch 1, one image at a time)")
    nt.add_argument("--latency-dataset", metavar="NAME",
                    help="time the deployed net on this registered dataset's LR images (see `repbench data list`); "
                    "on --device, with CUDA events on a GPU, perf_counter on the CPU")
    nt.add_argument("--latency-images", type=int, metavar="N", help="time only the first N images (default: all)")
    nt.add_argument("--latency-warmup", type=int, default=5, metavar="N",
                    help="untimed forwards on the first image before timing (default 5; the challenges used none)")

    _add_throughput_options(p)

    tr = p.add_argument_group("training speed (default: the paper's batch 32, LR patch 64)")
    tr.add_argument("--train-speed", action="store_true", help="time forward + backward + Adam steps")
    tr.add_argument("--train-batch", type=int, default=32, help="patches per training step (default 32)")
    tr.add_argument("--train-patch", type=int, default=64, help="LR patch side (default 64)")
    tr.add_argument("--train-warmup", type=int, default=3, help="untimed steps before timing (default 3)")
    tr.add_argument("--train-iters", type=int, default=10, help="timed steps; the median is reported (default 10)")
    tr.add_argument("--train-threads", type=int, metavar="N",
                    help="CPU threads of the training step (default: --threads); the pipeline uses the threads its "
                    "training jobs use, so the synthetic step and the runs' own seconds time the same thing")
    p.set_defaults(func=measure_model)


def _add_throughput_options(p: argparse.ArgumentParser) -> None:
    th = p.add_argument_group("throughput (default: the paper's protocol, batch 4, LR 320x180)")
    th.add_argument("--throughput", action="store_true", help="time inference of the merged and unmerged nets")
    th.add_argument("--no-unmerged", action="store_true", help="skip the training-time (unmerged) net")
    th.add_argument("--processes", type=int, default=1, metavar="N",
                    help="time in N fresh processes, one after another: the figure is the median of their medians, "
                    "the spread is between processes, which one process's repeats cannot show (default 1)")
    th.add_argument("--deployed-only", action="store_true",
                    help="time only the deployed net (a timing that runs of the same network share)")
    th.add_argument("--deployed-timing", metavar="FILE.json",
                    help="take the deployed net's throughput from this --deployed-only measure.json (checked to be "
                    "the same network) and time only the training-time net")
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
    th.add_argument("--devices", metavar="YAML", help="extra device peaks (see repbench.measure.peaks.load_yaml)")
