"""One timing per deployed network: which nets a measurement times, and a timing shared between runs.

Plain, RepVGG, ECBSR and RepSR at one Mx-Cy size deploy to the same network, and the NTIRE runs of one
IMDN-CLB depth deploy to one IMDN. Timed once per run, identical networks read apart by timing noise
alone. The pipeline therefore times each deployed network once (rule `time_deployed`: `repbench
measure --deployed-only`), and every run of that network copies the record (`--deployed-timing FILE`),
after checking that the file timed a network with its own architecture signature. The training-time
net is still timed per run, unless it is that same network (a plain run).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from repbench.errors import RepbenchError
from repbench.measure.models import ModelPair, architecture_signature, pair_nets
from repbench.measure.throughput import ThroughputRecord


def deployed_name(pair: ModelPair) -> str:
    return "merged" if pair.merged else "training-time"


def read_shared(path: str | Path, pair: ModelPair) -> list[ThroughputRecord]:
    """The deployed net's records of a `--deployed-only` measure.json, relabelled for this pair; refused
    (RepbenchError) when that file timed another network."""
    from repbench.measure.processes import record_from_dict

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        stored = [record_from_dict(r) for r in data["throughput"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RepbenchError(f"--deployed-timing {path}: not a measure.json with throughput records ({err}); "
                            "write it with `repbench measure --throughput --deployed-only --out FILE`") from err
    mine = architecture_signature(pair.deployed)
    records = [r for r in stored if r.net in ("merged", "training-time")]
    if not records:
        raise RepbenchError(f"--deployed-timing {path} holds no timing of a deployed net")
    for rec in records:
        if rec.architecture != mine:
            raise RepbenchError(
                f"--deployed-timing {path} timed a network with signature {rec.architecture or 'unknown'}, "
                f"but {pair.source}'s deployed network has {mine}: it is another network; time it on its own")
        rec.net, rec.shared_from = deployed_name(pair), str(path)
    return records


def training_is_deployed(pair: ModelPair) -> bool:
    """The training-time net is the deployed network itself (a plain run): one network, one timing."""
    return pair.merged and architecture_signature(pair.training) == architecture_signature(pair.deployed)


def nets_to_time(pair: ModelPair, *, unmerged: bool, deployed_only: bool, shared: bool, one_net: bool) -> dict[str, Any]:
    """The nets this measurement must time itself: with a shared deployed timing, only a training-time
    net that differs from the deployed one; with --deployed-only, only the deployed net. `one_net`:
    training_is_deployed(pair), whose unmerged timing is the deployed one (same_as_deployed)."""
    nets = pair_nets(pair, unmerged and not deployed_only and not one_net)
    if shared:
        nets.pop(deployed_name(pair), None)
    if deployed_only:
        nets = {k: v for k, v in nets.items() if k == deployed_name(pair)}
    return nets


def same_as_deployed(records: list[ThroughputRecord]) -> list[ThroughputRecord]:
    """Copies of the deployed ('merged') records as the 'unmerged' ones, for a training-time net that is the
    deployed network itself, so the two can never differ by noise."""
    copies = []
    for rec in records:
        if rec.net == "merged":
            twin = copy.deepcopy(rec)
            twin.net = "unmerged"
            copies.append(twin)
    return copies
