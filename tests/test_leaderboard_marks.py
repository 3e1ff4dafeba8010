"""The leaderboard's first screen, without a browser: it opens on the x4 Y group (Table 2's), marks the
best trained run of each size, puts the iterations beside the PSNRs and says when a group's runs had
different budgets. Run folders made here (tests/test_report.py's builders); nothing is trained."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
import pandas as pd
import pytest

from repbench import report
from repbench.report.leaderboard import Group, default_group, leaderboard_columns, leaderboard_frame, row_groups
from repbench.report.leaderboard.frame import CSV_FRONT
from repbench.report.leaderboard.groups import budget_note
from runfolders import eval_record, write_file

try:
    from test_report import PRESET, measure_record, write_runs
    from test_report_published import NAME, write_published_run
except ImportError:  # tests collected as a package
    from tests.test_report import PRESET, measure_record, write_runs
    from tests.test_report_published import NAME, write_published_run

# Budgets of the x4 Y runs: three different ones, so the group's front spans 400-800 iterations.
BUDGETS = {"repsr-M4C16-x4": 500, "ecbsr-M4C16-x4": 500, "plain-M4C8-x4": 400}
# The x2 RGB group sorts first and, here, holds the most runs: the page must still open on x4 Y.
X2_PLAIN = {f"plain-M{m}C4-x2-rgb": 33.0 + m / 10 for m in range(1, 6)}
# Best of each size (mean over seeds, group's first test set, group's channel; ties all marked).
BEST = {"repsr-M4C16-x4", "plain-M4C16-x4", "ecbsr-M4C8-x4", "imdn-B8-x4-rgb", "edsr-R1C4-x2-rgb-frozenbn"}


def add_run(root: Path, name: str, method: str, size: str, scale: int, colors: int, scores: dict[str, float], *,
            iterations: int = 20, ips: float = 100.0, rgb_offset: float = -0.3, seed: int = 0) -> Path:
    """One finished run folder (train.json, measure.json, eval files, metrics.csv), as the pipeline leaves it."""
    spec = dict(method=method, size=size, scale=scale, colors=colors, params=(5_000, 5_000, 5_000), macs=100_000_000,
                n_conv=6, ips=ips, unmerged=None, spi=0.01, layout="nested")
    run = root / name
    write_file(run / "train.json", {
        "method": method, "size": size, "scale": scale, "colors": colors, "options": {}, "iterations": iterations,
        "train_seconds": iterations * 0.01, "sec_per_iter": 0.01, "device": "cpu", "seed": seed, "status": "complete",
    })
    (run / "deployed.pt").write_bytes(b"")
    write_file(run / "measure.json", measure_record(spec))
    for dataset, psnr in scores.items():
        write_file(run / "eval" / f"{dataset}-x{scale}.json", eval_record(dataset, scale, psnr, 0.85, rgb_offset))
    (run / "metrics.csv").write_text("iteration,loss,lr,seconds,val_psnr,event\n0,0.2,0.0004,0.0,24.0,val\n"
                                     f"{iterations},0.1,0.0004,1.0,24.0,val\n")
    return run


def write_marked_runs(root: Path) -> Path:
    """test_report's runs, plus: a tie at M4C16, three M4C8 contenders (one with two seeds), two IMDN-B8 runs
    beside the released IMDN (also B8), five x2 RGB runs, and x4 Y budgets of 400, 500 and 800 iterations."""
    write_runs(root)
    for name, iterations in BUDGETS.items():
        train = json.loads((root / name / "train.json").read_text())
        write_file(root / name / "train.json", {**train, "iterations": iterations})
    # ties RepSR-M4C16 (31.1034567) to the last digit: both are marked
    add_run(root, "plain-M4C16-x4", "plain", "M4C16", 4, 1, {"Set5": 31.1034567, "Urban100": 24.5}, iterations=800)
    # the paper's M4C8 rows (30.52, 30.50) are higher, and RepSR's seed 0 is: neither counts, the mean does
    add_run(root, "ecbsr-M4C8-x4", "ecbsr", "M4C8", 4, 1, {"Set5": 30.45, "Urban100": 24.2}, iterations=500)
    add_run(root, "repsr-M4C8-x4", "repsr", "M4C8", 4, 1, {"Set5": 30.46, "Urban100": 24.2}, iterations=500)
    add_run(root, "repsr-M4C8-x4-seed1", "repsr", "M4C8", 4, 1, {"Set5": 30.30, "Urban100": 24.1}, iterations=500, seed=1)
    # x4 RGB: scored in RGB, as the front is; by PSNR-Y the second run would win
    add_run(root, "imdn-B8-x4-rgb", "imdn", "B8", 4, 3, {"Set5": 30.0}, rgb_offset=-0.2)
    add_run(root, "imdn-B8-x4-rgb-b", "imdn", "B8", 4, 3, {"Set5": 30.1}, rgb_offset=-0.6)
    write_published_run(root)  # IMDN B8 x4 RGB, released: 30.33 dB RGB, above both, and never marked
    for name, psnr in X2_PLAIN.items():
        add_run(root, name, "plain", name.split("-")[1], 2, 3, {"Set5": psnr})
    return root


@pytest.fixture()
def marked_root(tmp_path: Path) -> Path:
    return write_marked_runs(tmp_path / "runs" / PRESET)


@pytest.fixture()
def frame(marked_root: Path) -> pd.DataFrame:
    return leaderboard_frame(report.build_context(marked_root, PRESET))[0]


def _row_tag(page: str, run: str) -> str:
    """The HTML of one table row of the page, by run name."""
    match = re.search(rf'<tr [^>]*data-run="{re.escape(run)}".*?</tr>', page, re.S)
    assert match, run
    return match.group(0)


def test_best_of_each_size_among_trained_runs(frame: pd.DataFrame) -> None:
    best = set(frame.loc[frame["best_in_size"], "run"])
    assert best == BEST
    assert not frame.loc[frame["kind"] != "run", "best_in_size"].any()  # paper rows, the released IMDN
    repsr_m4c8 = frame[frame["run"] == "repsr-M4C8-x4"].iloc[0]
    assert repsr_m4c8["psnr_y_set5"] == pytest.approx(30.38) and not repsr_m4c8["best_in_size"]  # the mean, not seed 0
    # a size with one trained run marks nothing: it has beaten no one
    assert not frame.loc[frame["run"].isin(set(X2_PLAIN) | {"repsr-M1C4-x4-rgb-expand1"}), "best_in_size"].any()


def test_the_csv_appends_best_in_size(marked_root: Path, tmp_path: Path) -> None:
    report.build_report(marked_root, tmp_path, preset=PRESET, only=["leaderboard"])
    csv = pd.read_csv(tmp_path / "leaderboard.csv")
    assert list(csv.columns[: len(CSV_FRONT)]) == list(CSV_FRONT)  # the existing columns keep their place
    assert csv.columns[-1] == "best_in_size"
    assert set(csv.loc[csv["best_in_size"], "run"]) == BEST


def test_the_page_badges_the_best_and_says_why(marked_root: Path, tmp_path: Path) -> None:
    report.build_report(marked_root, tmp_path, preset=PRESET, only=["leaderboard"])
    page = html.unescape((tmp_path / "leaderboard.html").read_text())
    for run in ("repsr-M4C16-x4", "plain-M4C16-x4"):
        title = re.search(r'class="badge best" title="([^"]*)">best M4C16<', _row_tag(page, run)).group(1)
        assert "highest mean Set5 PSNR-Y (31.10 dB) of the 3 trained M4C16 runs" in title
        assert "x4 · Y; tied with 1 other run" in title and "paper rows" in title
    assert "badge best" not in _row_tag(page, "ecbsr-M4C16-x4") and "badge best" not in _row_tag(page, NAME)
    assert "Set5 PSNR-RGB (29.80 dB)" in _row_tag(page, "imdn-B8-x4-rgb")
    assert 'id="best-definition"' in page


def test_a_group_of_mixed_budgets_says_so(frame: pd.DataFrame) -> None:
    groups = {g.key: g for g in row_groups(frame.to_dict("records"))[0]}
    note = groups["x4-y"].budget_note
    assert "span 400-800 iterations (400, 500, 800)" in note and "Pareto front" in note
    assert "mixed budgets" in groups["x4-y"].label
    assert groups["x2-rgb"].budget_note == "" and "mixed" not in groups["x2-rgb"].label  # one budget, 20
    assert groups["x4-rgb"].budget_note == ""  # the released IMDN's budget is not one of ours
    assert budget_note([1000, None]).startswith("Budgets unknown in part: 1 of")
    assert budget_note([400, 800, None]).endswith("1 of its runs records no iteration count.")
    assert budget_note([500, 500.0]) == budget_note([]) == ""


def test_the_page_opens_on_x4_y_with_its_budget_note(marked_root: Path, tmp_path: Path) -> None:
    report.build_report(marked_root, tmp_path, preset=PRESET, only=["leaderboard"])
    page = html.unescape((tmp_path / "leaderboard.html").read_text())
    selected = re.findall(r'<option value="([^"]*)"[^>]*\bselected>', page)
    assert selected == ["x4-y"]
    note = re.search(r'<p id="budget-note"( hidden)?>([^<]*)</p>', page)
    assert note and not note.group(1) and "400-800 iterations" in note.group(2)
    assert 'data-budget="Mixed budgets' in page


def _group(key: str, n_runs: int, n_paper: int = 0) -> Group:
    scale, channel = int(key.split("-")[0][1:]), key.split("-")[1]
    return Group(key, scale, channel, n_runs, n_paper, key, "")


def test_default_group_is_table2s_not_the_largest() -> None:
    groups = [_group("x2-rgb", 9), _group("x4-y", 2, 24), _group("x4-rgb", 5)]
    assert default_group(groups).key == "x4-y"
    # x4 Y with only the paper's rows: the preset trained something else, open on what it trained
    assert default_group([_group("x2-rgb", 3), _group("x4-y", 0, 24)]).key == "x2-rgb"
    assert default_group([_group("x4-y", 0, 24)]).key == "x4-y"
    assert default_group([]) is None


def test_iterations_sit_beside_the_psnr_columns() -> None:
    for rgb in ([], ["set5"]):
        keys = [c.key for c in leaderboard_columns(["set5", "urban100"], rgb)]
        last_psnr = max(i for i, k in enumerate(keys) if k.startswith("psnr_"))
        assert keys[last_psnr + 1] == "iterations"

