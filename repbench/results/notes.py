"""How a note names a value: the one quoting rule of every note the results layer writes.

Loading, seeds and checks write notes in words (a folder skipped and why, a run found under-trained).
The free-text values in them (run folder names, test sets, file names) are wrapped in `span`, a
CommonMark code span; a Markdown renderer makes each one inert (repbench.report.mdescape.md_inline),
and on a terminal the backticks read as quotes.
"""
from __future__ import annotations

import re
from typing import Any


def span(value: Any) -> str:
    """A code span around a raw value, for text that `md_inline` will escape: its fence is longer than
    any run of backticks inside (CommonMark's rule), so a backtick in a folder name cannot end it."""
    text = str(value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
