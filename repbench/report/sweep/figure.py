"""The budget sweep's figure: PSNR against the training budget, one row of panels per test set, one column
per x axis: iterations, measured training seconds and (where train.json records them) training FLOPs, all
log scaled. Colour = method and marker / line style = size, as in every figure of the report; error bars are
the seed spread; hollow markers are runs `repbench check` marks under-trained (†); the bicubic floor is a
dashed line, the time-to-PSNR targets dotted ones on the first test set."""
from __future__ import annotations

from typing import Any, Callable

from repbench.results.checks import MARK
from repbench.report.hover import hover
from repbench.report.plotting import (FLOOR_STYLES, HOLLOW_WORDS, legend_handles, matplotlib_pyplot, method_color,
                                      plain_log_ticks, size_styles)
from repbench.results.seeds import spread
from repbench.report.sweep.data import TARGETS_DB, Curve, Point
from repbench.results.values import dataset_label, method_rank

TARGET_STYLE = {"color": "0.55", "ls": (0, (1, 2)), "lw": 0.9}
XAxis = tuple[str, Callable[[Point], float | None]]


def x_axes(curves: list[Curve], device: str) -> list[XAxis]:
    """(label, value of a point) of each panel column; FLOPs only where some run recorded them."""
    axes: list[XAxis] = [("training iterations", lambda p: float(p.iterations)),
                         (f"measured training seconds{device}", lambda p: p.seconds)]
    if any(p.flops for c in curves for p in c.points):
        axes.append(("training FLOPs, forward + backward", lambda p: p.flops))
    return axes


def _draw_curve(ax: Any, curve: Curve, column: str, x_of: Callable[[Point], float | None], style: tuple[Any, Any],
                marks: dict[str, list[str]], words: str) -> None:
    points = [(x, p) for p in curve.points if (x := x_of(p)) is not None and x > 0 and p.psnr(column) is not None]
    if not points:
        return
    color, (marker, line_style) = method_color(curve.method), style
    xs, ys = [x for x, _ in points], [p.psnr(column) for _, p in points]
    (line,) = ax.plot(xs, ys, color=color, ls=line_style, lw=1.2)
    hover(line, f"{curve.label}: {words}")
    for x, p in points:
        mean, std, n = spread(p.row, column)
        if std is not None and n >= 2:
            ax.errorbar([x], [mean], yerr=[std], color=color, lw=0.8, capsize=2, fmt="none")
        (dot,) = ax.plot([x], [mean], ls="", marker=marker, ms=5, mec=color,
                         mfc="none" if p.run in marks else color)
        seeds = f" ± {std:.2f} (n={n})" if std is not None and n >= 2 else ""
        hover(dot, f"{p.run}: {curve.label}, {p.iterations:,} iterations, {words} {mean:.2f}{seeds} dB"
                   + (f"; {MARK} under-trained" if p.run in marks else ""))


def _panel(ax: Any, curves: list[Curve], set_: tuple[str, str], axis: XAxis, styles: dict[str, tuple[Any, Any]],
           marks: dict[str, list[str]], floor: float | None, targets: bool) -> None:
    (column, words), (label, x_of) = set_, axis
    for curve in curves:
        _draw_curve(ax, curve, column, x_of, styles.get(curve.size, ("o", "-")), marks, words)
    if floor is not None:
        hover(ax.axhline(floor, **FLOOR_STYLES["bicubic"]), f"bicubic floor {floor:.2f} dB")
        for t in TARGETS_DB if targets else ():
            hover(ax.axhline(floor + t, **TARGET_STYLE), f"time-to-PSNR target: bicubic + {t:.1f} dB = {floor + t:.2f} dB")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel(f"{label} (log)", fontsize=8)
    ax.grid(True, alpha=0.3, which="both")
    ax.tick_params(labelsize=7)


def _legend(fig: Any, curves: list[Curve], styles: dict[str, tuple[Any, Any]], hollow: bool) -> None:
    from matplotlib.lines import Line2D

    methods = sorted({c.method for c in curves}, key=method_rank)
    handles = legend_handles(methods, {s: v for s, v in styles.items() if s in {c.size for c in curves}}, lines=True)
    handles.append(Line2D([], [], label="bicubic floor", **FLOOR_STYLES["bicubic"]))
    handles.append(Line2D([], [], label="bicubic + " + " / + ".join(f"{t:.1f}" for t in TARGETS_DB) + " dB",
                          **TARGET_STYLE))
    if hollow:
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", label=HOLLOW_WORDS))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False,
               title="colour: method, line and marker: size", title_fontsize=8)


def _empty(plt: Any, title: str, text: str) -> Any:
    """A figure that says why there is nothing to draw."""
    import textwrap

    fig, ax = plt.subplots(figsize=(8, 2.4))
    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(text, 90), ha="center", va="center", transform=ax.transAxes, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def figure_sweep(curves: list[Curve], sets: list[tuple[str, str]], floors: dict[str, float | None],
                 marks: dict[str, list[str]], title: str, empty: str, device: str = "", channel: str = "Y") -> Any:
    """`sets`: (PSNR column, test-set key) per panel row; `floors`: bicubic PSNR per column; `empty`: what the
    figure says when there is nothing to draw."""
    plt = matplotlib_pyplot()
    if not curves or not sets:
        return _empty(plt, title, empty)
    axes_x = x_axes(curves, device)
    fig, grid = plt.subplots(len(sets), len(axes_x), figsize=(4.2 * len(axes_x), 3.4 * len(sets)), squeeze=False)
    styles = size_styles(c.size for c in curves)
    for i, (column, key) in enumerate(sets):
        words = f"PSNR-{channel} on {dataset_label(key)}"
        for j, axis in enumerate(axes_x):
            _panel(grid[i][j], curves, (column, words), axis, styles, marks, floors.get(column), targets=i == 0)
        grid[i][0].set_ylabel(f"{words} (dB)", fontsize=8)
    _legend(fig, curves, styles, any(p.run in marks for c in curves for p in c.points))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
