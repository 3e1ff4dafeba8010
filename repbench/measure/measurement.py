"""One measure.json: counts, throughput records, training speed, the environment and, with
`--protocol ntire`, the NTIRE challenges' figures, as one record."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


from repbench.measure.counts import Counts
from repbench.measure.ntire import NtireCounts
from repbench.measure.throughput import ThroughputRecord
from repbench.measure.timing import environment
from repbench.measure.train_speed import TrainSpeedRecord

@dataclass
class Measurement:
    model: dict[str, Any]  # build_args + source
    counts: Counts
    throughput: list[ThroughputRecord] = field(default_factory=list)
    train_speed: TrainSpeedRecord | None = None
    environment: dict[str, str] = field(default_factory=lambda: environment())
    ntire: NtireCounts | None = None  # --protocol ntire only; absent from the JSON otherwise

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.ntire is None:  # the paper protocol's measure.json keeps its keys
            del out["ntire"]
        return out
