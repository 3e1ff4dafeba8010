"""Run metadata is free text: none of it may reach a Markdown table, header or note as markup
(repbench.report.mdescape). A runs folder whose names and train.json fields carry HTML renders every
table with that HTML escaped, and the tables keep their shape."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from repbench import report
from repbench.report.mdescape import md_code, md_inline, md_text
from repbench.results.notes import span
from repbench.pipeline.targets import TABLES
from runfolders import eval_record, write_file
from test_report import write_runs

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
# A folder name cannot hold "/", so folder names carry the opening tags and a table delimiter.
BAD_NAME = "<script>alert(1)|<img src=x onerror=alert(1)>"
RAW = re.compile(r"<\s*(script|img)", re.IGNORECASE)


def _train(method: str, size: str, scale: int, colors: int, **extra: object) -> dict[str, object]:
    return {"method": method, "size": size, "scale": scale, "colors": colors, "options": {}, "iterations": 20,
            "train_seconds": 3.0, "sec_per_iter": 0.15, "device": f"cpu {IMG}", "status": "complete",
            "train_data": f"T91,{SCRIPT}", "val_data": IMG, "label": SCRIPT, "tag": IMG, "notes": SCRIPT, **extra}


def _run(root: Path, folder: str, train: dict[str, object], psnr: float, sets: tuple[str, ...] = ("Set5",)) -> None:
    run = root / folder
    write_file(run / "train.json", train)
    for dataset in sets:
        write_file(run / "eval" / f"{dataset}-x{train['scale']}.json", eval_record(dataset, int(train["scale"]), psnr, 0.8))


def hostile_runs(root: Path) -> Path:
    """test_report's runs, and runs in every table whose free text is HTML."""
    write_runs(root)
    # Table 2 / 3 (x4 Y), below the bicubic floor: its name is also in a † note, with a restart note.
    _run(root, f"repsr-M4C8-x4-{BAD_NAME}", _train(
        "repsr", "M4C8", 4, 1, options={"expand": IMG}, lr_backoffs=[{"iteration": 9, "restored_to": 4, "lr_scale": 0.5}],
    ), 20.0, ("Set5", "Urban100"))
    _run(root, f"ecbsr-{IMG}-x4", _train("ecbsr", f"M4C8{SCRIPT}", 4, 1), 29.0)  # HTML in the size
    # Table 1 (x2 EDSR): the run without BN heads the "Ours" section.
    _run(root, f"edsr-R1C4-x2-rgb-{BAD_NAME}", _train("edsr", "R1C4", 2, 3, options={"bn": False}), 36.0, ("Set5", "B100"))
    # Tables 4-7 (x4 RGB RepSR), a variant the paper lacks.
    _run(root, f"repsr-M1C4-x4-rgb-{BAD_NAME}", _train("repsr", "M1C4", 4, 3, options={"variant": SCRIPT}), 29.0)
    # The NTIRE tables (x4 RGB IMDN), scored on a test set named in HTML.
    _run(root, f"imdn-B2-x4-rgb-{BAD_NAME}", _train("imdn", "B2", 4, 3), 28.0, (IMG,))
    # The published table: a released checkpoint whose registry text is HTML.
    _run(root, f"rlfn-{BAD_NAME}", _train("rlfn", "B6C52", 4, 3, published={
        "name": SCRIPT, "label": SCRIPT, "citation": IMG, "licence": SCRIPT,
        "training": {SCRIPT: IMG}, "figures": {"runtime": {"ms": 10.0, "device": IMG}, "flops": {"counter": SCRIPT}},
    }), 28.0)
    (root / f"{BAD_NAME}-broken").mkdir()
    (root / f"{BAD_NAME}-broken" / "train.json").write_text("{not json " + SCRIPT)  # skipped, with a note
    return root


def _pipes(line: str) -> int:
    """The table delimiters of a Markdown table line."""
    return len(re.findall(r"(?<!\\)\|", line))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("hostile")
    root = hostile_runs(tmp / "runs" / "x")
    report.build_report(root, tmp / "out", preset=SCRIPT, only=list(TABLES))
    return {p.name: p.read_text() for p in sorted((tmp / "out").glob("*.md"))}


def test_no_html_from_run_metadata_reaches_any_table(rendered: dict[str, str]) -> None:
    assert sorted(rendered) == sorted(f"{t}.md" for t in TABLES)
    for name, text in rendered.items():
        assert not RAW.search(text), f"{name}: {RAW.search(text)}\n{text}"
        assert "Preset: <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in text, name


def test_the_hostile_values_are_shown_escaped_where_they_belong(rendered: dict[str, str]) -> None:
    name = md_code(f"repsr-M4C8-x4-{BAD_NAME}")
    assert name.startswith("<code>repsr-M4C8-x4-&lt;script&gt;") and "&#124;" in name
    assert name in rendered["table2.md"] and name in rendered["table3.md"]
    assert f"† {name}:" in rendered["table2.md"] and f"- {name}: restarted" in rendered["table2.md"]
    assert "## Ours: PSNR change vs our run without BN (" + md_code(f"edsr-R1C4-x2-rgb-{BAD_NAME}") in rendered["table1.md"]
    assert "variant=&lt;script&gt;" in rendered["table5.md"]
    assert md_code(f"imdn-B2-x4-rgb-{BAD_NAME}") in rendered["ntire_table3.md"]
    assert "**&lt;img src=x onerror=alert(1)&gt;**" in rendered["ntire_table3.md"]  # the test set's name
    assert "&lt;img src=x" in rendered["published.md"] and md_code(f"{BAD_NAME}-broken") + " skipped" in rendered["table2.md"]


def test_tables_keep_their_shape(rendered: dict[str, str]) -> None:
    # A "|" in a name would split its cell: every row has as many delimiters as its table's header.
    for name, text in rendered.items():
        blocks: list[list[str]] = [[]]
        for line in text.splitlines():
            if line.startswith("|"):
                blocks[-1].append(line)
            elif blocks[-1]:
                blocks.append([])
        for block in filter(None, blocks):
            assert {_pipes(row) for row in block} == {_pipes(block[0])}, f"{name}:\n" + "\n".join(block)


def test_the_helpers() -> None:
    assert md_text(f"a | b\n{SCRIPT} & `x`") == "a &#124; b &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#96;x&#96;"
    assert md_code("repsr-M4C16-x4") == "`repsr-M4C16-x4`"  # an ordinary name stays a code span
    assert md_code("a`b|c<d") == "<code>a&#96;b&#124;c&lt;d</code>"
    assert span("a`b") == "``a`b``" and md_inline(f"run {span('a`b')} done") == "run <code>a&#96;b</code> done"
    assert md_inline("**Preset: `cpu`.** *Iters* are `train.json`'s") == "**Preset: `cpu`.** *Iters* are `train.json`'s"
    assert md_inline(f"[x](javascript:alert(1)) {IMG}") == "&#91;x&#93;(javascript:alert(1)) &lt;img src=x onerror=alert(1)&gt;"
