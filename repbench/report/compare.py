"""The one rule for a difference against a paper's figure: Δ only on the same data, at the table's budget.

A figure of ours and a figure the paper printed are subtracted only when both were measured on the
same test set, in the same channel convention (Y or RGB), at the same scale, and with the same border
shaved where the paper's figure records one. Where a table names the training budget of its
experiment (the NTIRE tables), a run trained for other iterations gets no Δ either. Otherwise the
paper's figure stands beside ours with its set and convention named ("29.13 (DIV2K-valid RGB)") and
the Δ cell says why there is none ("no Δ (other test set)").

What the paper measured on comes from the reference file (`Reference.figure`: the table's `setting`
and its per-set columns), what we measured on from the run's eval records, never from column names.
Every table that prints a Δ against a paper number goes through this module (`paper_delta`, or
`why_no_delta` for a combined PSNR / SSIM cell, and `paper_value`): Tables 1, 2 and 4-7, the NTIRE tables
and the published-models table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repbench.report.references import Figure
from repbench.results.values import as_float
from repbench.report.numbers import MISSING

RULE_WORDS = (
    "Δ = ours − paper, printed only where both figures are on the same test set, channel (Y or RGB) and scale "
    "(and border, where the paper records one); elsewhere the paper's figure stands beside ours with its set and "
    "channel named, and the Δ cell says why there is none."
)


def mismatches(ours: Figure, paper: Figure) -> list[str]:
    """Why the two figures measure different things (empty: the same data, a Δ means something)."""
    why = []
    if ours.dataset is None or paper.dataset is None or ours.dataset != paper.dataset:
        why.append("other test set")
    if paper.channel is None:
        why.append("paper's channel not stated")
    elif ours.channel != paper.channel:
        why.append("other channel")
    if ours.scale is None or paper.scale is None or ours.scale != paper.scale:
        why.append("other scale")
    if paper.border is not None and ours.border != paper.border:
        why.append("other border")
    return why


def comparable(ours: Figure, paper: Figure) -> bool:
    return not mismatches(ours, paper)


@dataclass(frozen=True)
class Budget:
    """A run's training iterations and those its table's experiment trains (None: no single budget)."""

    run: int | None
    table: int | None

    def mismatch(self) -> str | None:
        if self.table is None:
            return "no single budget in this table"
        if self.run is None:
            return "iterations not recorded"
        if self.run != self.table:
            return f"trained {self.run:,} it., this table's experiment {self.table:,}"
        return None


def why_no_delta(ours: Figure, paper: Figure, budget: Budget | None = None) -> str | None:
    """The reasons, in words, that a Δ of these two figures would not mean what it says; None: it does."""
    why = mismatches(ours, paper)
    if budget is not None and (off := budget.mismatch()):
        why.append(off)
    return "; ".join(why) or None


def paper_delta(mine: Any, theirs: Any, ours: Figure, paper: Figure, digits: int = 2,
                budget: Budget | None = None) -> str:
    """`ours − paper` as a cell (`+0.08`), or `no Δ (why)` when the rule refuses it; MISSING without both."""
    from repbench.report.numbers import fmt_delta  # not at the top: markdown's header imports RULE_WORDS from here

    a, b = as_float(mine), as_float(theirs)
    if a is None or b is None:
        return MISSING
    why = why_no_delta(ours, paper, budget)
    return f"no Δ ({why})" if why else fmt_delta(a - b, digits)


def paper_value(text: str, ours: Figure, paper: Figure) -> str:
    """A formatted paper figure; named with its set and convention when ours is on other data."""
    if text == MISSING or comparable(ours, paper):
        return text
    return f"{text} ({paper.words(ours)})"
