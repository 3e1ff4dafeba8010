"""`repbench check` and what the report does with its findings: floors, seed spreads, † marks.

One test trains a real smoke-preset run (4 iterations of a tiny network on the embedded images): it is
under-trained on purpose, so the check must name it. The others build small runs folders by hand."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from repbench import report
from repbench.pipeline import config as pipeline_config
from repbench.cli import main
from repbench.report import tables
from repbench.results import checks
from runfolders import add_run, add_seeds, write_floors

REPO = Path(__file__).resolve().parent.parent
BICUBIC = {"Set5": 28.43, "Urban100": 23.14}
NEAREST = {"Set5": 26.21, "Urban100": 21.70}


def _floors(root: Path, scale: int = 4) -> None:
    write_floors(root, {"bicubic": BICUBIC, "nearest": NEAREST}, scale, rgb_offset=-0.5, n_images=5, per_image=False)


def _check(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "repbench.cli", "check", str(root)], capture_output=True, text=True,
                          env=env, timeout=120)


# --------------------------------------------------------------------------- the check


def test_a_realistic_runs_folder_passes(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "good"
    _floors(root)
    add_run(root, "repsr-M4C8-x4", "repsr", "M4C8", 200_000_000, {"Set5": 30.1, "Urban100": 24.2})
    add_run(root, "repsr-M4C16-x4", "repsr", "M4C16", 680_000_000, {"Set5": 30.6, "Urban100": 24.6})
    result = _check(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no findings in 2 trained run(s)" in result.stdout


def test_each_finding_names_the_run_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "runs" / "bad"
    _floors(root)
    add_run(root, "plain-M4C8-x4", "plain", "M4C8", 200_000_000, {"Set5": 27.43, "Urban100": 24.0})  # Set5 < bicubic
    add_run(root, "ecbsr-M4C8-x4", "ecbsr", "M4C8", 200_000_000, {"Set5": 30.0, "Urban100": 24.3})
    add_run(root, "ecbsr-M4C16-x4", "ecbsr", "M4C16", 680_000_000, {"Set5": 29.7, "Urban100": 24.4})  # inverted on Set5
    steep = [(0, 20.0), (500, 26.0), (1000, 27.5), (1500, 28.6)]  # +1.1 dB of 8.6 in the last interval
    add_run(root, "repsr-M4C8-x4", "repsr", "M4C8", 200_000_000, {"Set5": 30.2, "Urban100": 24.3}, curve=steep)
    # RGB runs are held to bicubic's RGB PSNR (27.93 on Set5): 28.1 - 0.4 = 27.7 is below it, 28.6 - 0.4 is not
    add_run(root, "repsr-M1C4-x4-rgb", "repsr", "M1C4", 20_000_000, {"Set5": 28.1}, colors=3)

    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    sections = out.split("\n\n")
    floor = next(s for s in sections if s.startswith("below the bicubic floor"))
    assert "plain-M4C8-x4: Y PSNR below bicubic x4: Set5 27.43 < 28.43 dB" in floor
    assert "repsr-M1C4-x4-rgb: RGB PSNR below bicubic x4: Set5 27.70 < 27.93 dB" in floor
    assert "ecbsr" not in floor and "Urban100" not in floor.split("plain-M4C8-x4")[1].splitlines()[0]
    inversion = next(s for s in sections if s.startswith("size inversions"))
    assert "ecbsr-M4C16-x4: larger than `ecbsr-M4C8-x4`" in inversion and "Set5 29.70 < 30.00 dB" in inversion
    assert "Urban100" not in inversion  # the larger network is better there
    curve = next(s for s in sections if s.startswith("still improving"))
    assert "repsr-M4C8-x4: validation PSNR still rising: +1.10 dB" in curve and "13% of" in curve
    assert "ecbsr-M4C8-x4" not in out.replace("`ecbsr-M4C8-x4`", "")  # the sound run is never named

    # the tables mark exactly those runs, with the reasons in a footnote
    ctx = report.build_context(root)
    assert set(ctx.marks()) == {"plain-M4C8-x4", "repsr-M1C4-x4-rgb", "ecbsr-M4C16-x4", "repsr-M4C8-x4"}
    t2 = tables.render_table2(ctx)
    assert "| Plain-M4C8 †" in t2 and "| ECBSR-M4C8 " in t2 and "| ECBSR-M4C16 †" in t2
    assert "† `ecbsr-M4C16-x4`: larger than `ecbsr-M4C8-x4`" in t2 and checks.DEFINITION in t2
    # ... and so do the leaderboard page (label and footer) and its CSV
    report.build_report(root, tmp_path / "out", only=["leaderboard"])
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "Plain-M4C8 †" in page and "ECBSR-M4C8 †" not in page and "† plain-M4C8-x4: Y PSNR below bicubic" in page
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv").set_index("run")
    assert csv.loc["plain-M4C8-x4", "undertrained"] and not csv.loc["ecbsr-M4C8-x4", "undertrained"]
    assert "below bicubic" in csv.loc["plain-M4C8-x4", "undertrained_reasons"]


def test_seed_spread_decides_size_inversions(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "seeds"
    _floors(root)
    add_seeds(root, "repsr", "M4C8", 200_000_000, [30.00, 30.10, 29.90])
    add_seeds(root, "repsr", "M4C16", 680_000_000, [29.95, 30.15, 29.90])
    # means 30.000 vs 30.000 - 0.0167: lower, but well within the seeds' spread (0.1 + 0.125)
    assert _check(root).returncode == 0
    # the larger network consistently lower: 29.65 +- 0.05 vs 30.00 +- 0.10, a gap beyond the spread
    add_seeds(root, "repsr", "M4C16", 680_000_000, [29.60, 29.70, 29.65])
    result = _check(root)
    assert result.returncode == 1
    assert "repsr-M4C16-x4: larger than `repsr-M4C8-x4`" in result.stdout
    assert "Set5 29.65 < 30.00 dB (n=3 vs 3, spread 0.15)" in result.stdout


def test_bad_input_exits_2(tmp_path: Path) -> None:
    result = _check(tmp_path / "missing")
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "empty").mkdir()
    result = _check(tmp_path / "empty")
    assert result.returncode == 2 and "no runs found" in result.stderr


def test_a_smoke_run_is_named_under_trained(tmp_path: Path) -> None:
    """A real run of the smoke preset's recipe (4 iterations) with its real bicubic floor."""
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    plan = pipeline_config.plan(preset)
    spec = plan.runs["plain-M1C4-x4"]
    root = tmp_path / "runs" / "smoke"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "repbench.cli"]
    args = shlex.split(pipeline_config.train_cli_args(spec, plan, preset))
    trained = subprocess.run(cmd + ["train", "--run-dir", str(root / spec.run_id), *args, "--set", "threads=1"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    for model, out in (("bicubic", root / "bicubic-x4"), (str(root / spec.run_id / "deployed.pt"), root / spec.run_id)):
        scored = subprocess.run(cmd + ["eval", "--model", model, "--dataset", plan.test_data[0], "--scale", "4", "--quiet",
                                       "--out", str(out / "eval" / f"{plan.test_data[0]}-x4.json")],
                                capture_output=True, text=True, env=env, timeout=300)
        assert scored.returncode == 0, scored.stderr[-2000:]
    result = _check(root)
    assert result.returncode == 1, result.stdout
    assert "plain-M1C4-x4: Y PSNR below bicubic x4" in result.stdout
    # `repbench report --check` writes the tables and then fails the same way
    reported = subprocess.run(cmd + ["report", "--runs", str(root), "--out", str(tmp_path / "out"), "--only", "table2",
                                     "--check"], capture_output=True, text=True, env=env, timeout=300)
    assert reported.returncode == 1 and "plain-M1C4-x4" in reported.stdout
    assert "| Plain-M1C4 †" in (tmp_path / "out" / "table2.md").read_text()


# --------------------------------------------------------------------------- floors and seeds in the report


def test_nearest_is_a_floor_below_bicubic(tmp_path: Path) -> None:
    scores = {}
    for model in ("nearest", "bicubic"):
        out = tmp_path / f"{model}.json"
        assert main(["eval", "--model", model, "--dataset", "skimage-test", "--scale", "4", "--out", str(out), "--quiet"]) == 0
        scores[model] = json.loads(out.read_text())
    near, bic = scores["nearest"], scores["bicubic"]
    assert near["model"]["name"] == "nearest" and near["n_images"] == bic["n_images"] > 0
    assert near["psnr_y"] < bic["psnr_y"] and near["psnr_rgb"] < bic["psnr_rgb"]  # both channel conventions
    assert main(["eval", "--model", "nearest", "--dataset", "skimage-test"]) == 2  # no scale: an error, not a guess


def test_seed_runs_fold_into_mean_spread_and_ties(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "seeds"
    _floors(root)
    add_seeds(root, "ecbsr", "M4C16", 680_000_000, [30.00, 30.10, 30.20])
    add_seeds(root, "repsr", "M4C16", 680_000_000, [30.05, 30.08, 30.14], sec_per_iter=None,
            budget={"iterations": 1500, "lr_pixels": 1500 * 16 * 48 * 48, "train_seconds": 150.0})
    add_run(root, "plain-M4C16-x4", "plain", "M4C16", 680_000_000, {"Set5": 29.0})
    ctx = report.build_context(root)
    wide = ctx.wide.set_index("run")
    assert list(ctx.per_run["run"]).count("repsr-M4C16-x4-seed2") == 1 and "repsr-M4C16-x4-seed2" not in wide.index
    assert wide.loc["repsr-M4C16-x4", "n_seeds"] == 3
    assert wide.loc["repsr-M4C16-x4", "psnr_y_set5"] == pytest.approx(30.09)
    assert wide.loc["ecbsr-M4C16-x4", "std_psnr_y_set5"] == pytest.approx(0.1)
    t2 = tables.render_table2(ctx)
    header = [c.strip() for c in next(l for l in t2.splitlines() if l.startswith("| Model")).strip("|").split("|")]
    cell = lambda model, col: dict(zip(header, [c.strip() for c in next(  # noqa: E731
        l for l in t2.splitlines() if l.startswith(f"| {model} ")).strip("|").split("|")]))[col]
    assert cell("ECBSR-M4C16", "Set5 PSNR / SSIM") == "**30.10** ± 0.10 (n=3) / 0.8500"  # the best of M4C16: bold
    assert cell("RepSR-M4C16", "Set5 PSNR / SSIM") == "30.09 ± 0.05 (n=3, ≈ best) / 0.8500"  # vs 30.10: within the spread
    assert cell("Plain-M4C16", "Set5 PSNR / SSIM") == "29.00 / 0.8500"  # one seed: no spread, no tie claimed
    assert cell("Bicubic", "Set5 PSNR / SSIM") == "28.43 / 0.8000" and cell("Nearest", "Set5 PSNR / SSIM") == "26.21 / 0.8000"
    assert cell("RepSR-M4C16", "Iters") == "1,500" and cell("RepSR-M4C16", "Train s") == "150"  # budget wins
    assert cell("RepSR-M4C16", "LR Mpx") == "55.3"  # 1500 x 16 x 48^2 LR pixels seen
    assert "validated on Set5" in t2 and "sample standard deviation over seeds" in t2
    # Table 3: one s/iter definition, the runs' own (budget 150 s / 1500 it = 0.1 vs ECBSR's train.json 0.2)
    t3 = tables.render_table3(ctx)
    repsr_row = t3.split("`repsr-M4C16-x4`")[1].split("\n")[0]
    assert "0.1000 ± 0.0000 (n=3)" in repsr_row and " 27.8 |" in repsr_row and repsr_row.count("-50%") == 2
    # the leaderboard CSV carries n and the spread; the page marks nothing here
    report.build_report(root, tmp_path / "out", only=["leaderboard"])
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    row = csv[csv["run"] == "ecbsr-M4C16-x4"].iloc[0]
    assert row["n_seeds"] == 3 and row["std_psnr_y_set5"] == pytest.approx(0.1) and row["n_psnr_y_set5"] == 3
    assert "ecbsr-M4C16-x4-seed1" in row["seed_runs"] and not row["undertrained"]


def test_a_restarted_run_is_footnoted_where_it_is_shown(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "restart"
    _floors(root)
    add_run(root, "ecbsr-M4C8-x4", "ecbsr", "M4C8", 200_000_000, {"Set5": 30.0})
    add_run(root, "ecbsr-M4C16-x4-seed1", "ecbsr", "M4C16", 680_000_000, {"Set5": 30.5}, seed=1,
            lr_backoffs=[{"iteration": 40, "restored_to": 0, "lr_scale": 0.25}])
    add_run(root, "ecbsr-M4C16-x4", "ecbsr", "M4C16", 680_000_000, {"Set5": 30.4})
    ctx = report.build_context(root)
    assert ctx.restarts() == {"ecbsr-M4C16-x4": [
        "`ecbsr-M4C16-x4-seed1` restarted after a loss spike by iteration 40: trained again from iteration 0 "
        "at x0.25 the learning rate (the same rule for every run)"]}
    t2 = tables.render_table2(ctx)
    assert "- `ecbsr-M4C16-x4`: `ecbsr-M4C16-x4-seed1` restarted after a loss spike by iteration 40" in t2
    assert "`ecbsr-M4C8-x4`:" not in t2  # not restarted, not marked: no footnote
    result = _check(root)
    assert result.returncode == 0, result.stdout  # a restart is a fact of the run, not a finding
    assert "restarted after a loss spike (a fact of the run, not a finding):\n  ecbsr-M4C16-x4: ecbsr-M4C16-x4-seed1 restarted" in result.stdout


def test_a_single_seed_run_counts_the_folders_typical_seed_spread(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "typical"
    _floors(root)
    # seeded groups elsewhere in the folder: Set5 stds 0.05 and 0.05 -> typical 0.05 per single-seed side
    add_seeds(root, "plain", "M4C8", 200_000_000, [29.00, 29.05, 29.10])
    add_seeds(root, "plain", "M4C16", 680_000_000, [29.50, 29.55, 29.60])
    add_run(root, "sesr-M5C16-x4", "sesr", "M5C16", 1_000_000_000, {"Set5": 29.42})
    add_run(root, "sesr-M11C16-x4", "sesr", "M11C16", 1_800_000_000, {"Set5": 29.40})  # 0.02 lower: noise
    add_run(root, "sesr-M11C32-x4", "sesr", "M11C32", 6_600_000_000, {"Set5": 29.25})  # 0.17 lower: beyond 0.10
    ctx = report.build_context(root)
    assert checks.typical_spreads(ctx.wide)[(4, 1, "psnr_y_set5")] == pytest.approx(0.05)
    result = _check(root)
    assert "sesr-M11C16-x4:" not in result.stdout
    assert "sesr-M11C32-x4: larger than `sesr-M5C16-x4`" in result.stdout
    assert "Set5 29.25 < 29.42 dB (n=1 vs 1, spread 0.10)" in result.stdout
    assert result.returncode == 1
