"""Figure 1: PSNR vs throughput of the deployed networks, one panel per (scale, channels) group.

x2 and x4, Y and RGB networks are not comparable on one PSNR axis (an x2 network scores several dB
above any x4 one), so each group gets its own panel, scored in its own channel (Y for one-channel
networks, RGB for three, as the tables do) on one named test set, with the bicubic and nearest floors
of the same scale and channel as horizontal lines. Colour is the method, marker the size (one marker
per size across the figure, never shared by two sizes, so a (colour, marker) pair names one method at
one size), hollow markers the runs `repbench check` marks under-trained. Only the Pareto front is labelled, and the
labels are placed so that none overlaps another; every point names its run in an SVG hover title.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from repbench.results.checks import MARK
from repbench.report.budgets import budgets_of
from repbench.report.context import ReportContext
from repbench.report.front import PARETO_DEFINITION, Panel, front_runs, speed_range, tradeoff_panels
from repbench.report.hover import hover
from repbench.report.labels import place_labels
from repbench.report.plotting import (
    FLOOR_STYLES, FRONT_STYLE, HOLLOW_WORDS, legend_handles, matplotlib_pyplot, method_color, off_scale, off_scale_marker,
    plain_log_ticks, size_key, size_styles,
)
from repbench.results.values import REFERENCE_METHODS, as_int, method_rank, method_label, model_label


def _setting(rows: pd.DataFrame) -> str:
    """Where and how throughput was timed: device, dtype, batch and LR input size (one per distinct setting)."""
    out = []
    for r in rows.to_dict("records"):
        words = str(r.get("throughput_device") or "unknown device")
        if r.get("throughput_dtype"):
            words += f", {r['throughput_dtype']}, batch {as_int(r.get('throughput_batch'))}"
        if as_int(r.get("throughput_lr_width")) and as_int(r.get("throughput_lr_height")):
            words += f", {as_int(r['throughput_lr_width'])}x{as_int(r['throughput_lr_height'])} LR input"
        out.append(words)
    return "; ".join(dict.fromkeys(out))


def _spread_words(rows: pd.DataFrame) -> str:
    """Over what the throughput spread was measured: fresh processes (how many), or one process's repeats."""
    counts = sorted({as_int(n) or 1 for n in rows.get("throughput_processes", pd.Series(dtype=float)).dropna()})
    if not counts or counts == [1]:
        return " over one process's repeats"
    return f" between {'/'.join(map(str, counts))} timing processes"


def front_labels(front: pd.DataFrame, column: str,
                 marks: dict[str, list[str]]) -> list[tuple[float, float, str | tuple[str, str]]]:
    """One label per deployed network on the front. Runs of one network share one timing, so several of
    them on the front are tied and are named together, at the best score among them, compactly enough to
    fit: "ECBSR = RepSR M4C8", "ECBSR ×2 = RepSR M4C16" (each run's own name is in its hover title).
    Where the names do not fit, the label falls back to the count: "4 tied M4C16"."""
    groups: dict[float, list[dict[str, Any]]] = {}
    for r in front.to_dict("records"):
        groups.setdefault(float(r["throughput"]), []).append(r)
    out = []
    for speed, rows in groups.items():
        best = max(float(r[column]) for r in rows)
        mark = f" {MARK}" if any(r["run"] in marks for r in rows) else ""
        sizes = {str(r.get("size")) for r in rows}
        if len(rows) == 1 or len(sizes) != 1:
            out.append((speed, best, " = ".join(dict.fromkeys(_row_label(r) for r in rows)) + mark))
            continue
        size = sizes.pop()
        names = [_row_label(r).replace(f"-{size}", "", 1) for r in rows]
        counted = [n + (f" ×{names.count(n)}" if names.count(n) > 1 else "") for n in dict.fromkeys(names)]
        out.append((speed, best, (" = ".join(counted) + f" {size}" + mark, f"{len(rows)} tied {size}" + mark)))
    return out


def _row_label(r: dict[str, Any]) -> str:
    """The tables' row label (it tells the two BN strategies of one EDSR apart), else method-size (options)."""
    label = r.get("label")
    return str(label) if isinstance(label, str) and label else model_label(r["method"], r.get("size"), r.get("options_dict"))


