"""Sanity checks of trained results: what `repbench check` lists and what the tables mark with †.

A trained run is **under-trained** (its numbers are not a result of its method) when any of these holds:

1. **Below the bicubic floor**: on some test set its PSNR is lower than bicubic upscaling's at the same
   scale, in the same channel convention (Y-channel runs against bicubic's Y PSNR, RGB runs against
   bicubic's RGB PSNR). Each seed run is checked on its own.
2. **Size inversion**: within one method (same method, scale, colors, options and tag), a larger network
   (more deployed MACs; deployed parameters where MACs were not measured) has a lower mean PSNR than a
   smaller one on some test set, by more than the two runs' seed spreads together
   (mean_small - mean_large > std_small + std_large). A single-seed run has no spread of its own; it
   counts the folder's typical seed std instead: the root mean square of the sample stds of every
   group with two or more seeds at the same scale, channel convention and test set (`typical_spreads`).
   Without such groups, any drop of a single-seed run counts. The larger run is the one marked.
3. **Still improving steeply**: its validation PSNR (metrics.csv `val_psnr`, in iteration order) rose by
   more than STEEP_MIN_DB over the last validation interval, and that last gain is more than
   STEEP_FRACTION of the run's whole validation gain (last value - first value). A converged run, whose
   learning rate has decayed to about zero, gains almost nothing in its last interval. Runs with fewer
   than two validations cannot be judged and are listed as not checked.

Reference upsamplers (bicubic, nearest) are floors, not runs: they are never checked.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd

from repbench.results.frames import frame_datasets
from repbench.results.record import Run
from repbench.results.seeds import base_id, spread
from repbench.results.values import REFERENCE_METHODS, as_int, as_float, dataset_label, is_published, relevant_options
from repbench.results.notes import span

STEEP_MIN_DB = 0.05  # dB gained over the last validation interval
STEEP_FRACTION = 0.05  # ... and more than this share of the run's total validation gain
KINDS = {
    "below_floor": "below the bicubic floor",
    "size_inversion": "size inversions (a larger network scores lower)",
    "still_improving": "still improving steeply at the last validation",
}
MARK = "†"
DEFINITION = (
    f"{MARK} under-trained, not a result: `repbench check` found the run below the bicubic floor on a test set "
    "(same scale and channel), scoring lower than a smaller network of its method beyond the seed spread (a "
    "single-seed run counts the typical seed std of the folder's seeded runs), or "
    f"still gaining more than {STEEP_MIN_DB} dB and more than {STEEP_FRACTION:.0%} of its total validation gain "
    "over its last validation interval."
)


@dataclass(frozen=True)
class Finding:
    kind: str  # a key of KINDS
    run: str  # the run folder the finding is about (the marked one)
    message: str  # why, with the numbers

    @property
    def base(self) -> str:
        return base_id(self.run)


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # what could not be judged, and why
    n_runs: int = 0

    def marks(self) -> dict[str, list[str]]:
        """Base run id -> the reasons its table rows carry the † (seed folders named where they differ)."""
        out: dict[str, list[str]] = {}
        for f in self.findings:
            who = "" if f.run == f.base else f"{span(f.run)}: "
            out.setdefault(f.base, []).append(who + f.message)
        return out


def channel_metric(colors: Any) -> tuple[str, str]:
    """(column prefix, words): RGB runs are scored on RGB PSNR, everything else on the Y channel."""
    return ("psnr_rgb", "RGB") if as_int(colors) == 3 else ("psnr_y", "Y")


def _trained(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["method"].isin(REFERENCE_METHODS)] if len(frame) else frame


def check_floors(per_run: pd.DataFrame) -> tuple[list[Finding], list[str]]:
    findings, unchecked = [], []
    datasets = frame_datasets(per_run)
    floors = per_run[per_run["method"] == "bicubic"]
    for r in _trained(per_run).to_dict("records"):
        metric, words = channel_metric(r.get("colors"))
        floor_rows = floors[floors["scale"] == r.get("scale")]
        below, missing = [], []
        for d in datasets:
            mine = as_float(r.get(f"{metric}_{d}"))
            if mine is None:
                continue
            scored = floor_rows[f"{metric}_{d}"].dropna()
            floor = as_float(scored.iloc[0]) if len(scored) else None
            if floor is None:
                missing.append(dataset_label(d))
            elif mine < floor:
                below.append(f"{dataset_label(d)} {mine:.2f} < {floor:.2f} dB")
        if below:
            findings.append(Finding("below_floor", r["run"], f"{words} PSNR below bicubic x{as_int(r.get('scale'))}: " + ", ".join(below)))
        if missing:
            unchecked.append(f"{span(r['run'])}: no bicubic-x{as_int(r.get('scale'))} {words} PSNR on {', '.join(missing)} "
                             f"(`repbench eval --model bicubic --scale {as_int(r.get('scale'))} --dataset SET --out "
                             f"RUNS/bicubic-x{as_int(r.get('scale'))}/eval/SET-x{as_int(r.get('scale'))}.json`)")
    return findings, unchecked


def _base_tag(tag: Any) -> str:
    return re.sub(r"(^|-)seed[1-9]\d*$", "", str(tag)) if isinstance(tag, str) else ""


def _cost(r: dict[str, Any]) -> tuple[float | None, str]:
    macs = as_float(r.get("macs"))
    if macs is not None:
        return macs, "MACs"
    return as_float(r.get("params_deployed")), "params"


def typical_spreads(groups: pd.DataFrame) -> dict[tuple[int | None, int | None, str], float]:
    """(scale, colors, column) -> root mean square of the seed stds of the groups with >= 2 seeds.

    What one run's score is expected to move by with its seed: the spread a single-seed run counts."""
    stds: dict[tuple[int | None, int | None, str], list[float]] = {}
    trained = _trained(groups)
    for r in trained[~is_published(trained)].to_dict("records"):  # a released model had another budget
        for column in [c for c in r if isinstance(c, str) and c.startswith(("psnr_y_", "psnr_rgb_"))]:
            _, std, n = spread(r, column)
            if n >= 2 and std is not None:
                stds.setdefault((as_int(r.get("scale")), as_int(r.get("colors")), column), []).append(std)
    return {k: (sum(s * s for s in v) / len(v)) ** 0.5 for k, v in stds.items()}


