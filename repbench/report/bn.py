"""BN artifacts in the report: the runs with BatchNorm and what `repbench bn-diagnose` measured on them.

The workflow runs `repbench bn-diagnose RUN --dataset <first test set> --scale <scale> --out RUN/bn`
for every Table 1 run whose options have `bn: true`; `runs.load_bn_diagnostics` reads RUN/bn/ into
`Run.bn_profile` (Figure 5's per-layer statistics) and `Run.bn_scores` (artifact scores per test set).
This module names those runs by their BN strategy, picks one profile per run for Figure 5 and says
what is missing when there is nothing to show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repbench.report.context import ReportContext
from repbench.results.values import model_label

STRATEGY_LABELS = {"bn": "with BN (never frozen)", "frozen_bn": "frozen BN"}
ARTIFACT_WORDS = (
    "*Artifact score* (`repbench bn-diagnose`, RUN/bn/): mean over the test set's images of Y-PSNR with BN's "
    "population statistics − Y-PSNR with each image's own statistics (dB, border = scale); negative = the "
    "population statistics cost quality, i.e. BN artifacts. *artifact_db*: mean of max(0, −score) per image, "
    "the quality lost to the population statistics (0 for a model tuned to them, as frozen BN is)."
)
DIAGNOSE_CMD = "`repbench bn-diagnose RUN --dataset SET --out RUN/bn`"  # what the workflow's rule bn_diagnose runs


@dataclass(frozen=True)
class BnRun:
    """A run with BatchNorm, raw numbers as bn-diagnose wrote them."""

    run: str
    strategy: str | None  # membership.bn_strategy: 'bn' or 'frozen_bn' (None: not an EDSR BN switch)
    label: str  # the strategy in words; the run name is added when two runs share a strategy
    profile_image: str | None  # the image of the profile below (bn_diagnose.json may hold several)
    profile: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # dataset key -> artifact_scores json
    source: str | None = None  # the test set (or image file) the profiled image came from


def bn_runs(ctx: ReportContext) -> list[BnRun]:
    """Runs whose options have `bn: true`, and any other run with BN diagnostics in RUN/bn/: never frozen,
    then frozen (Table 1's order), then the others, each by name."""
    by_name = {r.name: r for r in ctx.runs.runs}
    rows = {r["run"]: r for r in ctx.wide.to_dict("records")}
    chosen = []
    for name, run in by_name.items():
        strategy = rows.get(name, {}).get("bn_strategy")
        strategy = strategy if strategy in STRATEGY_LABELS else None
        if strategy is None and not (run.bn_profile or run.bn_scores):
            continue
        chosen.append((strategy, run))
    order = list(STRATEGY_LABELS)
    chosen.sort(key=lambda sr: (order.index(sr[0]) if sr[0] in order else len(order), sr[1].name))
    texts = [STRATEGY_LABELS[s] if s else model_label(r.method, r.size, r.train.get("options")) for s, r in chosen]
    out = []
    for (strategy, run), text in zip(chosen, texts):
        image = next(iter(run.bn_profile), None)
        out.append(BnRun(
            run=run.name,
            strategy=strategy,
            label=f"{text} ({run.name})" if texts.count(text) > 1 else text,
            profile_image=image,
            profile=list(run.bn_profile.get(image, [])) if image is not None else [],
            scores=dict(run.bn_scores),
            source=run.bn_profile_source,
        ))
    return out


def fig5_profiles(runs: list[BnRun]) -> dict[str, list[dict[str, Any]]]:
    """label -> per-layer profile, the input of repbench.bn.stats.draw_bn_profile: one profile per BN run,
    labelled with its strategy and its run folder (the figure's legend names the run)."""
    return {(r.label if r.run in r.label else f"{r.label} ({r.run})"): r.profile for r in runs if r.profile}


def fig5_absence(ctx: ReportContext, runs: list[BnRun]) -> str:
    """Why Figure 5 has nothing to draw, and what would fill it."""
    if not runs:
        return (f"fig5 needs a run with BatchNorm (Table 1's EDSR with options.bn true) and its BN diagnostics; "
                f"no such run under {ctx.runs.root}")
    names = ", ".join(r.run for r in runs)
    return (f"fig5 needs the BN diagnostics (RUN/bn/bn_diagnose.json) of {names}: run {DIAGNOSE_CMD} for each "
            "(the workflow's rule bn_diagnose does)")
