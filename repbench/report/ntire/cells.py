"""Cells, conventions and notes shared by the NTIRE tables."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


from repbench.report.compare import Budget, paper_delta, paper_value
from repbench.report.markdown import footer, md_table
from repbench.report.numbers import fmt_delta, fmt_float, fmt_int, fmt_mpx, fmt_seeds
from repbench.report.references import Figure
from repbench.report.cells import mark_notes
from repbench.results.checks import MARK
from repbench.results.seeds import SPREAD_WORDS
from repbench.results.values import as_float
from repbench.report.numbers import MISSING
from repbench.report.ntire.runs import FLOPS_SIDE, SCALE, NtireData, NtireRun
from repbench.results.notes import span


@dataclass(frozen=True)
class Versus:
    """How an NTIRE table sets a run's PSNR against a paper row (compare's rule): our scored set (RGB, x4,
    the run's border) against the paper's figure (Reference.figure), at the iterations the table's
    experiment trains (NtireData.budget)."""

    data: NtireData
    paper: Figure
    budget: int | None

    def ours(self, run: NtireRun | None) -> Figure:
        return Figure(self.data.dataset, "RGB", SCALE, run.border if run else None)

    def cells(self, run: NtireRun | None, paper_psnr: Any) -> dict[str, str]:
        """`PSNR paper` (named with its set and channel when ours is on other data) and `Δ PSNR`."""
        ours = self.ours(run)
        budget = Budget(run.iterations, self.budget) if run else None
        return {"PSNR paper": paper_value(fmt_float(paper_psnr, 2), ours, self.paper),
                "Δ PSNR": paper_delta(run.psnr if run else None, paper_psnr, ours, self.paper, 2, budget)}

    def words(self) -> str:
        """The header sentence on the budget columns and the budget a Δ needs."""
        at = f"{self.budget:,} iterations" if self.budget else "no single budget (so no run gets a Δ)"
        return (" *Iters* and *LR Mpx* are each run's training iterations and the millions of LR pixels it trained "
                "on (iterations x batch x LR patch², stage by stage; train.json `budget`, else config.yaml). A run is "
                f"compared with its paper row only at the budget this table's experiment trains: {at}.")

    def notes(self, runs: Iterable[NtireRun | None]) -> list[str]:
        """A footnote per shown run trained for other iterations than the table's experiment."""
        off = [r for r in dict.fromkeys(r for r in runs if r is not None)
               if Budget(r.iterations, self.budget).mismatch()]
        if self.budget is None and off:
            counts = ", ".join(f"{n:,}" for n in sorted({r.iterations for r in off if r.iterations}))
            return [f"the runs of this table train different iterations ({counts}) and the preset names none of "
                    "them for it: no run gets a Δ against the paper"]
        return [f"{span(r.name)} trained {fmt_int(r.iterations)} iterations, not the {self.budget:,} this table's "
                "experiment trains: it gets no Δ against the paper row (its own table compares it at its budget)"
                for r in off]


def budget_cells(run: NtireRun | None) -> dict[str, str]:
    """`Iters` and `LR Mpx` of a run."""
    return {"Iters": fmt_int(run.iterations) if run else MISSING, "LR Mpx": fmt_mpx(run.lr_pixels) if run else MISSING}


def psnr_cell(run: NtireRun | None) -> str:
    """The run's PSNR; with several seeds, their mean ± sample std (n)."""
    return MISSING if run is None else fmt_seeds(run.psnr, run.psnr_std, run.n_seeds)


def _seed_words(runs: Iterable[NtireRun | None]) -> str:
    return f" {SPREAD_WORDS}." if any(r is not None and r.n_seeds >= 2 for r in runs) else ""


def run_cell(run: NtireRun | None) -> str:
    return (span(run.name) + (f" {MARK}" if run.marked else "")) if run else "no run"


def with_floors(rows: list[dict[str, str]], data: NtireData, first: str) -> list[dict[str, str]]:
    """The nearest and bicubic floors (RGB PSNR on the same set, x4) above the runs' rows."""
    if not rows:
        return rows
    floors = [{k: "" for k in rows[0]} | {first: f"{label} (floor)", "Run": span(folder), "PSNR": fmt_float(psnr, 2)}
              for label, folder, psnr in data.floors]
    return floors + rows


def floor_notes(data: NtireData, runs: Iterable[NtireRun | None]) -> list[str]:
    notes = mark_notes((r.name for r in runs if r is not None), data.marks, data.restarts)
    if not data.floors:
        notes.append(f"no floor rows: `repbench eval --model bicubic --scale {SCALE} --dataset SET --out "
                     f"RUNS/bicubic-x{SCALE}/eval/SET-x{SCALE}.json` (and `--model nearest`) add them")
    return notes


def patch_text(run: NtireRun | None) -> str:
    if run is None:
        return MISSING
    first = str(run.patch_size) if run.patch_size else MISSING
    if not run.two_stage:
        return first
    start = f" from it. {fmt_int(run.stage2_start)}" if run.stage2_start is not None else ""
    return f"{first} → {run.patch_size_stage2}{start}"


def blocks_text(ours: int | None, paper: int | None) -> str:
    if ours is None:
        return str(paper) if paper is not None else MISSING
    return str(ours) if paper is None or ours == paper else f"{ours} (paper {paper})"


def millions(count: Any) -> float | None:
    value = as_float(count)
    return value / 1e6 if value is not None else None


def percent_change(value: Any, base: Any) -> str:
    a, b = as_float(value), as_float(base)
    return fmt_delta(100 * (a / b - 1), 1) + "%" if a is not None and b else MISSING


def _ms(seconds: Any) -> float | None:
    value = as_float(seconds)
    return value * 1e3 if value is not None else None


def runtime_header(runs: Iterable[NtireRun | None]) -> tuple[str, Callable[[NtireRun | None], str], str]:
    """(column name, cell formatter, header sentence) for the runtime column.

    A forward-time column only when every shown run has per-image forward times; otherwise the
    column says which cells are eval wall time (which includes reading and scoring the images)."""
    timed = [r for r in runs if r is not None and r.runtime_s is not None]
    forward = [r.runtime_forward for r in timed]
    settings = sorted({r.runtime_timing for r in timed if r.runtime_timing})
    if timed and all(r.runtime_timing for r in timed):
        name = "Runtime (ms / image, deployed net)"
        text = ("*Runtime* is the deployed network's one timing (`repbench measure`, fp32, " + "; ".join(settings)
                + "; the median of fresh processes; runs of one deployed network share it), per image: not the "
                "challenge's per-image latency on DIV2K-valid.")
    elif forward and all(forward):
        name = "Runtime (ms, forward)"
        text = "*Runtime* is the mean model forward time per image of `repbench eval` (`per_image[].infer_seconds`)."
    elif forward and not any(forward):
        name = "Runtime (ms, eval wall / image)"
        text = ("*Runtime* is the eval's whole wall time divided by its images (reading, inference and scoring): "
                "an upper bound on the forward time, since these eval records carry no per-image forward time.")
    else:
        name = "Runtime (ms; * = eval wall / image)"
        text = ("*Runtime* is the mean model forward time per image where the eval record has it; cells marked * "
                "are the eval's whole wall time per image (reading and scoring included).")

    def cell(run: NtireRun | None) -> str:
        if run is None or run.runtime_s is None:
            return MISSING
        mark = "" if run.runtime_forward or not (forward and any(forward)) else "*"
        return fmt_float(_ms(run.runtime_s), 2) + mark

    return name, cell, text


def conventions_text(data: NtireData, runs: Iterable[NtireRun | None], costs: bool = True) -> str:
    """The header sentence on PSNR (set, channel, border) and, with `costs`, on params and FLOPs."""
    runs = list(runs)
    borders = sorted({r.border for r in runs if r is not None and r.border is not None})
    border = ", ".join(str(b) for b in borders) if borders else "= scale"
    where = (f"on **{data.dataset_name}**" if data.dataset else "on the validation set (no run was evaluated yet)")
    text = (
        f"*PSNR* is RGB PSNR {where}, border {border} shaved, as in the challenge (the paper scores DIV2K-valid; "
        "a preset without DIV2K-valid evals is scored on its first evaluated set)."
    )
    text += _seed_words(runs)
    if costs:
        text += (
            " *Params* is the deployed (merged) network's `sum(p.numel())`. *FLOPs* are the MACs of the deployed "
            f"network for one {FLOPS_SIDE}x{FLOPS_SIDE} LR input (the challenge's convention), scaled from "
            f"measure.json's count at its LR size by {FLOPS_SIDE}² / (lr_h x lr_w): exact for these fully "
            "convolutional networks, whose every layer runs once per LR pixel. *FLOPs paper* is the paper's "
            "Table 4 (printed for B = 8, its Target row, and B = 7 only)."
        )
    return text


def missing_notes(runs: Iterable[NtireRun | None]) -> list[str]:
    shown = [r for r in runs if r is not None]
    notes = []
    no_measure = [r.name for r in shown if r.params is None and r.macs is None]
    no_eval = [r.name for r in shown if r.psnr is None]
    if no_measure:
        notes.append("no counts.json or measure.json yet (run `repbench measure`): " + ", ".join(span(n) for n in no_measure))
    if no_eval:
        notes.append("no RGB PSNR on the chosen set yet (run `repbench eval`): " + ", ".join(span(n) for n in no_eval))
    return notes


def finish_table(lines: list[str], notes: list[str]) -> str:
    return "\n".join(lines + footer(notes)).rstrip() + "\n"


def table_lines(rows: list[dict[str, str]], left: Iterable[str]) -> list[str]:
    left = set(left)
    return [md_table(rows, {k for k in rows[0] if k not in left}), ""] if rows else []


def ratio_text(value: Any, base: Any) -> str:
    a, b = as_float(value), as_float(base)
    return f"{a / b:.2f}x" if a is not None and b else MISSING
