"""The paper's Table 3: training time, ECBSR vs RepSR, each figure labelled with the form that trained.

The paper's ECBSR trained with all its branches. Ours can also train it collapsed (one conv per block
rebuilt from the branches at every step: the same function and gradients, exact), which is far
faster and is no longer the paper's comparison. So ECBSR appears in both forms: RepSR's ratio is
stated against the branched form (the paper's setting), and the collapsed form is a separate finding.
"""
from __future__ import annotations

from typing import Any

from methods import registry

from repbench.report.cells import fmt_spread, seeds_in
from repbench.report.context import ReportContext
from repbench.report.markdown import fill_hint, footer, header, md_table
from repbench.report.numbers import fmt_delta, fmt_duration, fmt_float, fmt_int
from repbench.results.notes import span
from repbench.report.references import Reference
from repbench.results import members
from repbench.results.seeds import SPREAD_WORDS
from repbench.results.values import as_float, size_rank, method_label
from repbench.report.numbers import MISSING
from repbench.training.config import PAPER_ITERATIONS

BRANCHED, COLLAPSED, BN_THEN_COLLAPSED = "branched", "collapsed", "branched, then collapsed"
FORM_WORDS = {
    BRANCHED: "branched: every branch runs at every step (the paper's setting)",
    COLLAPSED: "collapsed: one conv per block, rebuilt from the branches at every step (exact; ours)",
    BN_THEN_COLLAPSED: "branched until its BN freeze, collapsed (exact) after it",
}


def train_form(r: dict[str, Any]) -> str:
    """How a run's blocks trained: collapsed (the `collapsed` option), branched, or branched until the
    BN freeze and collapsed after it (a BN block that froze: `bn_frozen_at`)."""
    options = r.get("options_dict") if isinstance(r.get("options_dict"), dict) else {}
    method = registry.REGISTRY.get(str(r.get("method")))
    if options.get("collapsed") or (method is not None and method.trains_collapsed):
        return COLLAPSED
    return BN_THEN_COLLAPSED if as_float(r.get("bn_frozen_at")) is not None else BRANCHED


class _Table3:
    """Our runs keyed by (method, form, size), and the paper's rows keyed by (method, size)."""

    def __init__(self, ours: list[dict[str, Any]], ref: Reference) -> None:
        self.by_key: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for r in ours:
            self.by_key.setdefault((r["method"], train_form(r), str(r["size"])), []).append(r)
        self.paper_of = {(str(p.get("method")), str(p.get("size"))): p for p in ref.rows}
        # a paper row shows with each of our forms of it, or alone (the paper's ECBSR is the branched one)
        keys = set(self.by_key)
        for p in ref.rows:
            method, size = str(p.get("method")), str(p.get("size"))
            if not any(k[0] == method and k[2] == size for k in self.by_key):
                keys.add((method, BRANCHED, size))
        self.keys = sorted(keys, key=lambda k: (_method_order(k[0]), _form_rank(k[1]), size_rank(k[2])))
        self.with_seeds = seeds_in(ours)

    def spi(self, method: str, form: str | None, size: str, column: str = "sec_per_iter") -> float | None:
        """Seconds per iteration of a (method, size), in `form` (None: any form but collapsed)."""
        for (m, f, s), runs in self.by_key.items():
            if m == method and s == size and (f == form or (form is None and f != COLLAPSED)):
                return as_float(runs[0].get(column))
        return None

    def paper_hours(self, method: str, size: str) -> float | None:
        p = self.paper_of.get((method, size))
        minutes = as_float(p.get("train_minutes")) if p else None
        return minutes / 60 if minutes is not None else None

    def sizes(self) -> list[str]:
        return sorted({k[2] for k in self.keys}, key=size_rank)


def _method_order(method: str) -> int:
    return 0 if method == "ecbsr" else 1


def _form_rank(form: str) -> int:
    return [BRANCHED, BN_THEN_COLLAPSED, COLLAPSED].index(form)


def _ratio(mine: float | None, base: float | None) -> str:
    return fmt_delta(100 * (mine / base - 1), 0) + "%" if mine is not None and base else MISSING


def _hours(r: dict[str, Any] | None) -> float | None:
    spi = as_float(r.get("sec_per_iter")) if r else None
    return spi * PAPER_ITERATIONS / 3600 if spi is not None else None


def _table3_row(t: _Table3, key: tuple[str, str, str], r: dict[str, Any] | None) -> dict[str, str]:
    method, form, size = key
    # the paper's rows are its branched ECBSR and its RepSR: a collapsed ECBSR has no paper counterpart
    paper = t.paper_of.get((method, size)) if form != COLLAPSED else None
    synthetic = as_float(r.get("train_speed_sec_per_iter")) if r else None
    vs_branched = method != "ecbsr" or form == COLLAPSED
    return {
        "Method": method_label(method) if paper is None else str(paper.get("label", method)),
        "Training form": form,
        "Size": size,
        "Run": span(r["run"]) if r else "no run",
        "s/iter (training run)": (fmt_spread(r, "sec_per_iter", 4) if t.with_seeds else fmt_float(r.get("sec_per_iter"), 4)) if r else MISSING,
        "Training run: iterations / time / device": (
            f"{fmt_int(r.get('iterations'))} / {fmt_duration(r.get('train_seconds'))} / {r.get('train_device') or MISSING}"
            if r else MISSING
        ),
        "Projected 1000K it. (h)": fmt_float(_hours(r), 1),
        "Ours vs ECBSR (branched)": _ratio(t.spi(method, form, size), t.spi("ecbsr", BRANCHED, size)) if vs_branched else "",
        "Paper time": str(paper.get("train_time")) if paper else ("not in the paper" if form == COLLAPSED else MISSING),
        "Paper (h)": fmt_float(t.paper_hours(method, size), 1) if paper else MISSING,
        "Paper vs ECBSR": _ratio(t.paper_hours(method, size), t.paper_hours("ecbsr", size)) if method == "repsr" else "",
        "Synthetic step s (not in ratio)": fmt_float(synthetic, 4),
        "Synthetic: batch / LR patch / device": (
            f"{fmt_int(r.get('train_speed_batch'))} / {fmt_int(r.get('train_speed_patch'))} / {r.get('train_speed_device') or MISSING}"
            if synthetic is not None else MISSING
        ),
    }


