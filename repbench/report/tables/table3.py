"""The paper's Table 3: training time, ECBSR vs RepSR."""
from __future__ import annotations

from typing import Any, Callable


from repbench.report.context import ReportContext
from repbench.report.markdown import _fill_hint, _footer, _header, _md_table, fmt_delta, fmt_duration, fmt_float, fmt_int
from repbench.report.cells import fmt_spread, seeds_in
from repbench.report.references import Reference
from repbench.report.seeds import SPREAD_WORDS
from repbench.report.runs import members
from repbench.training.config import PAPER_ITERATIONS
from repbench.report.values import method_label, MISSING, _method_rank, _num, _size_rank
from repbench.report.mdescape import span


class _Table3:
    """Our runs and the paper's rows of Table 3, keyed by (method, size)."""

    def __init__(self, ours: list[dict[str, Any]], ref: Reference) -> None:
        self.by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in ours:
            self.by_key.setdefault((r["method"], str(r["size"])), []).append(r)
        self.paper_of = {(str(p.get("method")), str(p.get("size"))): p for p in ref.rows}
        keys = [(str(p.get("method")), str(p.get("size"))) for p in ref.rows]
        for r in sorted(ours, key=lambda r: (_size_rank(r["size"]), _method_rank(r["method"]))):
            if (r["method"], str(r["size"])) not in keys:
                keys.append((r["method"], str(r["size"])))
        self.keys = list(dict.fromkeys(keys))
        self.with_seeds = seeds_in(ours)

    def ours_spi(self, method: str, size: str) -> float | None:
        runs = self.by_key.get((method, size), [])
        return _num(runs[0].get("sec_per_iter")) if runs else None

    def paper_hours(self, method: str, size: str) -> float | None:
        p = self.paper_of.get((method, size))
        minutes = _num(p.get("train_minutes")) if p else None
        return minutes / 60 if minutes is not None else None

    def mixed_devices(self) -> list[str]:
        """Sizes at which RepSR and ECBSR trained on different devices: their ratio mixes machines."""
        mixed = []
        for method, size in self.keys:
            mine, ecb = self.by_key.get((method, size)), self.by_key.get(("ecbsr", size))
            if method == "repsr" and mine and ecb and len({mine[0].get("train_device"), ecb[0].get("train_device")}) > 1:
                mixed.append(size)
        return mixed


def _hours(r: dict[str, Any] | None) -> float | None:
    spi = _num(r.get("sec_per_iter")) if r else None
    return spi * PAPER_ITERATIONS / 3600 if spi is not None else None


def _reduction(size: str, mine: float | None, get: Callable[[str], float | None]) -> str:
    ecb = get(size)
    return fmt_delta(100 * (mine / ecb - 1), 0) + "%" if mine is not None and ecb else MISSING


def _table3_row(t: _Table3, method: str, size: str, r: dict[str, Any] | None) -> dict[str, str]:
    paper = t.paper_of.get((method, size))
    synthetic = _num(r.get("train_speed_sec_per_iter")) if r else None
    repsr = method == "repsr"
    return {
        "Method": method_label(method) if paper is None else str(paper.get("label", method)),
        "Size": size,
        "Run": span(r['run']) if r else "no run",
        "s/iter (training run)": (fmt_spread(r, "sec_per_iter", 4) if t.with_seeds else fmt_float(r.get("sec_per_iter"), 4)) if r else MISSING,
        "Training run: iterations / time / device": (
            f"{fmt_int(r.get('iterations'))} / {fmt_duration(r.get('train_seconds'))} / {r.get('train_device') or MISSING}"
            if r else MISSING
        ),
        "Projected 1000K it. (h)": fmt_float(_hours(r), 1),
        "Ours vs ECBSR": _reduction(size, t.ours_spi(method, size), lambda s: t.ours_spi("ecbsr", s)) if repsr else "",
        "Paper time": str(paper.get("train_time")) if paper else MISSING,
        "Paper (h)": fmt_float(t.paper_hours(method, size), 1),
        "Paper vs ECBSR": _reduction(size, t.paper_hours(method, size), lambda s: t.paper_hours("ecbsr", s)) if repsr else "",
        "Synthetic step s (not in ratio)": fmt_float(synthetic, 4),
        "Synthetic: batch / LR patch / device": (
            f"{fmt_int(r.get('train_speed_batch'))} / {fmt_int(r.get('train_speed_patch'))} / {r.get('train_speed_device') or MISSING}"
            if synthetic is not None else MISSING
        ),
    }


def render_table3(ctx: ReportContext) -> str:
    """Training time per iteration, from the training runs themselves (runs.budget_fields: train.json
    `sec_per_iter`, else budget seconds / iterations; the mean over seeds). The ratio RepSR vs ECBSR and the
    projection to the paper's 1000K iterations use only that. measure.json's synthetic step time
    (`repbench measure --train-speed`) is shown apart and feeds nothing."""
    ref = ctx.ref("table3")
    ours = members(ctx.wide, "table3").to_dict("records")
    t = _Table3(ours, ref)
    rows = [_table3_row(t, method, size, r) for method, size in t.keys
            for r in t.by_key.get((method, size), [None])]  # type: ignore[list-item]
    lines = _header(
        "Table 3: training time, ECBSR vs RepSR (x4, Y channel)",
        ctx.preset,
        ctx.runs,
        ref,
        "*s/iter (training run)* is the one definition of training time used here: the training run's own "
        "train.json `sec_per_iter` (its training wall time / iterations; else `budget.train_seconds / "
        "budget.iterations`)" + (", the mean over seeds" if t.with_seeds else "") + ". *Projected 1000K it.* is it "
        f"times {PAPER_ITERATIONS:,} iterations, and *Ours vs ECBSR* is RepSR's s/iter vs ECBSR's at the same size. "
        "*Synthetic step s* is a separate, synthetic figure (`repbench measure --train-speed`: forward + backward + "
        "Adam step on random batches, no data loading, at the batch and patch shown); it feeds neither the projection "
        f"nor the ratio. The paper measured its times on {ref.setting.get('hardware', 'its GPU cluster')}; "
        "compare ratios (*vs ECBSR*), not hours, across machines." + (f" {SPREAD_WORDS}." if t.with_seeds else ""),
    )
    if not ours:
        lines += [_fill_hint("table3", "x4 Y-channel ecbsr and repsr runs (ideally at M4C16, M10C16, M10C32, M16C64)"), ""]
    left = ("Method", "Size", "Run", "Training run: iterations / time / device", "Synthetic: batch / LR patch / device", "Paper time")
    right = {k for k in (rows[0] if rows else {}) if k not in left}
    lines += [_md_table(rows, right), ""]
    notes = list(ref.notes)
    if t.mixed_devices():
        notes.append("ECBSR and RepSR trained on different devices at " + ", ".join(t.mixed_devices()) + ": their ratio mixes machines")
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"
