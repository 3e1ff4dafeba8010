"""Table cells that carry what a single number hides: the seed spread, ties within it, and the † of
runs `repbench check` found under-trained. Shared by every Markdown table and the leaderboard."""
from __future__ import annotations

from typing import Any, Hashable, Iterable, Sequence

from repbench.results.checks import DEFINITION, MARK
from repbench.report.numbers import fmt_float, fmt_int, fmt_seeds
from repbench.results.seeds import SPREAD_WORDS, separable, spread
from repbench.results.values import REFERENCE_METHODS, relevant_options
from repbench.report.numbers import MISSING
from repbench.results.notes import span

TIE = "≈"
TIE_WORDS = (
    f"{TIE}: not separable from the best row of its group on that set (the means differ by no more than the "
    "two rows' standard deviations together); judged only where both rows have at least two seeds."
)


def fmt_spread(row: dict[str, Any] | None, column: str, digits: int = 2) -> str:
    """`29.41` for one seed, `29.41 ± 0.05 (n=3)` for several (the mean and the sample std)."""
    return MISSING if row is None else fmt_seeds(*spread(row, column), digits=digits)


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


BEST_WORDS = (
    "**Bold**: the best mean PSNR of its size on that test set among our runs of that size (every run "
    "that prints the same best value is bold; a size with one scored run has nothing to be best against)."
)
TIE_BEST_WORDS = (
    f"*{TIE} best* (beside n): not separable from the bold value of its size on that set (the means differ "
    "by no more than the two rows' standard deviations together); judged only where both rows have at least "
    "two seeds."
)


def best_runs(rows: Iterable[dict[str, Any]], column: str, key: Hashable = "run", digits: int = 2) -> set[Any]:
    """Rows (by `key`) whose mean of `column`, as printed to `digits`, is the best printed mean: every
    tie is marked. Reference upsamplers do not compete; fewer than two scored rows mark nothing."""
    scored = [(r[key], round(mean, digits)) for r in rows
              if r.get("method") not in REFERENCE_METHODS and (mean := spread(r, column)[0]) is not None]
    if len(scored) < 2:
        return set()
    top = max(value for _, value in scored)
    return {k for k, value in scored if value == top}


def fmt_marked(row: dict[str, Any], column: str, best: bool, tied: bool, digits: int = 2) -> str:
    """fmt_spread with the marks of a ranked cell: the mean in bold when `best`, `≈ best` beside n when
    `tied` (a tie is only judged with several seeds, so n is there)."""
    mean, std, n = spread(row, column)
    if mean is None:
        return MISSING
    text = f"**{fmt_float(mean, digits)}**" if best else fmt_float(mean, digits)
    if n >= 2:
        text += f" ± {fmt_float(std, digits)} (n={n}" + (f", {TIE} best)" if tied and not best else ")")
    return text


def _given(value: Any) -> str | None:
    """A metadata value as text, None when missing (None, NaN, empty)."""
    if value is None or (isinstance(value, float) and value != value) or str(value) in ("", "nan", "None", "<NA>"):
        return None
    return str(value)


def run_facts(row: dict[str, Any] | None) -> dict[str, str]:
    """What can tell two runs shown under one label apart, in words, most telling first: size, options,
    BN strategy and freeze point, training iterations, the folder tag; the run folder last."""
    if row is None or _given(row.get("run")) is None:
        return {}
    options = relevant_options(str(row.get("method")), row.get("options_dict") or {})
    iterations, frozen = fmt_int(row.get("iterations")), fmt_int(row.get("bn_frozen_at"))
    return {
        "size": f"size {_given(row.get('size')) or 'not recorded'}",
        "options": ", ".join(f"{k}={v}" for k, v in options.items()) or "default options",
        "bn": (_given(row.get("bn_strategy")) or "no BN switch").replace("_", " "),
        "frozen": f"BN frozen at {frozen}" if frozen != MISSING else "BN never frozen",
        "iterations": f"{iterations} iters" if iterations != MISSING else "iters not recorded",
        "tag": f"tag {_given(row.get('tag'))}" if _given(row.get("tag")) else "untagged",
        "run": span(row["run"]),
    }


def distinct_labels(labels: Sequence[str], facts: Sequence[dict[str, str]]) -> list[str]:
    """The row labels of one table, each unique: a label shared by several rows gets, in parentheses, the
    facts (run_facts) that differ within its group, else its run folder."""
    out = list(labels)
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(labels):
        groups.setdefault(text, []).append(i)
    for text, members in groups.items():
        if len(members) < 2:
            continue
        keys = [k for k in dict.fromkeys(k for i in members for k in facts[i]) if k != "run"]
        differ = [k for k in keys if len({facts[i].get(k) for i in members}) > 1]
        words = {i: [facts[i][k] for k in differ if facts[i].get(k)] for i in members}
        shared = [i for i in members if [words[j] for j in members].count(words[i]) > 1]
        for i in shared:  # nothing (or not enough) differs: the run folder, which is unique
            words[i] = words[i] + ([facts[i]["run"]] if facts[i].get("run") else [])
        for i in members:
            out[i] = f"{text} ({', '.join(words[i])})" if words[i] else text
    return out
