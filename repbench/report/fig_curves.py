"""Figure 6: training loss and validation PSNR per run.

A preset trains a couple of dozen runs: a colour cycle would give two runs the same colour, and a
legend with one entry per run covers the curves. So colour is the method (the same as in Figure 1),
line style and marker the size, the legend (method and size, not run) sits outside the axes, and
each curve names its run in an SVG hover title. The validation set is named: runs validate on images
held out of their training data (train.json `val_data`, e.g. "holdout:10") or on a named set.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from repbench.errors import RepbenchError
from repbench.results.checks import MARK
from repbench.report.context import ReportContext
from repbench.report.hover import hover
from repbench.report.plotting import (
    HOLLOW_WORDS, channel_words, legend_handles, matplotlib_pyplot, method_color, off_scale, plain_log_ticks,
    size_styles,
)
from repbench.results import Run, members
from repbench.results.seeds import base_id, seed_of
from repbench.results.values import method_rank, as_float, dataset_key, dataset_label, model_label
from repbench.training.config import HOLDOUT


def _curve_runs(ctx: ReportContext) -> list[Run]:
    by_name = {r.name: r for r in ctx.runs.runs}
    if ctx.curves:
        unknown = [c for c in ctx.curves if c not in by_name]
        if unknown:
            raise RepbenchError(
                f"--curves names unknown runs: {', '.join(unknown)}; runs under {ctx.runs.root}: {', '.join(sorted(by_name))}"
            )
        return [by_name[c] for c in ctx.curves]
    chosen = [by_name[n] for n in members(ctx.wide, "table2")["run"] if n in by_name]
    with_metrics = [r for r in chosen if r.metrics is not None]
    return with_metrics or [r for r in ctx.runs.runs if r.metrics is not None]


def validation_set(train: dict[str, Any]) -> tuple[str, str]:
    """(the validation set in words, a short name for an axis label) from train.json's `val_data`."""
    val = str(train.get("val_data") or "")
    if val.startswith(HOLDOUT):
        count = val[len(HOLDOUT):]
        source = str(train.get("train_data") or "the training data")
        return f"{count} images held out of {source} ({val})", f"{count} held-out training images"
    if val:
        name = dataset_label(dataset_key(val), val)
        return name, name
    return "validation set not recorded (train.json has no val_data)", "the validation set"


def _validation_words(runs: list[Run]) -> tuple[str, str]:
    sets = list(dict.fromkeys(validation_set(r.train) for r in runs))
    if len(sets) == 1:
        return sets[0]
    # Runs validated on different sets: their curves are not comparable in level, only in shape.
    return "; ".join(long for long, _ in sets), "each run's validation set"


def _run_title(run: Run, flagged: list[str], what: str) -> str:
    _, channel = channel_words(run.colors)
    seed = f", seed {seed_of(run.name)}" if seed_of(run.name) else ""
    text = f"{run.name}: {model_label(run.method, run.size, run.train.get('options'))} x{run.scale} {channel}{seed}; {what}"
    return text + (f"; {MARK} under-trained: " + "; ".join(flagged).replace("`", "") if flagged else "")


def _draw_run(ax_loss: Any, ax_psnr: Any, run: Run, flagged: list[str], style: tuple[str, Any], val_name: str) -> bool:
    """Loss and validation curves of one run; False when its metrics.csv has neither."""
    m = run.metrics if run.metrics is not None else pd.DataFrame()
    color, (marker, line_style) = method_color(run.method), style
    loss = m[m["loss"].notna()] if "loss" in m else m.iloc[0:0]
    val = m[m["val_psnr"].notna()] if "val_psnr" in m else m.iloc[0:0]
    if len(loss):
        (line,) = ax_loss.plot(loss["iteration"], loss["loss"], lw=1, ls=line_style, color=color)
        hover(line, _run_title(run, flagged, f"training loss, last {float(loss['loss'].iloc[-1]):.4g}"))
    if len(val):
        (line,) = ax_psnr.plot(val["iteration"], val["val_psnr"], lw=1.2, ls=line_style, color=color, marker=marker,
                               ms=4, mec=color, mfc="none" if flagged else color)
        last = float(val["val_psnr"].iloc[-1])
        hover(line, _run_title(run, flagged, f"validation PSNR-Y on {val_name}, last {last:.2f} dB"))
    frozen = as_float(run.train.get("bn_frozen_at"))
    if frozen is not None:
        for ax in (ax_loss, ax_psnr):
            hover(ax.axvline(frozen, color=color, ls=":", lw=1), f"{run.name}: BN frozen at iteration {frozen:.0f}")
    return bool(len(loss) or len(val))


