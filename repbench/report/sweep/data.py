"""A budget sweep's numbers: one curve per model (method and size), one point per budget, and what the
sweep report reads off them: the ranking at each budget, where two curves cross, and the training time
each model needs to reach a PSNR target.

A point is one base run (its seeds folded: mean and sample std, see `repbench.results.seeds`); its budget
is the run's iterations (train.json `budget.iterations`), its time the run's measured training seconds
(mean over seeds), its FLOPs train.json's `budget.train_flops` where recorded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from repbench.report.cells import best_runs, ties
from repbench.results.notes import span
from repbench.results.seeds import separable, spread
from repbench.results.values import as_float, as_int, method_rank, size_rank

TARGETS_DB = (1.0, 1.5)  # time-to-PSNR targets: bicubic + these on the first test set


@dataclass(frozen=True)
class Point:
    run: str  # the base run id (its seeds folded into it)
    iterations: int
    seconds: float | None  # measured training seconds, mean over seeds
    flops: float | None  # train.json budget.train_flops
    row: dict[str, Any] = field(compare=False, repr=False)  # the aggregated row: scores, spreads, n

    def psnr(self, column: str) -> float | None:
        return spread(self.row, column)[0]


@dataclass
class Curve:
    label: str  # the model, e.g. "ECBSR-M4C16" (training-only options such as `collapsed` never split it)
    method: str
    size: str
    points: list[Point]  # by iterations

    def at(self, iterations: int) -> Point | None:
        return next((p for p in self.points if p.iterations == iterations), None)


def sweep_rows(wide: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """The runs of a sweep experiment: as the plan names them, else runs tagged with a budget (`i400`)."""
    return wide[wide["experiments"].map(lambda e: experiment in e)]


def curves(rows: pd.DataFrame) -> tuple[list[Curve], list[str]]:
    """One curve per model label, its points by iterations; and notes on runs left out (no iterations, or a
    second run of the same model at the same budget)."""
    by_label: dict[str, Curve] = {}
    notes = []
    for r in rows.to_dict("records"):
        iterations = as_int(r.get("iterations"))
        if iterations is None:
            notes.append(f"{span(r['run'])}: no iterations in train.json, left out of the sweep")
            continue
        curve = by_label.setdefault(str(r["label"]), Curve(str(r["label"]), str(r["method"]), str(r["size"]), []))
        if curve.at(iterations) is not None:
            notes.append(f"{span(r['run'])}: a second {curve.label} run at {iterations:,} iterations, left out")
            continue
        curve.points.append(Point(str(r["run"]), iterations, as_float(r.get("train_seconds")),
                                  as_float(r.get("train_flops")), r))
    for curve in by_label.values():
        curve.points.sort(key=lambda p: p.iterations)
    ordered = sorted(by_label.values(), key=lambda c: (size_rank(c.size), method_rank(c.method), c.label))
    return ordered, notes


def budgets(curves_: list[Curve]) -> list[int]:
    return sorted({p.iterations for c in curves_ for p in c.points})


@dataclass(frozen=True)
class Ranked:
    curve: Curve
    point: Point
    rank: int  # 1 = the best mean at this budget
    best: bool  # prints the best mean (cells.best_runs)
    tied: bool  # not separable from the best within the seed spreads (cells.ties)


def ranking(curves_: list[Curve], iterations: int, column: str) -> list[Ranked]:
    """The models scored at one budget, best mean first."""
    scored = [(c, p) for c in curves_ if (p := c.at(iterations)) is not None and p.psnr(column) is not None]
    scored.sort(key=lambda cp: -(cp[1].psnr(column) or 0.0))
    rows = [p.row for _, p in scored]
    best, tied = best_runs(rows, column), ties(rows, column)
    return [Ranked(c, p, i + 1, p.run in best, p.run in tied) for i, (c, p) in enumerate(scored)]


@dataclass(frozen=True)
class Crossing:
    winner: str  # the label that overtakes
    loser: str
    lo: int  # between these budgets (iterations)
    hi: int
    gap_lo: float  # winner - loser at lo (< 0) and at hi (> 0), dB
    gap_hi: float
    within_spread: bool  # at lo or hi the two are not separable given their seeds (or their curves' seed noise)


def _scored(curve: Curve, column: str) -> dict[int, Point]:
    return {p.iterations: p for p in curve.points if p.psnr(column) is not None}


def seed_noise(curve: Curve, column: str) -> float | None:
    """The curve's seed noise for its one-seed budgets: the sample standard deviation at its largest
    budget trained with several seeds (None where none was), the measured spread nearest to them. The
    spread shrinks as a run grows (a seed moves a 100-step run the most), so the smallest budgets' would
    call every later difference noise."""
    seeded = [(p.iterations, std) for p in curve.points if (std := spread(p.row, column)[1]) is not None]
    return max(seeded)[1] if seeded else None


def crossings(curves_: list[Curve], column: str) -> list[Crossing]:
    """Every pair of models whose order flips between two consecutive budgets both were trained at."""
    found = []
    for a in curves_:
        for b in curves_:
            sa, sb = _scored(a, column), _scored(b, column)
            common = sorted(set(sa) & set(sb)) if a is not b else []
            noise = (seed_noise(a, column), seed_noise(b, column))
            for lo, hi in zip(common, common[1:]):
                gap_lo = (sa[lo].psnr(column) or 0.0) - (sb[lo].psnr(column) or 0.0)
                gap_hi = (sa[hi].psnr(column) or 0.0) - (sb[hi].psnr(column) or 0.0)
                if gap_lo < 0 < gap_hi:
                    loose = any(separable(sa[n].row, sb[n].row, column, noise) is False for n in (lo, hi))
                    found.append(Crossing(a.label, b.label, lo, hi, gap_lo, gap_hi, loose))
    return sorted(found, key=lambda c: (c.lo, c.winner, c.loser))


@dataclass(frozen=True)
class Reach:
    """When a model first reaches a PSNR target: seconds and iterations, interpolated between budgets."""

    seconds: float | None
    iterations: float | None
    at_first: bool  # already at the smallest budget: an upper bound, not an interpolation
    best: float | None  # the best mean PSNR of the curve (for "not reached")

    @property
    def reached(self) -> bool:
        return self.iterations is not None


def _log_interp(x0: float | None, x1: float | None, frac: float) -> float | None:
    """Between x0 and x1 at `frac`, linear in log x (the budgets double)."""
    if x0 is None or x1 is None or x0 <= 0 or x1 <= 0:
        return None
    return math.exp(math.log(x0) + frac * (math.log(x1) - math.log(x0)))


def time_to(curve: Curve, column: str, target: float) -> Reach:
    """The first budget whose mean PSNR reaches `target`, interpolated (PSNR linear in log time and in log
    iterations) from the budget before it; the first budget itself when it already reaches it."""
    points = list(_scored(curve, column).values())
    values = [p.psnr(column) or 0.0 for p in points]
    best = max(values, default=None)
    for i, (p, value) in enumerate(zip(points, values)):
        if value < target:
            continue
        if i == 0:
            return Reach(p.seconds, float(p.iterations), True, best)
        q, before = points[i - 1], values[i - 1]
        frac = (target - before) / (value - before)
        return Reach(_log_interp(q.seconds, p.seconds, frac), _log_interp(q.iterations, p.iterations, frac), False, best)
    return Reach(None, None, False, best)
