"""The budget sweep's Markdown: the ranking at each budget, where the curves cross, the time each model
needs to reach bicubic + 1.0 / + 1.5 dB, and every run of the sweep (repbench.report.sweep.data)."""
from __future__ import annotations

from typing import Any

from repbench.report.cells import fmt_marked, fmt_spread
from repbench.report.markdown import md_table
from repbench.report.numbers import fmt_delta, fmt_duration, fmt_float, fmt_int
from repbench.results.notes import span
from repbench.results.seeds import SPREAD_WORDS
from repbench.report.sweep.data import TARGETS_DB, Curve, Reach, budgets, crossings, ranking, time_to
from repbench.report.tables.later import fmt_flops, training_form
from repbench.report.numbers import MISSING


def _budget_label(iterations: int) -> str:
    return f"{iterations:,} it."


def ranking_table(curves: list[Curve], column: str, name: str) -> list[str]:
    """Models x budgets: `#rank mean ± std (n)` at each budget, the best in bold, `≈ best` within the spread."""
    steps = budgets(curves)
    ranks = {n: {r.curve.label: r for r in ranking(curves, n, column)} for n in steps}
    last = next((n for n in reversed(steps) if ranks[n]), None)
    order = sorted(curves, key=lambda c: ranks[last][c.label].rank if last and c.label in ranks[last] else 10**6)
    rows = []
    for curve in order:
        row = {"Model": curve.label}
        for n in steps:
            r = ranks[n].get(curve.label)
            row[_budget_label(n)] = f"#{r.rank} {fmt_marked(r.point.row, column, r.best, r.tied)}" if r else MISSING
        rows.append(row)
    if not rows:
        return []
    return [f"### {name}", "", md_table(rows, {k for k in rows[0] if k != "Model"}), ""]


def crossing_lines(curves: list[Curve], column: str, name: str) -> list[str]:
    """One bullet per overtaking the seeds can tell apart at both ends, with the two gaps; the order
    changes within the seed noise in one line after them, named but not presented as results."""
    found = crossings(curves, column)
    if not found:
        return [f"- {name}: no two curves cross between the budgets both were trained at."]
    out = [f"- {name}: **{c.winner}** overtakes {c.loser} between {c.lo:,} and {c.hi:,} iterations "
           f"({fmt_delta(c.gap_lo, 2)} → {fmt_delta(c.gap_hi, 2)} dB)." for c in found if not c.within_spread]
    if not out:
        out.append(f"- {name}: no overtaking that the seed spread can tell apart at both ends.")
    noise = [c for c in found if c.within_spread]
    if noise:
        pairs = "; ".join(f"{c.winner} over {c.loser} at {c.lo:,}-{c.hi:,}" for c in noise)
        changes = f"{len(noise)} order change" + ("s" if len(noise) != 1 else "")
        out.append(f"- {name}, within the seed noise at one end (not results): {changes}: {pairs}.")
    return out


def _reach_cell(reach: Reach) -> str:
    if not reach.reached:
        return f"not reached (best {fmt_float(reach.best, 2)} dB)" if reach.best is not None else MISSING
    bound = "≤ " if reach.at_first else "≈ "
    iterations = f"{bound}{reach.iterations:,.0f} it."
    if reach.seconds is None:
        return f"{iterations} (no training seconds)"
    return f"{bound}{fmt_duration(reach.seconds)} ({iterations})"


def time_to_table(curves: list[Curve], column: str, name: str, bicubic: float | None) -> list[str]:
    """Models x targets (bicubic + TARGETS_DB on `name`): the training time and iterations to reach each."""
    if bicubic is None:
        return [f"No bicubic floor on {name}: the targets (bicubic + " + " / + ".join(f"{t:.1f}" for t in TARGETS_DB)
                + " dB) are not defined.", ""]
    heads = [f"bicubic + {t:.1f} dB ({bicubic + t:.2f} dB)" for t in TARGETS_DB]
    reaches = {c.label: [time_to(c, column, bicubic + t) for t in TARGETS_DB] for c in curves}
    order = sorted(curves, key=lambda c: tuple((r.seconds or r.iterations or 0) if r.reached else float("inf")
                                                for r in reaches[c.label]))
    rows = [{"Model": c.label, **{h: _reach_cell(r) for h, r in zip(heads, reaches[c.label])}} for c in order]
    return [md_table(rows, set(heads)), ""] if rows else []


def run_table(curves: list[Curve], columns: list[tuple[str, str]]) -> list[str]:
    """Every point of the sweep: its run, budget, time, FLOPs and scores."""
    rows = []
    for curve in curves:
        for p in curve.points:
            r: dict[str, Any] = p.row
            row = {"Model": curve.label, "Run": span(p.run), "Training form": training_form(r), "Iters": fmt_int(p.iterations),
                   "Seeds": fmt_int(r.get("n_seeds")), "Train s": fmt_spread(r, "train_seconds", 1),
                   "s/iter": fmt_float(r.get("sec_per_iter"), 4), "Train FLOPs": fmt_flops(p.flops)}
            row.update({f"{name} PSNR": fmt_spread(r, column, 2) for column, name in columns})
            rows.append(row)
    if not rows:
        return []
    return [md_table(rows, {k for k in rows[0] if k not in ("Model", "Run", "Training form")}), ""]


def sweep_words(channel: str, first: str) -> str:
    from repbench.training.flops import RULE

    return (
        f"Every model of the sweep is trained at each budget (iterations) with the same recipe scaled to the budget: "
        "the `short` profile's warm-up and single cosine decay to zero are fractions of the run, so a 100-iteration "
        f"run decays to zero at step 100 as a 6,400-iteration one does at step 6,400. PSNR-{channel} (border = scale "
        f"shaved). Each budget is a run of its own; *Train s* is its measured training time (train.json, validation "
        f"and checkpoint writes excluded), *Train FLOPs* {RULE} (train.json `budget.train_flops`). *#k*: the rank of "
        f"the model's mean PSNR at that budget; **bold**: the best printed mean; *≈ best*: not separable from it "
        f"(the means differ by no more than the two rows' standard deviations together; judged only where both have "
        f"at least two seeds). {SPREAD_WORDS}; n = seeds. *Where the curves cross*: an overtaking is a result only "
        f"where the two differ by more than their seed spreads together at both budgets; a budget trained with one "
        f"seed takes its model's seed spread at its largest budget trained with several. The other order changes are listed "
        f"after them as noise. *Time to PSNR*: the first budget whose mean {first} PSNR "
        "reaches the target, interpolated from the budget before it (PSNR linear in log seconds and in log "
        "iterations); ≤ where the smallest budget already reaches it."
    )
