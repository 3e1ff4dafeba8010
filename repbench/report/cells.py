"""Table cells that carry what a single number hides: the seed spread, ties within it, and the † of
runs `repbench check` found under-trained. Shared by every Markdown table and the leaderboard."""
from __future__ import annotations

from typing import Any, Hashable, Iterable

from repbench.report.checks import DEFINITION, MARK
from repbench.report.markdown import fmt_float
from repbench.report.seeds import SPREAD_WORDS, separable, spread
from repbench.report.values import MISSING, REFERENCE_METHODS
from repbench.report.mdescape import span

TIE = "≈"
TIE_WORDS = (
    f"{TIE}: not separable from the best row of its group on that set (the means differ by no more than the "
    "two rows' standard deviations together); judged only where both rows have at least two seeds."
)


def fmt_spread(row: dict[str, Any] | None, column: str, digits: int = 2) -> str:
    """`29.41` for one seed, `29.41 ± 0.05 (n=3)` for several (the mean and the sample std)."""
    if row is None:
        return MISSING
    mean, std, n = spread(row, column)
    if mean is None:
        return MISSING
    text = fmt_float(mean, digits)
    if n >= 2:
        text += f" ± {fmt_float(std, digits)} (n={n})"
    return text


def ties(rows: Iterable[dict[str, Any]], column: str, key: Hashable = "run") -> set[Any]:
    """Rows (by `key`) whose mean is not separable from the best mean of `rows` (the best excluded).
    Reference upsamplers do not compete."""
    scored = [r for r in rows if r.get("method") not in REFERENCE_METHODS and spread(r, column)[0] is not None]
    if len(scored) < 2:
        return set()
    best = max(scored, key=lambda r: spread(r, column)[0])
    return {r[key] for r in scored if r is not best and separable(best, r, column) is False}


def label(text: str, run: str | None, marks: dict[str, list[str]]) -> str:
    return f"{text} {MARK}" if run is not None and run in marks else text


def seeds_in(rows: Iterable[dict[str, Any]]) -> bool:
    return any((r.get("n_seeds") or 1) > 1 for r in rows if r is not None)


def legend(rows: Iterable[dict[str, Any]]) -> str:
    """The header sentence on spreads and ties, when some row has several seeds."""
    return f"{SPREAD_WORDS}; n = seeds with a score. {TIE_WORDS}" if seeds_in(rows) else ""


def mark_notes(runs: Iterable[str | None], marks: dict[str, list[str]],
               restarts: dict[str, list[str]] | None = None) -> list[str]:
    """Footnotes for the marked runs among `runs` (the definition, then each run and why), then for
    the runs restarted after a loss spike (`restarts`, see ReportContext.restarts)."""
    runs = [r for r in dict.fromkeys(runs) if r is not None]
    shown = [r for r in runs if r in marks]
    notes = [DEFINITION] + [f"{MARK} {span(r)}: " + "; ".join(marks[r]) for r in shown] if shown else []
    return notes + [f"{span(r)}: " + "; ".join(restarts[r]) for r in runs if r in (restarts or {})]