def check_inversions(groups: pd.DataFrame) -> tuple[list[Finding], list[str]]:
    """Pairs of sizes of one method whose PSNR order contradicts their cost order (seed means)."""
    findings, unchecked = [], []
    datasets = frame_datasets(groups)
    typical = typical_spreads(groups)
    families: dict[tuple, list[dict[str, Any]]] = {}
    for r in _trained(groups).to_dict("records"):
        key = (r["method"], as_int(r.get("scale")), as_int(r.get("colors")),
               json.dumps(relevant_options(r["method"], r.get("options_dict")), sort_keys=True, default=str),
               _base_tag(r.get("tag")))
        families.setdefault(key, []).append(r)
    for members in families.values():
        if len({str(m.get("size")) for m in members}) < 2:
            continue
        costed = [m for m in members if _cost(m)[0] is not None]
        for m in members:
            if _cost(m)[0] is None:
                unchecked.append(f"{span(m['run'])}: no counts.json or measure.json (MACs / params), so its size order is not checked")
        costed.sort(key=lambda m: _cost(m)[0])
        for i, small in enumerate(costed):
            for large in costed[i + 1:]:
                if _cost(large)[0] <= _cost(small)[0] or large.get("size") == small.get("size"):
                    continue
                metric, words = channel_metric(large.get("colors"))
                worse = []
                for d in datasets:
                    column = f"{metric}_{d}"
                    ms, ss, ns = spread(small, column)
                    ml, sl, nl = spread(large, column)
                    if ms is None or ml is None or ml >= ms:
                        continue
                    usual = typical.get((as_int(large.get("scale")), as_int(large.get("colors")), column))
                    allowed = sum(s if n > 1 and s is not None else (usual or 0.0) for s, n in ((ss, ns), (sl, nl)))
                    if ms - ml > allowed:
                        seeds = f" (n={nl} vs {ns}, spread {allowed:.2f})" if max(nl, ns) > 1 or usual else ""
                        worse.append(f"{dataset_label(d)} {ml:.2f} < {ms:.2f} dB{seeds}")
                if worse:
                    unit = _cost(large)[1]
                    findings.append(Finding(
                        "size_inversion", large["run"],
                        f"larger than {span(small['run'])} ({unit} {_cost(large)[0]:,.0f} > {_cost(small)[0]:,.0f}) "
                        f"but lower {words} PSNR: " + ", ".join(worse)))
    return findings, unchecked


