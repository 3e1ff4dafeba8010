"""Δ against a paper only on the same data and at the table's budget (repbench.report.compare), and the
training budgets every table header states (repbench.report.budgets). Synthetic run folders; nothing trains."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from repbench import report
from repbench.report import budgets, compare, ntire, references, tables
from repbench.report.references import Figure

from test_report import PRESET as REPSR_PRESET
from test_report import write_runs
from test_report_ntire import table_row, write_paper_like, write_run


def _set_train(root: Path, **fields: object) -> None:
    for path in root.glob("*/train.json"):
        path.write_text(json.dumps(json.loads(path.read_text()) | fields))


def _references_with(tmp_path: Path, source: str, table: str, **setting: object) -> Path:
    """A copy of the shipped reference files with one table's `setting` changed."""
    folder = tmp_path / "references"
    shutil.copytree(references.REFERENCES_DIR, folder)
    path = folder / f"{source}.yaml"
    data = yaml.safe_load(path.read_text())
    data["tables"][table]["setting"] |= setting
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return folder


def _column(text: str, name: str) -> list[str]:
    """Every cell of column `name` in the Markdown tables of `text`."""
    cells, header = [], []
    for line in text.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        row = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = row
        elif name in header and not set(row[0]) <= set(":-"):
            cells.append(row[header.index(name)])
    return cells


# --------------------------------------------------------------------------- the rule itself


def test_the_rule_names_each_mismatch() -> None:
    paper = Figure("div2k_val", "RGB", 4, 4)
    assert compare.why_no_delta(Figure("div2k_val", "RGB", 4, 4), paper) is None
    assert compare.why_no_delta(Figure("set5", "RGB", 4, 4), paper) == "other test set"
    assert compare.why_no_delta(Figure("div2k_val", "Y", 4, 4), paper) == "other channel"
    assert compare.why_no_delta(Figure("div2k_val", "RGB", 2, 4), paper) == "other scale"
    assert compare.why_no_delta(Figure("div2k_val", "RGB", 4, 2), paper) == "other border"
    assert compare.why_no_delta(Figure("div2k_val", "RGB", 4, 2), Figure("div2k_val", "RGB", 4)) is None  # no border recorded
    assert compare.why_no_delta(Figure("set5", "Y", 2), Figure("set5", None, 2)) == "paper's channel not stated"
    off = compare.Budget(1200, 400)
    assert compare.why_no_delta(Figure("div2k_val", "RGB", 4, 4), paper, off) == "trained 1,200 it., this table's experiment 400"
    assert compare.paper_delta(29.0512, 29.13, Figure("div2k_val", "RGB", 4, 4), paper, 2, compare.Budget(400, 400)) == "-0.08"
    assert compare.paper_delta(29.0, 29.13, Figure("set5", "RGB", 4, 4), paper) == "no Δ (other test set)"
    assert compare.paper_value("29.13", Figure("set5", "RGB", 4), paper) == "29.13 (DIV2K-valid RGB, border 4)"
    assert compare.paper_value("29.13", Figure("div2k_val", "RGB", 4, 4), paper) == "29.13"


def test_paper_figures_come_from_the_reference_files() -> None:
    ntire2022 = references.load_reference("ntire2022", "table3")
    assert ntire2022.figure() == Figure("div2k_val", "RGB", 4)  # setting: data "DIV2K validation", metric "PSNR (RGB)"
    repsr = {t: references.load_reference("repsr2022", t) for t in ("table1", "table2", "table6")}
    assert repsr["table2"].figure("set5") == Figure("set5", "Y", 4)
    assert repsr["table1"].figure("b100") == Figure("b100", None, 2)  # the paper names no channel for Table 1
    assert repsr["table6"].figure("urban100") == Figure("urban100", "RGB", 4)


# --------------------------------------------------------------------------- rendered tables