def _legend(fig: Any, runs: list[Run], styles: dict[str, tuple[str, Any]], marks: dict[str, list[str]]) -> None:
    from matplotlib.lines import Line2D

    methods = sorted({r.method for r in runs}, key=method_rank)
    sizes = {s: v for s, v in styles.items() if s in {str(r.size) for r in runs}}
    handles = legend_handles(methods, sizes, lines=True)
    if any(as_float(r.train.get("bn_frozen_at")) is not None for r in runs):
        handles.append(Line2D([], [], color="0.3", ls=":", lw=1, label="BN frozen (vertical, run's colour)"))
    if any(base_id(r.name) in marks for r in runs):
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", label=HOLLOW_WORDS))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False,
               title="colour: method, line and marker: size", title_fontsize=8)


def _keep_scale(ax: Any, runs: list[Run], flagged: set[str], column: str, *, log: bool, unit: str) -> None:
    """A diverged run (marked †) would stretch the axis until every other curve is a flat line: the axis
    spans the unmarked runs, and the runs left off it are named in the corner with their range."""
    def values(run: Run) -> pd.Series:
        m = run.metrics
        return m[column].dropna().astype(float) if m is not None and column in m else pd.Series(dtype=float)

    series = {r.name: values(r) for r in runs}
    kept = [v for name, vs in series.items() if name not in flagged for v in vs]
    if not kept:
        return
    lo, hi = min(kept), max(kept)
    off = [r.name for r in runs if r.name in flagged and off_scale(list(series[r.name]), lo, hi, log=log)]
    if not off:
        return
    shown = [v for name, vs in series.items() if name not in off for v in vs]
    lo, hi = min(shown), max(shown)
    if log and lo > 0:
        low, high = lo / 1.5, hi * 1.5
    else:
        pad = 0.1 * (hi - lo) if hi > lo else 0.5
        low, high = lo - pad, hi + pad
    off_words = [f"{name} {MARK}: {series[name].min():.3g} to {series[name].max():.3g}{unit}" for name in off]
    ax.set_ylim(low, high)
    ax.text(0.02, 0.02, "off the scale: " + "; ".join(off_words), transform=ax.transAxes, fontsize=7, va="bottom",
            color="0.25")


def figure_curves(ctx: ReportContext) -> Any:
    """Figure 6: two axes (training loss, validation PSNR), a figure legend outside them."""
    plt = matplotlib_pyplot()
    runs = _curve_runs(ctx)
    marks = ctx.marks()
    styles = size_styles(list(ctx.wide["size"]) + [r.size for r in runs])
    val_long, val_short = _validation_words(runs)
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(11, 4.4))
    drawn = 0
    for run in runs:
        if run.metrics is None:
            continue
        style = styles.get(str(run.size), ("o", "-"))
        drawn += _draw_run(ax_loss, ax_psnr, run, marks.get(base_id(run.name), []), style, val_short)
    if drawn == 0:
        for ax in (ax_loss, ax_psnr):
            ax.text(0.5, 0.5, "no metrics.csv yet (repbench train writes it)", ha="center", va="center", transform=ax.transAxes)
    ax_loss.set_title("training loss", fontsize=10)
    ax_loss.set_ylabel("L1 loss, mean |SR - HR| (intensities on [0, 1])", fontsize=9)
    losses = [r.metrics["loss"].dropna() for r in runs if r.metrics is not None and "loss" in r.metrics]
    if drawn and losses and (pd.concat(losses) > 0).all():
        ax_loss.set_yscale("log")
        plain_log_ticks(ax_loss.yaxis)
    ax_psnr.set_title(f"validation PSNR-Y on {val_long}", fontsize=9, wrap=True)
    ax_psnr.set_ylabel(f"PSNR-Y on {val_short} (dB)", fontsize=9)
    for ax in (ax_loss, ax_psnr):
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
    if drawn:
        flagged_runs = {r.name for r in runs if base_id(r.name) in marks}
        _keep_scale(ax_loss, runs, flagged_runs, "loss", log=ax_loss.get_yscale() == "log", unit="")
        _keep_scale(ax_psnr, runs, flagged_runs, "val_psnr", log=False, unit=" dB")
        _legend(fig, runs, styles, marks)
    flagged = any(base_id(r.name) in marks for r in runs)
    fig.suptitle(f"Figure 6: training curves, preset {ctx.preset}" + (f" ({MARK}: under-trained, hollow markers)" if flagged else ""),
                 fontsize=10)
    fig.tight_layout()
    return fig
