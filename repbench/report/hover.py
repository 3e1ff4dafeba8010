"""Hover titles in the figures' SVG: a `<title>` element inside an artist's group names what it shows.

matplotlib writes an artist with a gid as `<g id="GID">...</g>` but has no way to add a `<title>`;
browsers show the title of the nearest enclosing element as a tooltip. So `hover(artist, text)` gives
the artist a gid and remembers the text, and `add_titles` puts `<title>text</title>` first into each
such group of the saved SVG. A marker drawn inside a line's group (a curve's validation points)
shows the line's title.
"""
from __future__ import annotations

import html
import re
import weakref
from typing import Any

_PREFIX = "hover-"
# figure -> {gid: title}; weak, so a closed figure's titles go with it.
_TITLES: "weakref.WeakKeyDictionary[Any, dict[str, str]]" = weakref.WeakKeyDictionary()


def hover(artist: Any, text: str) -> None:
    """Give `artist` (already added to its figure) the hover title `text` in the SVG."""
    fig = artist.get_figure()
    if fig is None:
        raise ValueError("hover() needs an artist that is already part of a figure")
    titles = _TITLES.setdefault(fig, {})
    gid = f"{_PREFIX}{len(titles)}"  # numbered in drawing order: the same figure gives the same ids
    artist.set_gid(gid)
    titles[gid] = text


def titles_of(fig: Any) -> dict[str, str]:
    return dict(_TITLES.get(fig, {}))


def add_titles(svg: str, fig: Any) -> str:
    """The SVG text of `fig` with a `<title>` first inside each group that `hover` named."""
    titles = _TITLES.get(fig, {})
    if not titles:
        return svg

    def insert(match: re.Match[str]) -> str:
        text = titles.get(match.group(2))
        return match.group(0) if text is None else f"{match.group(0)}\n{match.group(1)}<title>{html.escape(text, quote=False)}</title>"

    return re.sub(r'(?m)^( *)<g id="(' + re.escape(_PREFIX) + r'\d+)">', insert, svg)