def test_ntire_tables_give_no_delta_against_the_paper_on_another_test_set(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "set5only"
    for b, psnr in ((8, 27.9), (7, 27.8)):
        write_run(root, f"imdn-B{b}-x4-rgb", "imdn", b, psnr, datasets=("Set5",))
    write_run(root, "imdn-clb-B7-x4-rgb", "imdn-clb", 7, 27.85, datasets=("Set5",))
    ctx = report.build_context(root)
    for table, label in (("ntire_table2", "IMDN Baseline"), ("ntire_table3", "8"), ("ntire_table5", "Stage 1")):
        text = ntire.render(ctx, table)
        row = table_row(text, label)
        assert row["PSNR"] != "–" and row["PSNR paper"].endswith(" (DIV2K-valid RGB)"), table
        assert row["Δ PSNR"] == "no Δ (other test set)", table
        deltas = _column(text, "Δ PSNR")
        assert deltas and not [c for c in deltas if c.startswith(("+", "-"))], table  # not one number against DIV2K-valid


def test_ntire_table_gives_no_delta_against_a_paper_figure_in_another_channel(tmp_path: Path) -> None:
    runs = write_paper_like(tmp_path / "runs" / "p")
    same = ntire.render_table3(report.build_context(runs, "p"))
    assert table_row(same, "7")["Δ PSNR"] == "-0.07" and table_row(same, "7")["PSNR paper"] == "28.97"  # same data: Δ printed
    folder = _references_with(tmp_path, "ntire2022", "table3", metric="PSNR (Y)")
    other = ntire.render_table3(report.build_context(runs, "p", references_dir=folder))
    b7 = table_row(other, "7")
    assert b7["PSNR"] == "28.90" and b7["PSNR paper"] == "28.97 (DIV2K-valid Y)" and b7["Δ PSNR"] == "no Δ (other channel)"
    assert table_row(other, "7")["Δ Params"] == "+0.0000"  # a count has no test set: still compared


def test_repsr_table2_gives_no_delta_against_a_paper_figure_at_another_scale(tmp_path: Path) -> None:
    root = write_runs(tmp_path / "runs" / REPSR_PRESET)
    same = tables.render_table2(report.build_context(root, REPSR_PRESET))
    assert "+0.08 / +0.0013" in same  # RepSR-M4C16 on Set5, Y, x4: the paper's figure, Δ printed
    folder = _references_with(tmp_path, "repsr2022", "table2", scale=2)
    other = tables.render_table2(report.build_context(root, REPSR_PRESET, references_dir=folder))
    assert "31.02 / 0.8817 (Set5 Y x2)" in other and "no Δ (other scale)" in other
    assert "+0.08 / +0.0013" not in other


def test_a_run_off_the_tables_budget_gets_no_delta(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "budgets"
    write_run(root, "imdn-B8-x4-rgb", "imdn", 8, 29.0512, iterations=400, experiments=["ntire_table3"])
    write_run(root, "imdn-B7-x4-rgb", "imdn", 7, 28.9012, iterations=400, experiments=["ntire_table3"])
    write_run(root, "imdn-B6-x4-rgb-i1200", "imdn", 6, 28.95, iterations=1200)  # declares nothing: shows up here
    _set_train(root, batch_size=16)
    text = ntire.render_table3(report.build_context(root))
    b8, b6 = table_row(text, "8"), table_row(text, "6")
    assert b8["Iters"] == "400" and b8["LR Mpx"] == "26.2" and b8["Δ PSNR"] == "-0.08"  # 400 x 16 x 64²
    assert b6["Iters"] == "1,200" and b6["LR Mpx"] == "78.6" and b6["PSNR paper"] == "28.93"
    assert b6["Δ PSNR"] == "no Δ (trained 1,200 it., this table's experiment 400)"
    assert "`imdn-B6-x4-rgb-i1200` trained 1,200 iterations, not the 400 this table's experiment trains" in text
    assert "compared with its paper row only at the budget this table's experiment trains: 400 iterations" in text


# --------------------------------------------------------------------------- headers


def test_headers_state_the_papers_budget_beside_ours(tmp_path: Path) -> None:
    root = write_runs(tmp_path / "runs" / REPSR_PRESET)
    _set_train(root, batch_size=16, patch_size=24, train_data="T91,BSD200")
    t2 = tables.render_table2(report.build_context(root, REPSR_PRESET))
    head = t2.split("\n| ")[0]
    assert ("**Training budget.** Paper (RepSR, section 5.1, tiny models): 1,000,000 iterations x batch 32 x LR "
            "patch 64² = 131,072 LR Mpx seen, trained on DIV2K train (800 images).") in head
    assert ("Ours (3 runs in this table): 20 iterations x batch 16 x LR patch 24² = 0.2 LR Mpx seen, trained on "
            "T91, BSD200. That is 50,000x fewer iterations and 711,111x fewer LR pixels than the paper.") in head
    assert "not a failed reproduction" in head and "Δ = ours − paper, printed only where" in head

    ntire_root = write_paper_like(tmp_path / "runs" / "n")
    t5 = ntire.render_table5(report.build_context(ntire_root, "n"))
    head = t5.split("\n| ")[0]
    assert "Paper (NTIRE 2022 IMDN + collapsible linear blocks, sections 3.2 and 4.1): batch 32, LR patch 64 then 160" in head
    assert "not stated: the iterations (500 epochs at batch 32" in head
    assert "Ours (3 runs in this table): 100 iterations x batch not recorded x LR patch 64² (160–256² in stage 2" in head
    assert "x fewer" not in head  # the paper states no iterations: no ratio is made up


def test_paper_budgets_live_in_one_place() -> None:
    assert budgets.paper_budget("repsr2022", "table2").lr_pixels == 1_000_000 * 32 * 64 ** 2
    assert budgets.paper_budget("repsr2022", "table5").lr_pixels == 1_000_000 * 32 * 48 ** 2
    assert budgets.paper_budget("ntire2022", "table3").iterations is None  # not stated in the paper
    assert budgets.lr_pixels(400, 16, 24, 40, 320) == 16 * (320 * 24 ** 2 + 80 * 40 ** 2)