def findings(t: _Table3) -> list[str]:
    """The collapsed-training finding per size, and where the synthetic and per-run ratios of RepSR vs
    branched ECBSR point different ways (and why that can happen)."""
    notes = []
    for size in t.sizes():
        coll, branched, repsr = (t.spi("ecbsr", COLLAPSED, size), t.spi("ecbsr", BRANCHED, size), t.spi("repsr", None, size))
        if coll and branched and repsr:
            notes.append(f"Exact collapsed training at {size}: ECBSR collapsed takes {coll:.4f} s/iter, "
                         f"{branched / coll:.1f} times faster than branched ECBSR and {repsr / coll:.1f} times faster "
                         "than RepSR (a finding of ours, not the paper's comparison)")
        syn_r, syn_e = t.spi("repsr", None, size, "train_speed_sec_per_iter"), t.spi("ecbsr", BRANCHED, size, "train_speed_sec_per_iter")
        if repsr and branched and syn_r and syn_e and (repsr < branched) != (syn_r < syn_e):
            notes.append(f"At {size} the training runs and the synthetic step disagree on which is faster (runs: RepSR "
                         f"{_ratio(repsr, branched)}, synthetic: {_ratio(syn_r, syn_e)}): the runs' seconds include data "
                         "loading, validation, RepSR's collapsed steps after its BN freeze and whatever else ran on the machine "
                         "while they trained; the synthetic step, timed alone, has none of them")
    return notes


def render_table3(ctx: ReportContext) -> str:
    """Training time per iteration, from the training runs themselves (repbench.results.upgrade.budget_of: train.json
    `sec_per_iter`, else budget seconds / iterations; the mean over seeds), by training form. The ratio
    RepSR vs ECBSR (branched) and the projection to the paper's 1000K iterations use only that.
    measure.json's synthetic step time (`repbench measure --train-speed`) is shown apart and feeds nothing."""
    ref = ctx.ref("table3")
    ours = members(ctx.wide, "table3").to_dict("records")
    t = _Table3(ours, ref)
    rows = [_table3_row(t, key, r) for key in t.keys for r in t.by_key.get(key, [None])]  # type: ignore[list-item]
    lines = header(
        "Table 3: training time, ECBSR vs RepSR (x4, Y channel)",
        ctx.preset,
        ctx.runs,
        ref,
        "*s/iter (training run)* is the one definition of training time used here: the training run's own "
        "train.json `sec_per_iter` (its training wall time / iterations; else `budget.train_seconds / "
        "budget.iterations`)" + (", the mean over seeds" if t.with_seeds else "") + ". *Training form*: "
        + "; ".join(f"*{k}* = {v}" for k, v in FORM_WORDS.items()) + ". The paper's ECBSR trained branched, so "
        "*Ours vs ECBSR (branched)* compares RepSR (and our collapsed ECBSR) with branched ECBSR at the same size. "
        f"*Projected 1000K it.* is s/iter times {PAPER_ITERATIONS:,} iterations. *Synthetic step s* is a separate, "
        "synthetic figure (`repbench measure --train-speed`: forward + backward + Adam step of the form the run "
        "trained in, on random batches, no data loading, at the batch, patch and threads shown); it feeds neither "
        f"the projection nor the ratio. The paper measured its times on {ref.setting.get('hardware', 'its GPU cluster')}; "
        "compare ratios, not hours, across machines." + (f" {SPREAD_WORDS}." if t.with_seeds else ""),
        shown=[r["run"] for r in ours],
    )
    if not ours:
        lines += [fill_hint("table3", "x4 Y-channel ecbsr and repsr runs (ideally at M4C16, M10C16, M10C32, M16C64)"), ""]
    left = ("Method", "Training form", "Size", "Run", "Training run: iterations / time / device",
            "Synthetic: batch / LR patch / device", "Paper time")
    right = {k for k in (rows[0] if rows else {}) if k not in left}
    lines += [md_table(rows, right), ""]
    notes = list(ref.notes) + findings(t)
    if mixed := [s for s in t.sizes() if _mixed_devices(t, s)]:
        notes.append("ECBSR and RepSR trained on different devices at " + ", ".join(mixed) + ": their ratio mixes machines")
    return "\n".join(lines + footer(notes)).rstrip() + "\n"


def _mixed_devices(t: _Table3, size: str) -> bool:
    """RepSR and branched ECBSR trained at `size` on different devices."""
    found = {runs[0].get("train_device") for (m, f, s), runs in t.by_key.items()
             if s == size and (m == "repsr" or (m == "ecbsr" and f == BRANCHED))}
    return len(found) > 1