def _point_title(r: dict[str, Any], panel: Panel, reasons: list[str], on_front: bool) -> str:
    psnr, speed = float(r[panel.column]), float(r["throughput"])
    seeds = as_int(r.get("n_seeds")) or 1
    text = (f"{r['run']}: {_row_label(r)}, {panel.title}; "
            f"{panel.ylabel.replace(' (dB)', '')} {psnr:.2f} dB"
            + (f" (mean of {seeds} seeds)" if seeds > 1 else "")
            + f"; {speed:,.1f} images/s on {r.get('throughput_device') or 'unknown device'}"
            + (f"; trained {as_int(r.get('iterations')):,} iterations" if as_int(r.get("iterations")) else ""))
    lo, hi = speed_range(r)
    if hi > lo:
        text += f" (range {lo:,.1f}-{hi:,.1f})"
    if on_front:
        text += "; on the Pareto front"
    if reasons:
        text += f"; {MARK} under-trained: " + "; ".join(reasons).replace("`", "")
    return text


def _draw_panel(ax: Any, panel: Panel, marks: dict[str, list[str]], styles: dict[str, tuple[str, Any]]) -> pd.DataFrame:
    """Floors, points and the front of one panel; returns the front (labelled once the layout is final)."""
    for method, (value, run) in sorted(panel.floors.items(), key=lambda kv: method_rank(kv[0])):
        line = ax.axhline(value, zorder=1, **FLOOR_STYLES.get(method, FLOOR_STYLES["nearest"]))
        hover(line, f"{run}: {method_label(method)} x{panel.scale}, {panel.ylabel.replace(' (dB)', '')} {value:.2f} dB")
        line.set_label(f"{method_label(method)} x{panel.scale} floor")
    front = front_runs(panel.rows, panel.column, set(marks))
    on_front = set(front["run"])
    for r in panel.rows.to_dict("records"):
        color, flagged = method_color(r["method"]), r["run"] in marks
        marker = styles[size_key(r.get("size"))][0]  # figure_tradeoff keyed every plotted size
        (point,) = ax.plot([r["throughput"]], [r[panel.column]], ls="", marker=marker, ms=7, mec=color, mew=1.4,
                           mfc="none" if flagged else color, zorder=3)
        lo, hi = speed_range(r)
        if hi > lo:  # the measured spread of its throughput: speeds inside it are ties on the front
            ax.plot([lo, hi], [r[panel.column]] * 2, color=color, lw=1.0, alpha=0.55, zorder=2, solid_capstyle="butt")
        hover(point, _point_title(r, panel, marks.get(r["run"], []), r["run"] in on_front))
    if len(front) > 1:
        # A staircase, not a segment: between two front runs the best one can have at that speed is the
        # faster run's PSNR; a straight line would promise networks nobody trained.
        (line,) = ax.step(front["throughput"], front[panel.column], where="pre", zorder=2, **FRONT_STYLE)
        hover(line, f"Pareto front, {panel.title}: each run on it is " + PARETO_DEFINITION)
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.margins(x=0.15, y=0.12)  # room for the markers and labels of the extreme points
    ax.set_title(panel.title + "\n" + _floor_words(panel) + _budget_words(panel), fontsize=9)
    ax.set_xlabel("throughput (images/s, log scale; bars: spread" + _spread_words(panel.rows) + ")\n"
                  + _setting(panel.rows), fontsize=8)
    ax.set_ylabel(panel.ylabel, fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    _pin_off_scale(ax, panel, marks)
    return front


def _pin_off_scale(ax: Any, panel: Panel, marks: dict[str, list[str]]) -> None:
    """A diverged run (marked †) far below the floors (plotting.off_scale) would squash every other point
    into a line at the top: the y axis spans the unmarked runs and the floors, and such a run is pinned to the bottom edge
    as a hollow down-arrow that says its score (its true point stays in the SVG, with its hover title)."""
    kept = [float(v) for run, v in zip(panel.rows["run"], panel.rows[panel.column]) if run not in marks]
    kept += [value for value, _ in panel.floors.values()]
    if not kept:
        return
    lo, hi = min(kept), max(kept)
    below = [r for r in panel.rows.to_dict("records")
             if r["run"] in marks and off_scale([float(r[panel.column])], lo, hi, below_only=True)]
    if not below:
        return
    pad = 0.12 * (hi - lo) if hi > lo else 0.5
    bottom = lo - 2 * pad
    ax.set_ylim(bottom, hi + pad)
    edge = bottom + 0.5 * pad
    for r in below:
        color = method_color(r["method"])
        (arrow,) = ax.plot([r["throughput"]], [edge], ls="", marker=off_scale_marker(), ms=9, mec=color, mew=1.4, mfc="none", zorder=3)
        hover(arrow, f"{r['run']}: off the scale below, {float(r[panel.column]):.2f} dB ({MARK} under-trained)")
        ax.annotate(f"{_row_label(r)} {MARK} {float(r[panel.column]):.2f} dB", (r["throughput"], edge),
                    textcoords="offset points", xytext=(6, -3), fontsize=7, color=color)


def _budget_words(panel: Panel) -> str:
    """A third title line when the panel's runs trained for different lengths: its front then compares
    budgets too (the leaderboard group's `budget_note` says the same)."""
    known, _ = budgets_of(panel.rows["iterations"]) if "iterations" in panel.rows else ([], 0)
    if len(known) < 2:
        return ""
    return f"\nmixed budgets: {known[0]:,}-{known[-1]:,} iterations (a longer-trained run may lead for that alone)"


def _floor_words(panel: Panel) -> str:
    words = [f"{method_label(m)} {v:.2f} dB" for m, (v, _) in sorted(panel.floors.items(), key=lambda kv: method_rank(kv[0]))]
    if "bicubic" not in panel.floors:
        words.append(f"no bicubic-x{panel.scale} {panel.channel} floor yet")
    return "floors: " + ", ".join(words)


def _legend(fig: Any, panels: list[Panel], marks: dict[str, list[str]], styles: dict[str, tuple[str, Any]],
            front_drawn: bool) -> None:
    from matplotlib.lines import Line2D

    rows = pd.concat([p.rows for p in panels])
    methods = sorted(rows["method"].unique(), key=method_rank)
    shown = {size_key(size) for size in rows["size"]}
    sizes = {s: v for s, v in styles.items() if s in shown}
    handles = legend_handles(methods, sizes, lines=False)
    for method in [m for m in REFERENCE_METHODS[::-1] if any(m in p.floors for p in panels)]:
        handles.append(Line2D([], [], label=f"{method_label(method)} (same scale and channel)", **FLOOR_STYLES[method]))
    if front_drawn:
        handles.append(Line2D([], [], label=f"Pareto front (runs without {MARK}, if any)", **FRONT_STYLE))
    if rows["run"].isin(list(marks)).any():
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", mew=1.4, label=HOLLOW_WORDS))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False,
               title="colour: method, marker: size", title_fontsize=8)


