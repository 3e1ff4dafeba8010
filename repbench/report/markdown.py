"""Markdown rendering: tables, headers, notes, fill hints (numbers become text in `numbers`).

`md_table`, `header` and `footer` pass every cell, column name, header line and note through
`md_inline` (repbench.report.mdescape): run metadata is free text, and none of it may become markup.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from repbench.errors import RepbenchError
from repbench.report.budgets import gap_words, paper_budget
from repbench.report.compare import RULE_WORDS
from repbench.report.mdescape import md_inline
from repbench.results.notes import span
from repbench.report.references import Reference
from repbench.results import RunSet
from repbench.results.seeds import base_id


def md_table(rows: list[dict[str, str]], right: Iterable[str] = ()) -> str:
    """Strings in, Markdown out: numbers were formatted already, so tabulate must not re-parse them.
    Every cell and column name goes through md_inline (see the module doc)."""
    if not rows:
        return ""
    right = {md_inline(c) for c in right}
    frame = pd.DataFrame([{md_inline(k): md_inline(v) for k, v in row.items()} for row in rows])
    align = tuple("right" if c in right else "left" for c in frame.columns)
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def _embedded(names: Iterable[str]) -> list[str]:
    """The names among `names` of datasets made of the photos that ship with scikit-image."""
    from repbench.data.registry import load_registry

    try:
        registry = load_registry()[0]
    except RepbenchError:  # rendering elsewhere than the checkout: the registry's naming of those sets
        return [n for n in names if n.startswith("skimage-")]
    return [n for n in names if n in registry and all(s.kind == "embedded" for s in registry[n].sources)]


def data_words(runs: RunSet) -> str:
    """The header's sentence on the data the runs trained and were tested on, from train.json
    `train_data` and eval/*.json `dataset`; loud when that is the fallback photos, whose numbers
    cannot be compared with anything trained or tested on the real sets."""
    train = list(dict.fromkeys(n for r in runs.runs for n in r.schedule.train_sets))
    test = sorted({s.dataset for r in runs.runs for s in r.scores.values() if s.dataset})
    if not train and not test:
        return ""
    text = f"Training data: {', '.join(train) or 'not recorded'}; test data: {', '.join(test) or 'none yet'}."
    fallback = _embedded(train + test)
    if fallback:
        text = (f"**Data: these runs used the fallback photos that ship with scikit-image ({', '.join(fallback)}), "
                "not T91 + BSD200 (or DIV2K) for training and Set5, Set14, ... for testing: their numbers cannot "
                "match docs/results-cpu/ or the papers.** " + text + " README, \"Data\", says where the real sets go.")
    return text


def header(title: str, preset: str, runs: RunSet, ref: Reference | None, extra: str = "",
            shown: Iterable[str] = ()) -> list[str]:
    """Title, preset, data, the paper's caption, the training budgets (the paper's beside those of `shown`,
    the base ids of the runs the table shows; their seed runs count too) and the table's own `extra`."""
    lines = [
        f"# {md_inline(title)}",
        "",
        md_inline(f"**Preset: {span(preset)}.** This file shows the {span(preset)} preset: every measured number "
                  f"comes from its runs in {span(runs.root)}. Columns marked *paper* are the published numbers, "
                  f"not measurements of ours; {RULE_WORDS}"),
    ]
    if data := data_words(runs):
        lines += ["", md_inline(data)]
    if ref is not None and ref.found:
        lines += ["", md_inline(f"Paper caption: *{ref.caption}*")]
    names = set(shown)
    if ref is not None and (budget := gap_words(paper_budget(ref.source, ref.table),
                                                (r for r in runs.runs if base_id(r.name) in names))):
        lines += ["", md_inline(budget)]
    if extra:
        lines += ["", md_inline(extra)]
    return lines + [""]


def footer(notes: Iterable[str]) -> list[str]:
    """The notes under a table, each through md_inline: they name runs and quote their files."""
    notes = [n for n in notes if n]
    return ["", "Notes:", ""] + [f"- {md_inline(n)}" for n in notes] if notes else []


def fill_hint(table: str, what: str) -> str:
    """`table` is the target name (table2, ntire_table3, ...), which is also the file's stem."""
    return (
        f"No run of this preset fills this table yet: it needs {what}. Run the workflow "
        f"(`snakemake --cores all results/{table}.md`), or `repbench train`, `repbench measure` and "
        f"`repbench eval` into the runs folder (a run the preset's plan does not name is placed by what it is: "
        f"method, size, scale, channels and options)."
    )


