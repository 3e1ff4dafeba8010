"""Free text from run metadata as inert Markdown: the one escaping every Markdown renderer uses.

Run folder names, train.json fields (label, method, size, options, published citations), eval
dataset names and the preset are free text that anyone can write, and a Markdown viewer renders the
HTML in a file. Renderers build cells, notes and header lines as plain text whose only markup is
`code spans` (around a value: `span(value)`) and *emphasis*; `md_inline` makes such a text inert:
its code spans through `md_code`, the text between them through `md_text`. repbench.report.markdown
applies it to every cell, column name, header line and note, so no renderer can forget a value.

`span` itself lives with the results records (repbench.results.notes): the loaders and the checks
write their notes with it, and md_inline reads its fences back here.
"""
from __future__ import annotations

import re
from typing import Any

# Outside code spans: HTML (& < >), the table delimiter (|), stray backticks, backslash escapes and
# link brackets would all be read as markup; as character references they read as themselves.
_TEXT_ESCAPES = {c: f"&#{ord(c)};" for c in "|`\\[]"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CODE_UNSAFE = set("&<>|`")  # what a `code span` cannot hold: HTML shows raw in the file, | splits a table cell
_CODE_ESCAPES = _TEXT_ESCAPES | {c: f"&#{ord(c)};" for c in "*_~"}
_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")  # a CommonMark code span: a fence, text, the same fence


def _one_line(value: Any) -> str:
    """Line breaks as spaces: one would end a table row, or start a new block under a note."""
    return re.sub(r"[\r\n\t\v\f]+", " ", str(value))


def _escaped(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in text)


def md_text(value: Any) -> str:
    """A free-text value as inert Markdown text: one line, no HTML, no table delimiter, no markup
    brackets. It reads the same once rendered."""
    return _escaped(_one_line(value), _TEXT_ESCAPES)


def md_code(value: Any) -> str:
    """A value as inline code: `value`, or, when it holds what a code span cannot (HTML characters, |,
    a backtick), an HTML <code> element around its escaped text, which renders the same."""
    text = _one_line(value)
    if not _CODE_UNSAFE & set(text):
        return f"`{text}`"
    return f"<code>{_escaped(text, _CODE_ESCAPES)}</code>"


def md_inline(text: Any) -> str:
    """Markdown built by a renderer (plain text, `code spans`, *emphasis*) with every value in it made
    inert: code spans through md_code, the text between them through md_text."""
    text = _one_line(text)
    out, last = [], 0
    for match in _SPAN.finditer(text):
        inner = match.group(2)
        if len(inner) > 2 and inner.startswith(" ") and inner.endswith(" "):
            inner = inner[1:-1]  # the padding `span` adds around a leading or trailing backtick
        out += [md_text(text[last:match.start()]), md_code(inner)]
        last = match.end()
    return "".join(out + [md_text(text[last:])])
