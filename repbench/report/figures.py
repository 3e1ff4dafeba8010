"""The report's matplotlib figures (Agg backend, PNG + SVG, deterministic files).

    figure_tradeoff   Figure 1: PSNR vs throughput, one panel per (scale, channels) group (fig_tradeoff)
    figure_curves     Figure 6: training loss and validation PSNR per run, BN freeze marked (fig_curves)
    figure_bn         Figure 5: per BN layer, the image's feature statistics vs the population's

Shared conventions live in `plotting` (colour per method, marker per size, floors, Pareto front); every
SVG written here carries the hover titles that `hover` attached to the data artists.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from repbench.report.bn import BnRun, fig5_profiles
from repbench.report.fig_curves import figure_curves
from repbench.report.fig_tradeoff import figure_tradeoff
from repbench.report.hover import add_titles, hover
from repbench.report.front import pareto_flags, pareto_mask
from repbench.report.plotting import matplotlib_pyplot, plain_log_ticks
from repbench import atomic

__all__ = ["figure_bn", "figure_curves", "figure_svg_text", "figure_tradeoff", "inline_svg", "pareto_flags", "pareto_mask"]

_SVG_META = {"Date": None, "Creator": None}  # no timestamp, no matplotlib version: reruns give identical files


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Every report file goes through here: temp file + rename, so no half-written output is ever trusted."""
    return atomic.write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)


def figure_bytes(fig: Any) -> dict[str, bytes]:
    """{".png": ..., ".svg": ...} of a figure, the SVG with its hover titles."""
    png, svg = io.BytesIO(), io.StringIO()
    fig.savefig(png, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata=_SVG_META)
    return {".png": png.getvalue(), ".svg": add_titles(svg.getvalue(), fig).encode("utf-8")}


def save_figure(fig: Any, stem: Path) -> list[Path]:
    files = figure_bytes(fig)
    return [write_atomic(stem.with_suffix(ext), files[ext]) for ext in (".png", ".svg")]


def figure_svg_text(fig: Any) -> str:
    """The figure as an inline <svg> element (XML declaration and DOCTYPE dropped), with hover titles."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata=_SVG_META)
    return inline_svg(add_titles(buf.getvalue(), fig))


def _fig5_title(runs: list[BnRun]) -> str:
    """Which image, from which test set, through which runs: one line when every run shows the same image."""
    def image(r: BnRun) -> str:
        return f"image '{r.profile_image}'" + (f" of {r.source}" if r.source else " (its test set not recorded)")

    shown = [r for r in runs if r.profile]
    if len({image(r) for r in shown}) == 1:
        lines = [f"{image(shown[0])} through run{'s' if len(shown) > 1 else ''} {', '.join(r.run for r in shown)}"]
    else:
        lines = [f"{r.run}: {image(r)}" for r in shown]
    return ("Figure 5: BN layer inputs, the image's own statistics (solid) vs the population statistics (dashed)\n"
            + "\n".join(lines))


def figure_bn(runs: Sequence[BnRun]) -> dict[str, bytes]:
    """Figure 5 as {".png": bytes, ".svg": bytes}, drawn by repbench.bn.stats.draw_bn_profile (one labelled
    profile per BN run, the title naming the runs and the image); {} when no run has a profile."""
    from repbench.bn import stats as bn_stats

    runs = list(runs)
    profiles = fig5_profiles(runs)
    if not profiles:
        return {}
    plt = matplotlib_pyplot()  # the deterministic SVG settings apply to draw_bn_profile's figure too
    fig = bn_stats.draw_bn_profile(profiles, _fig5_title(runs))
    images = {label: f"image '{r.profile_image}'" + (f" of {r.source}" if r.source else "")
              for label, r in zip(profiles, [r for r in runs if r.profile])}
    for ax in fig.axes:
        if ax.get_yscale() == "log":
            plain_log_ticks(ax.yaxis)
        for line in ax.get_lines():
            label = line.get_label()
            key = next((k for k in images if label.startswith(f"{k}:")), None)
            if key is not None:
                hover(line, f"{label}, {images[key]}; {ax.get_title()} per BN layer")
    files = figure_bytes(fig)
    plt.close(fig)
    return files


def inline_svg(svg: bytes | str) -> str:
    """An SVG file's text as an inline <svg> element (XML declaration and DOCTYPE dropped)."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    return text[text.index("<svg"):]