def figure_tradeoff(ctx: ReportContext) -> Any:
    """Figure 1 (see the module docstring); one axes per panel, in `tradeoff_panels` order."""
    plt = matplotlib_pyplot()
    panels = tradeoff_panels(ctx.wide)
    title = f"Figure 1: PSNR vs throughput of the deployed networks — preset {ctx.preset}"
    if not panels:
        fig, ax = plt.subplots(figsize=(7.5, 5.0))
        ax.text(0.5, 0.5, "no run has both a throughput (repbench measure)\nand a PSNR (repbench eval) yet",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        return fig
    ncols = min(2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.8 * ncols, 4.6 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        fig.delaxes(ax)  # an odd number of panels leaves one slot empty
    # Every size of the report, and "not recorded" when a plotted run has none: each its own marker.
    plotted = [size_key(s) for p in panels for s in p.rows["size"]]
    marks, styles = ctx.marks(), size_styles([*ctx.wide["size"], *plotted])
    fronts = [_draw_panel(ax, p, marks, styles) for ax, p in zip(axes.flat, panels)]
    fig.suptitle(title + "\nlabels on the Pareto front only; every point names its run in the SVG's hover title",
                 fontsize=10)
    fig.tight_layout()
    # Labels last: their boxes are measured against the final axes, so the layout must not move again.
    for ax, panel, front in zip(axes.flat, panels, fronts):
        points = list(zip(panel.rows["throughput"].astype(float), panel.rows[panel.column].astype(float)))
        place_labels(ax, points, front_labels(front, panel.column, marks))
    _legend(fig, panels, marks, styles, any(len(f) > 1 for f in fronts))
    return fig
