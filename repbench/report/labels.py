"""Point labels that cannot overlap: each label tries a few spots around its point and takes the first
whose box stays inside the axes and clear of every label placed before it and of every marker.

A label with no free spot is left out rather than drawn over another: colour (method), marker (size)
and the SVG hover title still identify the point. Boxes are measured with the figure's renderer, so
call this after the layout is final (the axes no longer move) and the axis limits are fixed.
"""
from __future__ import annotations

from typing import Any, Sequence

# (dx, dy) in points from the point, horizontal and vertical alignment: right first, then left, above, below.
_SPOTS = (
    (6, 3, "left", "bottom"), (6, -3, "left", "top"), (-6, 3, "right", "bottom"), (-6, -3, "right", "top"),
    (0, 7, "center", "bottom"), (0, -7, "center", "top"), (9, 0, "left", "center"), (-9, 0, "right", "center"),
    (12, 10, "left", "bottom"), (-12, -10, "right", "top"),
)
_MARKER_HALF = 3.5  # points: half a marker's width, the keep-out box around every drawn point
_GAP = 1.0  # pixels of air between two labels


def place_labels(ax: Any, points: Sequence[tuple[float, float]], labels: Sequence[tuple[float, float, str | tuple[str, ...]]],
                 fontsize: float = 7) -> tuple[list[Any], list[str]]:
    """Annotate `labels` (x, y, text) in data coordinates; `points` are every marker of the axes. A text
    may be a tuple of alternatives, longest first: a shorter one is tried only where no spot fits the
    longer one.

    Returns (the Annotation artists drawn, the texts left out for want of space)."""
    from matplotlib.transforms import Bbox

    fig = ax.get_figure()
    renderer = fig.canvas.get_renderer()
    ax.set_xlim(ax.get_xlim())  # freeze autoscaling: boxes measured now stay where they are
    ax.set_ylim(ax.get_ylim())
    frame = ax.get_window_extent(renderer)
    half = _MARKER_HALF * fig.dpi / 72.0
    taken = []
    for x, y in points:
        px, py = ax.transData.transform((x, y))
        taken.append(Bbox.from_extents(px - half, py - half, px + half, py + half))
    drawn, left_out = [], []
    for x, y, texts in labels:
        options = (texts,) if isinstance(texts, str) else texts
        note = next((n for text in options if (n := _place(ax, renderer, frame, taken, (x, y), text, fontsize))), None)
        if note is None:
            left_out.append(options[0])
        else:
            drawn.append(note)
    return drawn, left_out


def _place(ax: Any, renderer: Any, frame: Any, taken: list[Any], xy: tuple[float, float], text: str,
           fontsize: float) -> Any:
    """The first spot around `xy` where `text` fits inside the axes and overlaps nothing taken (it is
    taken then), else None."""
    for dx, dy, ha, va in _SPOTS:
        note = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                           fontsize=fontsize, zorder=5)
        box = note.get_window_extent(renderer).padded(_GAP)
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        if inside and not any(box.overlaps(other) for other in taken):
            taken.append(box)
            return note
        note.remove()
    return None

