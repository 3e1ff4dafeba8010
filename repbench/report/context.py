"""Everything a renderer reads: the runs, their frames, the preset, the results check and where the
references live.

`wide` has one row per base run (seed runs `<id>-seed<k>` folded into their base id, see `seeds`), with
`undertrained` / `undertrained_reasons` from `checks`; `per_run` keeps one row per run folder."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from repbench.results.checks import CheckResult, check_results
from repbench.report.references import REFERENCES_DIR, Reference, load_reference
from repbench.results.frames import tidy_frame, wide_frame
from repbench.results.load import load_runs
from repbench.results.record import RunSet
from repbench.results.seeds import aggregate, base_id
from repbench.results.notes import span


@dataclass
class ReportContext:
    runs: RunSet
    tidy: pd.DataFrame
    wide: pd.DataFrame
    preset: str
    references_dir: Path = REFERENCES_DIR
    curves: list[str] | None = None  # Figure 6 runs; None: Table 2's
    per_run: pd.DataFrame | None = None  # one row per run folder (seed runs apart)
    check: CheckResult | None = None

    def marks(self) -> dict[str, list[str]]:
        """Base run id -> why its rows are marked under-trained (empty when nothing was found)."""
        return self.check.marks() if self.check else {}

    def restarts(self) -> dict[str, list[str]]:
        """Base run id -> each loss-spike restart of its runs (train.json `lr_backoffs`), in words."""
        out: dict[str, list[str]] = {}
        for run in self.runs.runs:
            for b in run.restarts:
                who = "" if run.name == base_id(run.name) else f"{span(run.name)} "
                out.setdefault(base_id(run.name), []).append(
                    f"{who}restarted after a loss spike by iteration {b.iteration}: trained again from iteration "
                    f"{b.restored_to} at x{b.lr_scale:g} the learning rate (the same rule for every run)")
        return out

    def ref(self, table: str, source: str = "repsr2022") -> Reference:
        return load_reference(source, table, self.references_dir)


def build_context(runs_root: str | os.PathLike, preset: str | None = None, curves: Sequence[str] | None = None,
                  references_dir: Path = REFERENCES_DIR) -> ReportContext:
    runs = load_runs(runs_root)
    tidy = tidy_frame(runs)
    per_run = wide_frame(tidy)
    groups = aggregate(per_run)
    check = check_results(runs.runs, per_run, groups)
    marks = check.marks()
    groups["undertrained"] = groups["run"].map(lambda r: r in marks)
    groups["undertrained_reasons"] = groups["run"].map(lambda r: "; ".join(marks.get(r, [])).replace("`", "") or None)
    return ReportContext(runs, tidy, groups, preset or Path(runs_root).resolve().name,
                         references_dir, list(curves) if curves else None, per_run, check)

