"""Which runs share one deployed-network timing (rule `time_deployed`), read from the plan; no torch.

Runs whose merged networks are one graph on the same shapes (methods.registry.deployed_arch) get one
timing, made on one of their models: a released checkpoint where the plan has one (it needs no
training), else the run of the deployed method itself (plain-M4C8 for every M4C8 method), else the
first by name. Only seed 0 is timed, as before: a seed copy has seed 0's architecture.
"""
from __future__ import annotations

from typing import Iterable, Protocol

from methods import registry


class _Spec(Protocol):
    run_id: str
    method: str
    size: str
    scale: int
    colors: int
    options: dict
    seed: int


def arch_of(spec: _Spec) -> str:
    return registry.deployed_arch(spec.method, spec.size, spec.scale, spec.colors, spec.options)


def timing_groups(specs: Iterable[_Spec], prefer: Iterable[str] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """(run id -> its deployed network's name, network name -> the run whose model is timed). Runs in
    `prefer` (released checkpoints: imported, never trained) are timed first, so that a network's timing
    never waits for a training job."""
    timed, first = [s for s in specs if s.seed == 0], set(prefer)
    arch = {s.run_id: arch_of(s) for s in timed}
    chosen: dict[str, str] = {}
    for s in sorted(timed, key=lambda s: (s.run_id not in first, registry.info(s.method).deploys_as not in ("", s.method),
                                          s.run_id)):
        chosen.setdefault(arch[s.run_id], s.run_id)
    return arch, chosen