def validation_gains(metrics: pd.DataFrame | None) -> tuple[float, float, int] | None:
    """(last-interval gain, total gain, number of validations) of metrics.csv's val_psnr; None with < 2."""
    if metrics is None or "val_psnr" not in metrics or "iteration" not in metrics:
        return None
    val = metrics[["iteration", "val_psnr"]].dropna().drop_duplicates("iteration", keep="last").sort_values("iteration")
    if len(val) < 2:
        return None
    v = [float(x) for x in val["val_psnr"]]
    return v[-1] - v[-2], v[-1] - v[0], len(v)


def is_steep(last_gain: float, total_gain: float) -> bool:
    return last_gain > STEEP_MIN_DB and last_gain > STEEP_FRACTION * total_gain


def check_curves(runs: Iterable[Run]) -> tuple[list[Finding], list[str]]:
    findings, unchecked = [], []
    for run in runs:
        if run.method in REFERENCE_METHODS or not run.trained_here:
            continue  # an imported released checkpoint was trained elsewhere: no curve to read here
        if run.metrics_problem:
            unchecked.append(f"{span(run.name)}: {run.metrics_problem}, so convergence is not checked; "
                             "rerun its training to rewrite it")
            continue
        gains = validation_gains(run.metrics)
        if gains is None:
            unchecked.append(f"{span(run.name)}: fewer than two validations in metrics.csv, so convergence is not checked")
            continue
        last, total, n = gains
        if is_steep(last, total):
            share = f"{last / total:.0%} of" if total > 0 else "more than"
            findings.append(Finding(
                "still_improving", run.name,
                f"validation PSNR still rising: +{last:.2f} dB over the last validation interval, {share} its "
                f"total gain of {total:+.2f} dB ({n} validations)"))
    return findings, unchecked


def check_results(runs: Sequence[Run], per_run: pd.DataFrame, groups: pd.DataFrame) -> CheckResult:
    """Every finding of the three checks, in run order within each kind."""
    result = CheckResult(n_runs=sum(1 for r in runs if r.method not in REFERENCE_METHODS))
    for fn, arg in ((check_floors, per_run), (check_inversions, groups), (check_curves, runs)):
        found, unchecked = fn(arg)  # type: ignore[operator]
        result.findings += found
        result.unchecked += unchecked
    return result


def format_result(result: CheckResult, root: Any, restarts: dict[str, list[str]] | None = None) -> str:
    """The readable list `repbench check` prints; `restarts` (ReportContext.restarts) are listed as facts."""
    lines = []
    if result.findings:
        runs = sorted({f.run for f in result.findings})
        lines.append(f"{root}: {len(result.findings)} finding(s) in {len(runs)} of {result.n_runs} trained run(s); "
                     f"these runs are under-trained and their numbers are not results:")
        for kind, title in KINDS.items():
            found = [f for f in result.findings if f.kind == kind]
            if found:
                lines += ["", f"{title}:"] + [f"  {f.run}: {f.message}" for f in found]
    else:
        lines.append(f"{root}: no findings in {result.n_runs} trained run(s)")
    if restarts:
        lines += ["", "restarted after a loss spike (a fact of the run, not a finding):"]
        lines += [f"  {run}: {'; '.join(r.replace('`', '') for r in why)}" for run, why in sorted(restarts.items())]
    if result.unchecked:
        lines += ["", "not checked:"] + [f"  {u.replace('`', '')}" for u in result.unchecked]
    lines += ["", "Definitions: " + DEFINITION.replace("`", "")]
    return "\n".join(lines) + "\n"
