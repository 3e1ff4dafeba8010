"""One measure.json: counts, throughput records, training speed and the environment, as one record."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


from repbench.measure.counts import Counts
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
