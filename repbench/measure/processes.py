"""Throughput over several fresh processes, and the spread between them.

One process's repeats agree with each other to a few per cent, yet two processes timing the same
network on an idle machine can differ by a third: where the allocator put the tensors, which core the
threads landed on, what the first calls cached. Repeats inside one process cannot see that. So a
figure here is the median over `processes` independent processes (spawned one after another, never
side by side; each interleaves its nets' repeats as `measure_throughput` does), and its spread
(q1/q3, min/max) is the spread of the per-process medians.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from repbench.measure.models import ModelPair, build_pair, load_pair, pair_nets
from repbench.measure.throughput import ThroughputConfig, ThroughputRecord, measure_throughput
from repbench.measure.timing import sample_spread


@dataclass(frozen=True)
class PairSource:
    """How a child process gets the networks: a model file, or a method built from scratch."""

    path: str | None = None
    method: str | None = None
    size: str | None = None
    scale: int = 4
    colors: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> ModelPair:
        if self.path:
            return load_pair(self.path)
        return build_pair(str(self.method), str(self.size), self.scale, self.colors, **self.options)


def _child(source: PairSource, cfg: ThroughputConfig, names: tuple[str, ...]) -> list[dict[str, Any]]:
    from repbench.device import steady_allocator

    steady_allocator()
    pair = source.load()
    nets = {k: v for k, v in pair_nets(pair).items() if k in names}
    return [asdict(r) for r in measure_throughput(nets, pair.build_args["colors"], pair.build_args["scale"], cfg)]


def record_from_dict(data: dict[str, Any]) -> ThroughputRecord:
    from repbench.measure.roofline import Roofline

    known = {f.name for f in fields(ThroughputRecord)}
    rec = ThroughputRecord(**{k: v for k, v in data.items() if k in known})
    if isinstance(rec.roofline, dict):
        rec.roofline = Roofline(**rec.roofline)
    return rec


def combine(per_process: list[list[ThroughputRecord]]) -> list[ThroughputRecord]:
    """One record per (net, mode): the median over processes of each process's median, with the
    spread between processes; the record kept is the process nearest that median (its roofline)."""
    groups: dict[tuple[str, str], list[ThroughputRecord]] = {}
    for records in per_process:
        for rec in records:
            groups.setdefault((rec.net, rec.mode), []).append(rec)
    out = []
    for recs in groups.values():
        timed = [r for r in recs if r.images_per_s]
        if len(timed) < len(recs):  # a mode that failed in any process is reported as failed
            failed = next(r for r in recs if not r.images_per_s)
            out.append(failed)
            continue
        medians = [float(r.images_per_s) for r in timed]  # type: ignore[arg-type]
        spread = sample_spread(medians)
        rec = min(timed, key=lambda r: abs(float(r.images_per_s) - spread["median"]))  # type: ignore[arg-type]
        rec.images_per_s, rec.ms_per_batch = spread["median"], 1e3 * rec.batch / spread["median"]
        rec.images_per_s_q1, rec.images_per_s_q3 = spread["q1"], spread["q3"]
        rec.images_per_s_min, rec.images_per_s_max = spread["min"], spread["max"]
        rec.process_medians = medians
        rec.processes = len(medians)
        rec.samples = [s for r in timed for s in r.samples]
        out.append(rec)
    return out


def throughput_in_processes(
    source: PairSource, names: tuple[str, ...], cfg: ThroughputConfig, processes: int
) -> list[ThroughputRecord]:
    """Time the named nets of `source` in `processes` fresh processes, one after another."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited from this one
    per_process = []
    for _ in range(processes):
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            per_process.append([record_from_dict(d) for d in pool.submit(_child, source, cfg, names).result()])
    return combine(per_process)
