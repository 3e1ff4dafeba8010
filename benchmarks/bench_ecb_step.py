"""Branched ECBSR training step: ours against a peer implementation, interleaved, with page faults.

    python benchmarks/bench_ecb_step.py                                  # ours only
    python benchmarks/bench_ecb_step.py --peer path/to/basicsr/archs/ecbsr_arch.py

The peer is any file defining BasicSR's `ECBSR(num_in_ch, num_out_ch, num_block, num_channel, with_idt,
act_type, scale)`; it is loaded from that path at run time (its `basicsr` registry import is stubbed),
never copied here. Each round runs one step of every net in turn (A B A B ...), so a change in machine
load hits both alike. Prints the median and range of seconds per step and minor page faults per step,
with glibc's default allocator (--default-allocator) or with repbench's steady one (the default).
"""
from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_peer(path: str, m: int, c: int, scale: int):  # type: ignore[no-untyped-def]
    registry = types.SimpleNamespace(register=lambda *a, **k: (lambda cls: cls))
    for name in ("basicsr", "basicsr.utils", "basicsr.utils.registry"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["basicsr.utils.registry"].ARCH_REGISTRY = registry  # type: ignore[attr-defined]
    spec = importlib.util.spec_from_file_location("peer_ecbsr", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.ECBSR(1, 1, m, c, False, "prelu", scale)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="M10C32")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--patch", type=int, default=64, help="LR patch side")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=6, help="timed steps per net")
    p.add_argument("--peer", metavar="FILE.py", help="a BasicSR-style ecbsr_arch.py to time beside ours")
    p.add_argument("--default-allocator", action="store_true", help="leave glibc's malloc thresholds as they are")
    args = p.parse_args()

    from repbench.device import steady_allocator

    allocator = "glibc defaults" if args.default_allocator else steady_allocator()
    import torch
    import torch.nn.functional as F

    import methods

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    m, c = (int(v) for v in args.size[1:].split("C"))
    nets = {"repbench ECBSR (branched)": methods.build("ecbsr", args.size, 4, 1, collapsed=False)}
    if args.peer:
        nets["peer ECBSR"] = load_peer(args.peer, m, c, 4)
    lr = torch.rand(args.batch, 1, args.patch, args.patch)
    hr = torch.rand(args.batch, 1, 4 * args.patch, 4 * args.patch)
    opts = {k: torch.optim.Adam(n.parameters(), lr=1e-4) for k, n in nets.items()}
    seconds: dict[str, list[float]] = {k: [] for k in nets}
    faults: dict[str, list[int]] = {k: [] for k in nets}
    for round_ in range(args.steps + 1):  # round 0 warms up
        for name, net in nets.items():
            before, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
            opts[name].zero_grad(set_to_none=True)
            F.l1_loss(net(lr), hr).backward()
            opts[name].step()
            if round_:
                seconds[name].append(time.perf_counter() - start)
                faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(f"{args.size}, batch {args.batch}, LR patch {args.patch}, {args.threads} threads; allocator: {allocator}")
    for name in nets:
        s = seconds[name]
        print(f"  {name:28s} {statistics.median(s):.3f} s/step (range {min(s):.3f}-{max(s):.3f}), "
              f"{statistics.median(faults[name]):,.0f} minor page faults/step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
