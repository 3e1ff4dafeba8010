"""What every report figure shares: the matplotlib setup, one colour per method, one marker (never shared
by two sizes) and line style per network size, the floors' line styles and the Pareto front.

Colours are fixed per method (not per figure), so RepSR is the same red in Figure 1, Figure 6 and
anywhere else; a reader who learnt the colours on one figure can read the next without its legend.
"""
from __future__ import annotations

import zlib
from typing import Any, Iterable, Sequence

from repbench.results.values import size_rank

# The registered methods, by registry name. Floors are black / grey lines, never a method colour.
METHOD_COLORS: dict[str, str] = {
    "plain": "#7f7f7f", "repvgg": "#9467bd", "ecbsr": "#ff7f0e", "sesr": "#2ca02c",
    "repsr": "#d62728", "edsr": "#1f77b4", "imdn": "#8c564b", "imdn-clb": "#e377c2",
    "dbb": "#17becf", "orepa": "#bcbd22", "conv3xc": "#393b79",
}
# Methods added later get one of these, picked by a hash of the name: stable whatever else is plotted.
_SPARE_COLORS = ("#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "p", "h", "<", ">")
UNSIZED = "not recorded"  # the size key of a run without a size: a marker of its own, never another size's
LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", (0, (1, 1)))
FLOOR_STYLES = {"bicubic": {"color": "0.1", "ls": "--", "lw": 1.1}, "nearest": {"color": "0.55", "ls": ":", "lw": 1.1}}
FRONT_STYLE = {"color": "0.35", "ls": "-", "lw": 1.0, "alpha": 0.7}
HOLLOW_WORDS = "hollow: † under-trained (repbench check), not a result"


def off_scale_marker() -> Any:
    """A down-arrow (shaft and head, a closed path that can be drawn hollow): where Figure 1 pins a run off the
    scale below. Not a size marker, so it never reads as one."""
    from matplotlib.path import Path

    return Path([(-0.25, 1.0), (0.25, 1.0), (0.25, 0.0), (0.75, 0.0), (0.0, -1.0), (-0.75, 0.0), (-0.25, 0.0),
                 (-0.25, 1.0)], closed=True)


def off_scale(values: Sequence[float], lo: float, hi: float, *, log: bool = False, below_only: bool = False) -> bool:
    """Whether a marked (†) run's values lie so far outside [lo, hi], the range of the unmarked runs,
    that an axis spanning them would flatten every other run: more than twice that range beyond it,
    or a decade on a log axis. Figures 1 and 6 both decide with this, so one rule says which runs
    they set aside. below_only: only values under the range count (a score far above it squashes nothing)."""
    if not len(values):
        return False
    low, high = min(values), max(values)
    if log and lo > 0:
        return low < lo / 10 or (not below_only and high > hi * 10)
    span = hi - lo if hi > lo else 1.0
    return low < lo - 2 * span or (not below_only and high > hi + 2 * span)


def matplotlib_pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG ids and no timestamp: reruns on unchanged runs give identical files.
    matplotlib.rcParams["svg.hashsalt"] = "repbench"
    matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as paths: the SVG needs no font files
    return plt


def method_color(method: str) -> str:
    if method in METHOD_COLORS:
        return METHOD_COLORS[method]
    return _SPARE_COLORS[zlib.crc32(str(method).encode("utf-8")) % len(_SPARE_COLORS)]


_MORE_MARKERS: tuple[Any, ...] = ("d", (4, 1, 0), (4, 1, 45), (6, 1, 0), (8, 1, 0))  # (points, 1, angle): a star


def size_marker(index: int) -> Any:
    """The marker of the index-th size: MARKERS, then a thin diamond and filled stars (four points upright and
    turned, six, eight), then stars with ever more points. Every index has its own marker, so no two sizes
    ever share one, however many a report holds; each can be drawn hollow."""
    if index < len(MARKERS):
        return MARKERS[index]
    extra = index - len(MARKERS)
    if extra < len(_MORE_MARKERS):
        return _MORE_MARKERS[extra]
    return (2 * (extra - len(_MORE_MARKERS)) + 10, 1, 0)


def size_styles(sizes: Iterable[Any]) -> dict[str, tuple[Any, Any]]:
    """size -> (marker, line style), sizes in the paper's regime order (widths, then depths); each size has
    its own marker (size_marker), the line styles repeat.

    Built from every size of the report, not of one figure, so a size keeps its marker across figures."""
    ordered = sorted({str(s) for s in sizes if s is not None and str(s) not in ("", "nan", "None")}, key=size_rank)
    return {s: (size_marker(i), LINESTYLES[i % len(LINESTYLES)]) for i, s in enumerate(ordered)}


def size_key(size: Any) -> str:
    """A run's size as size_styles keys it; UNSIZED for a run without one."""
    return UNSIZED if size is None or str(size) in ("", "nan", "None", "<NA>") else str(size)


def channel_words(colors: Any) -> tuple[str, str]:
    """(PSNR column prefix, channel name): RGB networks are scored on RGB, the others on Y, as in the tables."""
    try:
        rgb = int(colors) == 3
    except (TypeError, ValueError):
        rgb = False
    return ("psnr_rgb", "RGB") if rgb else ("psnr_y", "Y")


def plain_log_ticks(axis: Any) -> None:
    """Tick labels of a log axis as plain numbers (200, 0.3), not 2x10^2: throughputs and norms are read
    as numbers. Minor ticks are labelled only when the axis spans about a decade or less."""
    from matplotlib.ticker import LogFormatter

    class _Plain(LogFormatter):
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return f"{x:g}"

    axis.set_major_formatter(_Plain(labelOnlyBase=False))
    axis.set_minor_formatter(_Plain(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def legend_handles(methods: Sequence[str], sizes: dict[str, tuple[str, Any]], *, lines: bool) -> list[Any]:
    """Proxy artists for a figure legend: a colour patch per method, a grey marker (and line style when
    `lines`) per size. The data artists carry hover titles instead of legend labels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from repbench.results.values import method_label

    handles: list[Any] = [Patch(facecolor=method_color(m), edgecolor="none", label=method_label(m)) for m in methods]
    for size, (marker, style) in sizes.items():
        handles.append(Line2D([], [], color="0.3", marker=marker, ls=style if lines else "", lw=1.0, ms=6,
                              label=f"size {size}"))
    return handles
