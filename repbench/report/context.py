"""Everything a renderer reads: the runs, their frames, the preset and where the references live."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from repbench.report.references import REFERENCES_DIR, Reference, load_reference
from repbench.report.runs import RunSet, load_runs, tidy_frame, wide_frame


@dataclass
class ReportContext:
    runs: RunSet
    tidy: pd.DataFrame
    wide: pd.DataFrame
    preset: str
    references_dir: Path = REFERENCES_DIR
    curves: list[str] | None = None  # Figure 6 runs; None: Table 2's

    def ref(self, table: str, source: str = "repsr2022") -> Reference:
        return load_reference(source, table, self.references_dir)


def build_context(runs_root: str | os.PathLike, preset: str | None = None, curves: Sequence[str] | None = None,
                  references_dir: Path = REFERENCES_DIR) -> ReportContext:
    runs = load_runs(runs_root)
    tidy = tidy_frame(runs)
    return ReportContext(runs, tidy, wide_frame(tidy), preset or Path(runs_root).resolve().name,
                         references_dir, list(curves) if curves else None)

