"""`repbench report`: run folders -> tables, figures, leaderboard (synthetic runs; nothing is trained)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from repbench import report
from repbench.pipeline.targets import TARGETS
from repbench.report.leaderboard import leaderboard_frame
from repbench.results import artifact_datasets, load_runs
from repbench.report import bn, figures, references, tables
from repbench.pipeline.config import PLAN_FILE
from repbench.results import inferred_experiments, load_run, values
from repbench.cli import main
from repbench.errors import RepbenchError

from runfolders import add_run, add_seeds, eval_record, write_file, write_floors

PRESET = "testpreset"
DEVICE = "CPU x86_64 (2 threads)"

# Raw numbers with more digits than any table prints: the CSV must keep them, the tables round them.
RUNS: dict[str, dict[str, Any]] = {
    "repsr-M4C16-x4": dict(
        method="repsr", size="M4C16", scale=4, colors=1, options={},
        params=(11_840, 11_920, 27_000), macs=681_984_000, n_conv=6, ips=120.5, unmerged=60.25, spi=0.05,
        scores={"Set5": (31.1034567, 0.88301), "Urban100": (24.7012345, 0.74003)}, layout="nested",
    ),
    "ecbsr-M4C16-x4": dict(
        method="ecbsr", size="M4C16", scale=4, colors=1, options={},
        params=(11_840, 11_920, 40_000), macs=681_984_000, n_conv=6, ips=118.0, unmerged=20.0, spi=0.1,
        scores={"Set5": (30.95, 0.8790), "Urban100": (24.60, 0.7380)}, layout="flat",
    ),
    "plain-M4C8-x4": dict(
        method="plain", size="M4C8", scale=4, colors=1, options={},
        params=(3_624, 3_664, 3_624), macs=205_516_800, n_conv=6, ips=300.0, unmerged=None, spi=0.02,
        scores={"Set5": (30.40, 0.8650), "Urban100": (24.30, 0.7200)}, layout="nested",
    ),
    "edsr-R1C4-x2-rgb-frozenbn": dict(
        method="edsr", size="R1C4", scale=2, colors=3, options={"bn": True}, bn_frozen_at=8,
        params=(2_000, 2_000, 2_000), macs=50_000_000, n_conv=5, ips=90.0, unmerged=None, spi=0.03,
        scores={"Set5": (36.50, 0.9500), "B100": (31.00, 0.8900)}, layout="nested",
        bn=(0.3107, 0.0, 36.5, 36.1893),
    ),
    "edsr-R1C4-x2-rgb-bn": dict(  # BN never frozen: the paper's BN artifacts (a negative artifact score)
        method="edsr", size="R1C4", scale=2, colors=3, options={"bn": True},
        params=(2_000, 2_000, 2_000), macs=50_000_000, n_conv=5, ips=85.0, unmerged=None, spi=0.03,
        scores={"Set5": (36.10, 0.9480), "B100": (30.80, 0.8850)}, layout="nested",
        bn=(-0.4213456, 0.4702, 36.1, 36.5213456),
    ),
    "repsr-M1C4-x4-rgb-expand1": dict(
        method="repsr", size="M1C4", scale=4, colors=3, options={"expand": 1},
        params=(1_000, 1_100, 1_500), macs=20_000_000, n_conv=3, ips=400.0, unmerged=100.0, spi=0.01,
        scores={"Set5": (29.10, 0.8300), "Urban100": (23.50, 0.6900)}, rgb_offset=-0.4, layout="nested",
    ),
}
BICUBIC = {"Set5": (28.43, 0.8113), "Urban100": (23.14, 0.6577)}
NEAREST = {"Set5": (26.21, 0.7480), "Urban100": (21.70, 0.6011)}
# A converged validation curve (iteration -> val PSNR): the last interval adds almost nothing.
FLAT_CURVE = {0: 20.0, 10: 24.97, 20: 25.0}
# `bn` above: (mean_artifact_score, mean_artifact_db, mean_psnr_population, mean_psnr_image_stats) on Set5,
# as `repbench bn-diagnose RUN --dataset Set5 --out RUN/bn` writes them.
BN_RUNS = [name for name, spec in RUNS.items() if "bn" in spec]
# train.json's finished_at / git_commit (repbench.provenance); plain-M4C8-x4 is an older run recording neither.
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PROVENANCE: dict[str, tuple[str, str]] = {
    "repsr-M4C16-x4": ("2025-03-04T10:15:00+00:00", COMMIT),
    "ecbsr-M4C16-x4": ("2025-03-03T09:00:00+00:00", COMMIT + "-dirty"),
    "edsr-R1C4-x2-rgb-frozenbn": ("2025-03-01T23:30:00+00:00", "fedcba9876543210fedcba9876543210fedcba98"),
    "edsr-R1C4-x2-rgb-bn": ("2025-03-02T00:30:00+02:00", COMMIT),  # another offset: the page shows it in UTC (03-01)
    "repsr-M1C4-x4-rgb-expand1": ("2025-03-04T11:00:00+00:00", COMMIT),
}


def measure_record(spec: dict[str, Any]) -> dict[str, Any]:
    """Either layout: `repbench measure`'s nested one, or a flat one with the short names."""
    deployed, paper, train = spec["params"]
    records = [{"net": "merged" if spec["unmerged"] is not None or spec["method"] != "edsr" else "training-time",
                "mode": "eager", "device": "cpu", "device_name": DEVICE, "dtype": "float32", "batch": 4,
                "lr_height": 180, "lr_width": 320, "images_per_s": spec["ips"], "median_s": 4 / spec["ips"],
                "label": "CPU float32, paper protocol"},
               {"net": "merged", "mode": "compile", "device": "cpu", "device_name": DEVICE, "dtype": "float32",
                "batch": 4, "images_per_s": None, "error": "RuntimeError: no compiler"}]
    if spec["unmerged"] is not None:
        records.append({"net": "unmerged", "mode": "eager", "device": "cpu", "device_name": DEVICE,
                        "dtype": "float32", "batch": 4, "images_per_s": spec["unmerged"]})
    speed = {"s_per_iter": spec["spi"], "device_name": DEVICE, "batch": 32, "lr_patch": 64,
             "projected_hours": spec["spi"] * 1e6 / 3600}
    if spec["layout"] == "flat":
        return {"params_deployed": deployed, "params_train": train, "params_paper": paper, "macs": spec["macs"],
                "flops_paper": paper * 57_600, "n_conv": spec["n_conv"], "throughput": records,
                "train_speed": {"sec_per_iter": spec["spi"], "device": DEVICE, "batch": 32}}
    return {"model": {"method": spec["method"], "size": spec["size"], "scale": spec["scale"], "colors": spec["colors"]},
            "counts": {"deployed_params": deployed, "training_params": train, "paper_params": paper,
                       "paper_convention": "mxcy", "paper_flops": paper * 57_600, "macs": spec["macs"],
                       "convs": spec["n_conv"], "lr_height": 180, "lr_width": 320},
            "throughput": records, "train_speed": speed}


def bn_profile(n_layers: int, population: float) -> list[dict[str, Any]]:
    """bn_diagnose.bn_stat_profile's layout: per BN layer, L1 norms of the image's and the population's statistics."""
    return [{"index": i, "name": f"body.{i}.bn", "channels": 4, "l1_var_image": 0.5 / (i + 1),
             "l1_var_population": population + i, "l1_mean_image": 0.2 + 0.05 * i,
             "l1_mean_population": 0.1 * (i + 1), "var_ratio": 0.5 / (i + 1) / (population + i)}
            for i in range(n_layers)]


def write_bn_diagnostics(run: Path, scale: int, score: float, db: float, psnr_pop: float, psnr_img: float,
                         dataset: str = "Set5") -> None:
    """RUN/bn/ as `repbench bn-diagnose RUN --dataset SET --scale S --out RUN/bn` leaves it."""
    write_file(run / "bn" / "bn_diagnose.json", {
        "model": {"method": "edsr", "size": "R1C4", "scale": scale, "colors": 3, "options": {"bn": True}},
        "bn_profile": {"baby": bn_profile(3, 2.0 + score)},
        "dataset_scores": str(run / "bn" / f"artifact_scores_{dataset}_x{scale}.json"),
    })
    write_file(run / "bn" / f"artifact_scores_{dataset}_x{scale}.json", {
        "scale": scale, "n_images": 2, "mean_psnr_population": psnr_pop, "mean_psnr_image_stats": psnr_img,
        "mean_artifact_score": score, "mean_abs_artifact_score": abs(score), "min_artifact_score": score,
        "mean_artifact_db": db, "definition": "artifact_score = PSNR(population) - PSNR(image statistics)",
        "dataset": dataset, "per_image": [
            {"name": name, "psnr_population": psnr_pop, "psnr_image_stats": psnr_img, "artifact_score": score,
             "artifact_db": db} for name in ("baby", "bird")],
    })


def write_runs(root: Path, bn_diagnostics: bool = True) -> Path:
    """A preset's runs folder: the runs above (with their BN diagnostics), a bicubic baseline and an
    unfinished run (skipped)."""
    for name, spec in RUNS.items():
        run = root / name
        write_file(run / "train.json", {
            "method": spec["method"], "size": spec["size"], "scale": spec["scale"], "colors": spec["colors"],
            "options": spec["options"], "iterations": 20, "train_seconds": 20 * spec["spi"] * 3,
            "sec_per_iter": spec["spi"] * 3, "device": DEVICE, "torch": "2.x", "seed": 0,
            "bn_frozen_at": spec.get("bn_frozen_at"), "val_psnr": spec["scores"]["Set5"][0] - 1, "status": "complete",
            **(dict(zip(("finished_at", "git_commit"), PROVENANCE[name])) if name in PROVENANCE else {}),
        })
        (run / "deployed.pt").write_bytes(b"")
        write_file(run / "measure.json", measure_record(spec))
        for dataset, (psnr, ssim) in spec["scores"].items():
            write_file(run / "eval" / f"{dataset}-x{spec['scale']}.json",
                   eval_record(dataset, spec["scale"], psnr, ssim, spec.get("rgb_offset", -0.3)))
        lines = ["iteration,loss,lr,seconds,val_psnr,event"]
        for it in range(0, 21, 2):
            val = f"{FLAT_CURVE[it]:.3f}" if it in FLAT_CURVE else ""
            lines.append(f"{it},{0.2 / (1 + it):.5f},0.0004,{it * 0.1:.2f},{val},{'val' if val else ''}")
        (run / "metrics.csv").write_text("\n".join(lines) + "\n")
        if bn_diagnostics and "bn" in spec:
            write_bn_diagnostics(run, spec["scale"], *spec["bn"])
    write_floors(root, {"bicubic": BICUBIC, "nearest": NEAREST})
    write_file(root / "sesr-M5C16-x4" / "train.json", {"method": "sesr", "size": "M5C16", "scale": 4, "colors": 1,
                                                  "status": "running"})
    (root / "notes").mkdir()  # a stray folder without run files is ignored
    return root


@pytest.fixture()
def runs_root(tmp_path: Path) -> Path:
    return write_runs(tmp_path / "runs" / PRESET)


@pytest.fixture()
def ctx(runs_root: Path) -> report.ReportContext:
    return report.build_context(runs_root, PRESET)


def md_row(text: str, first_cell: str) -> list[str]:
    """The cells of the Markdown table row whose first cell is `first_cell`."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


def _md_header(text: str, first_cell: str) -> list[str]:
    return md_row(text, first_cell)


# --------------------------------------------------------------------------- collection


def test_tidy_frame_one_row_per_run_and_dataset(ctx: report.ReportContext) -> None:
    tidy = ctx.tidy
    assert set(tidy["run"]) == set(RUNS) | {"bicubic-x4", "nearest-x4"}  # the unfinished run is skipped ...
    assert any("sesr-M5C16-x4" in n and "running" in n for n in ctx.runs.notes)  # ... and said so
    assert len(tidy) == 2 * (len(RUNS) + 2)
    row = tidy[(tidy["run"] == "repsr-M4C16-x4") & (tidy["dataset"] == "set5")].iloc[0]
    assert row["psnr_y"] == 31.1034567 and row["params_deployed"] == 11_840 and row["params_paper"] == 11_920
    assert row["throughput"] == 120.5 and row["throughput_device"] == DEVICE  # the failed compile mode is ignored
    assert row["throughput_unmerged"] == 60.25
    flat = tidy[tidy["run"] == "ecbsr-M4C16-x4"].iloc[0]  # flat measure.json layout reads the same
    assert flat["params_deployed"] == 11_840 and flat["macs"] == 681_984_000 and flat["n_conv"] == 6
    assert flat["train_speed_sec_per_iter"] == 0.1
    assert values.dataset_key("DIV2K-valid") == "div2k_val" and values.dataset_key("BSD100") == "b100"
    assert values.dataset_key("skimage-test") == "skimage-test"  # unknown sets keep a readable key


def test_table_membership_is_inferred_from_the_runs(ctx: report.ReportContext) -> None:
    membership = dict(zip(ctx.wide["run"], ctx.wide["tables"]))
    assert membership["repsr-M4C16-x4"] == "table2,table3"
    assert membership["plain-M4C8-x4"] == "table2"
    assert membership["edsr-R1C4-x2-rgb-frozenbn"] == membership["edsr-R1C4-x2-rgb-bn"] == "table1"
    assert membership["repsr-M1C4-x4-rgb-expand1"] == "table6"
    assert membership["bicubic-x4"] == ""
    row = ctx.wide.set_index("run").loc["edsr-R1C4-x2-rgb-frozenbn"]
    assert row["bn_strategy"] == "frozen_bn"
    assert ctx.wide.set_index("run").loc["edsr-R1C4-x2-rgb-bn", "bn_strategy"] == "bn"


def test_the_plan_is_the_one_membership_source(runs_root: Path) -> None:
    """The preset's plan places the runs it names; the rest fall back to what they are. A train.json that
    names tables itself is not a second source."""
    path = runs_root / "plain-M4C8-x4" / "train.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "experiments": ["table7"]}))
    (runs_root / PLAN_FILE).write_text(json.dumps({"experiments": {"table4": ["plain-M4C8-x4"], "later": ["plain-M4C8-x4"]}}))
    ctx = report.build_context(runs_root, PRESET)
    membership = dict(zip(ctx.wide["run"], ctx.wide["tables"]))
    assert membership["plain-M4C8-x4"] == "table4"  # the plan's; `later` is no paper table
    assert membership["repsr-M4C16-x4"] == "table2,table3"  # not named: inferred
    runs = {r.name: r for r in ctx.runs.runs}
    assert runs["plain-M4C8-x4"].planned and runs["plain-M4C8-x4"].experiments == ("table4", "later")
    assert not runs["repsr-M4C16-x4"].planned and runs["repsr-M4C16-x4"].experiments == inferred_experiments(
        runs["repsr-M4C16-x4"])
    assert runs["bicubic-x4"].experiments == ()


def test_every_older_layout_is_read_into_one_record(tmp_path: Path) -> None:
    """A run folder of an older layout (top-level iterations, flat counts.json under older key names, eval
    records without n_images or forward times) reads into the same typed fields as a current one."""
    old = tmp_path / "plain-M4C8-x4"
    write_file(old / "train.json", {"method": "plain", "size": "M4C8", "scale": 4, "colors": 1, "status": "complete",
                                    "iterations": 200, "train_seconds": 10.0})
    write_file(old / "counts.json", {"deployed_params": 1234, "convs": 5, "macs": 99})
    write_file(old / "eval" / "Set5-x4.json", {"psnr_y": 30.0, "seconds": 2.0,
                                               "per_image": [{"psnr_y": 30.0}, {"psnr_y": 30.0}]})
    new = tmp_path / "plain-M4C16-x4"
    write_file(new / "train.json", {"method": "plain", "size": "M4C16", "scale": 4, "colors": 1, "status": "complete",
                                    "budget": {"iterations": 200, "train_seconds": 10.0, "lr_pixels": 5}})
    write_file(new / "measure.json", {"counts": {"params_deployed": 1234, "n_conv": 5, "macs": 99}})
    write_file(new / "eval" / "set5-x4.json", {"dataset": "Set5", "psnr_y": 30.0, "n_images": 2, "per_image": [
        {"infer_seconds": 0.5}, {"infer_seconds": 1.5}]})
    a, b = load_run(old), load_run(new)
    assert a is not None and b is not None
    assert a.budget.iterations == b.budget.iterations == 200 and a.budget.sec_per_iter == b.budget.sec_per_iter == 0.05
    for key in ("params_deployed", "n_conv", "macs"):
        assert a.measured[key] == b.measured[key]
    assert a.scores["set5"].n_images == b.scores["set5"].n_images == 2
    assert (a.scores["set5"].runtime_s, a.scores["set5"].runtime_forward) == (1.0, False)  # wall time / images
    assert (b.scores["set5"].runtime_s, b.scores["set5"].runtime_forward) == (1.0, True)  # forward times


# --------------------------------------------------------------------------- tables


def test_table2_numbers_paper_and_deltas(ctx: report.ReportContext) -> None:
    text = tables.render_table2(ctx)
    assert text.startswith("# Table 2")
    assert f"**Preset: `{PRESET}`.** This file shows the `{PRESET}` preset" in text.splitlines()[2]
    header = _md_header(text, "Model")
    row = dict(zip(header, md_row(text, "RepSR-M4C16")))
    assert row["Params (deployed, true)"] == "11,840"
    assert row["Params (paper conv.)"] == "11.9K"
    assert row["MACs (1280x720)"] == "0.68G"
    assert row["#Conv"] == "6"
    assert row["Paper: Params / FLOPs / #Conv"] == "11.90K / 0.69G / 6"
    assert row["Set5 PSNR / SSIM"] == "**31.10** / 0.8830"  # the best of M4C16 (vs ECBSR's 30.95): bold
    assert dict(zip(header, md_row(text, "ECBSR-M4C16")))["Set5 PSNR / SSIM"] == "30.95 / 0.8790"
    assert dict(zip(header, md_row(text, "Plain-M4C8")))["Set5 PSNR / SSIM"] == "30.40 / 0.8650"  # alone in its size
    assert row["Set5 paper"] == "31.02 / 0.8817"
    assert row["Set5 Δ"] == "+0.08 / +0.0013"  # 31.1034567 - 31.02, 0.88301 - 0.8817
    assert row["Urban100 Δ"] == "-0.12 / -0.0034"  # 24.7012345 - 24.82, 0.74003 - 0.7434
    bicubic = dict(zip(header, md_row(text, "Bicubic")))
    assert bicubic["Set5 Δ"] == "+0.00 / +0.0000" and bicubic["Set5 paper"] == "28.43 / 0.8113"
    assert bicubic["Set5 PSNR / SSIM"] == "28.43 / 0.8113"  # a floor is never the best
    assert "Set5 Δ" in header and "B100 Δ" not in header and "B100 paper" not in header
    # a set we did not evaluate: the paper's numbers only, in a table of their own below ours
    paper_only = text.split("## Paper-only test sets")[1].split("## Paper rows")[0]
    only = dict(zip(_md_header(paper_only, "Model"), md_row(paper_only, "RepSR-M4C16")))
    assert only["B100 paper"] == "27.10 / 0.7293" and only["DIV2K-valid paper"] == "29.66 / 0.8207"
    assert "Set5 paper" not in only and "Plain-M4C8" not in paper_only  # no paper row for Plain: nothing to show
    # rows in the paper's regime order, bicubic first; only the preset's x4 Y runs
    order = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    assert order[:5] == ["Model", "Nearest", "Bicubic", "Plain-M4C8", "ECBSR-M4C16"]
    assert "EDSR-R1C4" not in text.split("## Paper rows")[0]
    assert "RepSR-M1C4" not in text
    # paper rows we have no run for are listed apart, with the paper's numbers
    assert "## Paper rows without a matching run" in text
    srcnn = md_row(text, "A1")
    assert "SRCNN (Dong et al., 2014)" in srcnn and "30.48 / 0.8628" in srcnn
    assert "sesr-M5C16-x4" in text  # the skipped run is named in the notes


def test_table2_shows_our_measured_columns_first_then_the_papers_group(ctx: report.ReportContext) -> None:
    text = tables.render_table2(ctx)
    header = _md_header(text, "Model")
    ours = ["Model", "Params (deployed, true)", "Params (paper conv.)", "MACs (1280x720)", "FLOPs (paper conv.)",
            "#Conv", "Iters", "LR Mpx", "Train s", "Set5 PSNR / SSIM", "Urban100 PSNR / SSIM"]
    assert header[:len(ours)] == ours  # everything we measured, before any published number
    assert header[len(ours):] == ["Paper: Params / FLOPs / #Conv", "Set5 paper", "Set5 Δ", "Urban100 paper", "Urban100 Δ"]
    assert all(" paper" in c or "Paper" in c or "Δ" in c for c in header[len(ours):])
    # the paper-only sets come after the main table and its legend, named as such
    main, rest = text.split("## Paper-only test sets")
    assert "**Bold**: the best mean PSNR of its size" in main.split("| Model")[-1]  # the legend, under the table
    assert "does not test on" in rest.split("|")[0] and "B100" in rest.split("|")[0]
    assert _md_header(rest, "Model") == ["Model", "Set14 paper", "B100 paper", "DIV2K-valid paper"]
    assert [line.split("|")[1].strip() for line in rest.split("## Paper rows")[0].splitlines()
            if line.startswith("| ") and "Model" not in line] == ["Bicubic", "ECBSR-M4C16", "RepSR-M4C16"]


def test_table2_bolds_the_best_of_each_size_marks_ties_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "marks"
    write_floors(root, {"bicubic": BICUBIC, "nearest": NEAREST})
    add_seeds(root, "ecbsr", "M4C16", 680_000_000, [30.00, 30.10, 30.20])  # 30.10 +- 0.10: the best of M4C16
    add_seeds(root, "repsr", "M4C16", 680_000_000, [30.05, 30.08, 30.14])  # 30.09 +- 0.05: within the spread
    add_seeds(root, "plain", "M4C16", 680_000_000, [29.00, 29.02, 29.04])  # 29.02 +- 0.02: clearly below
    add_run(root, "repsr-M4C8-x4", "repsr", "M4C8", 200_000_000, {"Set5": 29.504, "Urban100": 24.0})
    add_run(root, "ecbsr-M4C8-x4", "ecbsr", "M4C8", 200_000_000, {"Set5": 29.496, "Urban100": 24.1})  # prints 29.50 too
    add_run(root, "sesr-M5C16-x4", "sesr", "M5C16", 1_000_000_000, {"Set5": 31.0})  # alone in its size
    text = tables.render_table2(report.build_context(root))
    header = _md_header(text, "Model")
    cell = lambda model, col="Set5 PSNR / SSIM": dict(zip(header, md_row(text, model)))[col]  # noqa: E731
    assert cell("ECBSR-M4C16") == "**30.10** ± 0.10 (n=3) / 0.8500"
    assert cell("RepSR-M4C16") == "30.09 ± 0.05 (n=3, ≈ best) / 0.8500"  # the tie beside n, not between PSNR and SSIM
    assert cell("Plain-M4C16") == "29.02 ± 0.02 (n=3) / 0.8500"
    assert cell("RepSR-M4C8") == "**29.50** / 0.8500" and cell("ECBSR-M4C8") == "**29.50** / 0.8500"  # a tie: both
    assert cell("ECBSR-M4C8", "Urban100 PSNR / SSIM") == "**24.10** / 0.8500"  # per test set
    assert cell("RepSR-M4C8", "Urban100 PSNR / SSIM") == "24.00 / 0.8500"
    assert cell("SESR-M5C16") == "31.00 / 0.8500"  # the best of SESR-M5C16 among ... itself: not marked
    assert cell("Bicubic") == "28.43 / 0.8113"
    legend = text.split("| Model")[1].split("\n\n")[1]  # the paragraph right under the table
    assert legend.startswith("**Bold**: the best mean PSNR of its size on that test set among our runs of that size")
    assert "± = sample standard deviation over seeds" in legend and "*≈ best* (beside n): not separable" in legend
    assert "≈" not in text.split("| Model")[0]  # explained once, under the table, not in the header


def test_rows_sharing_a_label_say_what_tells_them_apart(runs_root: Path) -> None:
    # Table 2: the same model trained twice, at two budgets, under two tags
    long = runs_root / "repsr-M4C16-x4-long"
    shutil.copytree(runs_root / "repsr-M4C16-x4", long)
    record = json.loads((long / "train.json").read_text())
    (long / "train.json").write_text(json.dumps(record | {"iterations": 2000}))
    # Table 1: a second BN run (never frozen) whose only difference is its folder
    twin = runs_root / "edsr-R1C4-x2-rgb-bn-b"
    shutil.copytree(runs_root / "edsr-R1C4-x2-rgb-bn", twin)
    nobn = runs_root / "edsr-R1C4-x2-rgb-nobn"
    shutil.copytree(runs_root / "edsr-R1C4-x2-rgb-bn", nobn)
    shutil.rmtree(nobn / "bn")
    record = json.loads((nobn / "train.json").read_text())
    (nobn / "train.json").write_text(json.dumps(record | {"options": {"bn": False}}))
    # Table 6: a second width multiplier 1 run, trained longer
    wide1 = runs_root / "repsr-M1C4-x4-rgb-expand1-long"
    shutil.copytree(runs_root / "repsr-M1C4-x4-rgb-expand1", wide1)
    record = json.loads((wide1 / "train.json").read_text())
    (wide1 / "train.json").write_text(json.dumps(record | {"iterations": 40}))
    ctx = report.build_context(runs_root, PRESET)

    t2 = tables.render_table2(ctx)
    labels = [line.split("|")[1].strip() for line in t2.split("## Paper-only")[0].splitlines() if line.startswith("| ")]
    assert "RepSR-M4C16 (20 iters, untagged)" in labels and "RepSR-M4C16 (2,000 iters, tag long)" in labels
    assert len(labels) == len(set(labels))
    paper_only = [line.split("|")[1].strip() for line in t2.split("## Paper-only")[1].split("## Paper rows")[0].splitlines()
                  if line.startswith("| ")]
    assert "RepSR-M4C16 (2,000 iters, tag long)" in paper_only  # the same labels below
    t1 = tables.render_ablation(ctx, tables.ABLATIONS["table1"])
    main, drop = t1.split("## Ours: PSNR change")
    rows = [line.split("|")[1].strip() for line in main.splitlines() if line.startswith("| ")]
    assert "w/ BN (tag rgb-bn)" in rows and "w/ BN (tag rgb-bn-b)" in rows and len(rows) == len(set(rows))
    assert "Proposed" in rows  # a label no other row has stays as the paper prints it
    strategies = [line.split("|")[1].strip() for line in drop.splitlines() if line.startswith("| ")][1:]
    assert strategies == ["w/ BN (tag rgb-bn)", "w/ BN (tag rgb-bn-b)", "w/ BN, frozen BN (Proposed)"]
    t6 = tables.render_ablation(ctx, tables.ABLATIONS["table6"])
    rows = [line.split("|")[1].strip() for line in t6.splitlines() if line.startswith("| ")]
    assert "width multiplier 1 (20 iters, tag rgb-expand1)" in rows
    assert "width multiplier 1 (40 iters, tag rgb-expand1-long)" in rows and len(rows) == len(set(rows))


def test_distinct_labels_falls_back_to_the_run_folder() -> None:
    from repbench.report.cells import distinct_labels, run_facts

    same = {"method": "repsr", "size": "M4C16", "options_dict": {}, "iterations": 10, "tag": None}
    facts = [run_facts(same | {"run": "a"}), run_facts(same | {"run": "b"}), run_facts(same | {"run": "c", "tag": "x"}), {}]
    assert distinct_labels(["RepSR", "RepSR", "RepSR", "Bicubic"], facts) == [
        "RepSR (untagged, `a`)", "RepSR (untagged, `b`)", "RepSR (tag x)", "Bicubic"]
    assert distinct_labels(["A", "B"], [{}, {}]) == ["A", "B"]  # unique labels are left alone


def test_table1_and_table6_use_the_papers_rows_and_channel(ctx: report.ReportContext) -> None:
    t1 = tables.render_ablation(ctx, tables.ABLATIONS["table1"])
    assert f"Preset: `{PRESET}`" in t1
    proposed = dict(zip(_md_header(t1, "Row"), md_row(t1, "Proposed")))
    assert proposed["Run"] == "`edsr-R1C4-x2-rgb-frozenbn`"
    assert proposed["Set5 ours"] == "36.50" and proposed["Set5 paper"] == "38.25 (Set5, channel not stated)"
    assert proposed["Set5 Δ"] == "no Δ (paper's channel not stated)"  # ours is Y; the paper's Table 1 names no channel
    assert dict(zip(_md_header(t1, "Row"), md_row(t1, "w/o BN")))["Run"] == "no run"

    t6 = tables.render_ablation(ctx, tables.ABLATIONS["table6"])
    assert "PSNR on RGB" in t6
    w1 = dict(zip(_md_header(t6, "Row"), md_row(t6, "width multiplier 1")))
    assert w1["Set5 ours"] == "28.70"  # psnr_rgb = 29.10 - 0.4, since the paper's Table 6 is RGB
    assert w1["Set5 Δ"] == "-1.57" and w1["Urban100 paper"] == "24.71"
    # the floors in the table's own channel: bicubic's RGB PSNR (28.43 Y - 0.3), not its Y PSNR
    floor = dict(zip(_md_header(t6, "Row"), md_row(t6, "Bicubic (floor)")))
    assert floor["Set5 ours"] == "28.13" and floor["Run"] == "`bicubic-x4`" and floor["Set5 paper"] == "–"
    assert dict(zip(_md_header(t6, "Row"), md_row(t6, "Nearest (floor)")))["Set5 ours"] == "25.91"
    assert w1["Iters"] == "20" and "no bicubic floor at x2" in t1  # Table 1 is x2: its floor is missing, and said so


def test_bn_diagnostics_are_read_from_the_run_folders(ctx: report.ReportContext) -> None:
    by_name = {r.name: r for r in ctx.runs.runs}
    never = by_name["edsr-R1C4-x2-rgb-bn"]
    assert list(never.bn_profile) == ["baby"] and len(never.bn_profile["baby"]) == 3
    assert never.bn_scores["set5"]["mean_artifact_score"] == -0.4213456
    assert not by_name["repsr-M4C16-x4"].bn_scores and not by_name["repsr-M4C16-x4"].bn_profile
    wide = ctx.wide.set_index("run")
    assert wide.loc["edsr-R1C4-x2-rgb-bn", "artifact_score_set5"] == -0.4213456  # raw, as written
    assert wide.loc["edsr-R1C4-x2-rgb-bn", "psnr_image_stats_set5"] == 36.5213456
    assert wide.loc["edsr-R1C4-x2-rgb-frozenbn", "artifact_db_set5"] == 0.0
    assert wide.loc["edsr-R1C4-x2-rgb-frozenbn", "artifact_images_set5"] == 2
    assert pd.isna(wide.loc["repsr-M4C16-x4", "artifact_score_set5"])
    assert artifact_datasets(ctx.wide) == ["set5"]
    # one labelled profile per BN run, named by its strategy, in Table 1's order
    bn_list = bn.bn_runs(ctx)
    assert [(r.run, r.label) for r in bn_list] == [
        ("edsr-R1C4-x2-rgb-bn", "with BN (never frozen)"), ("edsr-R1C4-x2-rgb-frozenbn", "frozen BN")]
    assert list(bn.fig5_profiles(bn_list)) == ["with BN (never frozen) (edsr-R1C4-x2-rgb-bn)",
                                               "frozen BN (edsr-R1C4-x2-rgb-frozenbn)"]  # the legend names the run
    assert [r.source for r in bn_list] == ["Set5", "Set5"]  # the profiled image's test set, from bn_diagnose.json


def test_bn_diagnostics_problems_are_named_not_fatal(runs_root: Path) -> None:
    folder = runs_root / "edsr-R1C4-x2-rgb-bn" / "bn"
    (folder / "artifact_scores_Set5_x2.json").write_text("{not json")
    write_bn_diagnostics(runs_root / "edsr-R1C4-x2-rgb-frozenbn", 4, -1.0, 1.0, 30.0, 31.0, dataset="Set14")
    ctx = report.build_context(runs_root, PRESET)
    by_name = {r.name: r for r in ctx.runs.runs}
    assert not by_name["edsr-R1C4-x2-rgb-bn"].bn_scores and by_name["edsr-R1C4-x2-rgb-bn"].bn_profile  # run kept
    assert any("edsr-R1C4-x2-rgb-bn" in n and "not valid JSON" in n for n in ctx.runs.notes)
    assert set(by_name["edsr-R1C4-x2-rgb-frozenbn"].bn_scores) == {"set5"}  # the x4 scores describe another model
    assert any("artifact_scores_Set14_x4.json scores x4, not the run's x2" in n for n in ctx.runs.notes)
    t1 = tables.render_ablation(ctx, tables.ABLATIONS["table1"])
    assert dict(zip(_md_header(t1, "Row"), md_row(t1, "w/ BN")))["Set5 artifact score"] == "–"
    assert "no BN artifact scores yet" in t1 and "`edsr-R1C4-x2-rgb-bn`" in t1.split("no BN artifact scores yet")[1]


def test_table1_shows_the_artifact_score_of_each_bn_run(ctx: report.ReportContext) -> None:
    t1 = tables.render_ablation(ctx, tables.ABLATIONS["table1"])
    header = _md_header(t1, "Row")
    assert header[-2:] == ["Set5 artifact score", "Set5 artifact_db"]  # the scored test set is named
    never = dict(zip(header, md_row(t1, "w/ BN")))
    assert never["Run"] == "`edsr-R1C4-x2-rgb-bn`"
    assert never["Set5 artifact score"] == "-0.421" and never["Set5 artifact_db"] == "0.470"
    frozen = dict(zip(header, md_row(t1, "Proposed")))
    assert frozen["Set5 artifact score"] == "+0.311" and frozen["Set5 artifact_db"] == "0.000"
    assert dict(zip(header, md_row(t1, "w/o BN")))["Set5 artifact score"] == "–"  # no run
    assert "*Artifact score*" in t1 and "repbench bn-diagnose" in t1
    assert "no BN artifact scores yet" not in t1


def test_table1_without_bn_diagnostics_says_how_to_get_them(tmp_path: Path) -> None:
    root = write_runs(tmp_path / "runs" / PRESET, bn_diagnostics=False)
    nobn = root / "edsr-R1C4-x2-rgb-nobn"
    shutil.copytree(root / "edsr-R1C4-x2-rgb-bn", nobn)
    record = json.loads((nobn / "train.json").read_text())
    (nobn / "train.json").write_text(json.dumps(record | {"options": {"bn": False}}))
    write_bn_diagnostics(root / "edsr-R1C4-x2-rgb-bn", 2, -0.5, 0.5, 36.0, 36.5)
    t1 = tables.render_ablation(report.build_context(root, PRESET), tables.ABLATIONS["table1"])
    header = _md_header(t1, "Row")
    assert dict(zip(header, md_row(t1, "w/o BN")))["Set5 artifact score"] == "no BN"
    assert dict(zip(header, md_row(t1, "w/ BN")))["Set5 artifact score"] == "-0.500"
    assert dict(zip(header, md_row(t1, "Proposed")))["Set5 artifact_db"] == "–"
    note = next(line for line in t1.splitlines() if "no BN artifact scores yet" in line)
    assert "`edsr-R1C4-x2-rgb-frozenbn`" in note and "edsr-R1C4-x2-rgb-bn`" not in note
    assert "repbench bn-diagnose RUN --dataset SET --out RUN/bn" in note


def _under_table(text: str) -> str:
    """The paragraph right under a Markdown file's first table."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("|") and not lines[i + 1].startswith("|"))
    return next(line for line in lines[end + 1:] if line.strip())


def test_table1_says_in_words_when_a_bn_artifact_is_measured(ctx: report.ReportContext) -> None:
    verdict = _under_table(tables.render_ablation(ctx, tables.ABLATIONS["table1"]))
    assert verdict.startswith("At this budget a BN artifact is measured: with BN (never frozen) `edsr-R1C4-x2-rgb-bn` "
                              "loses 0.470 dB on Set5 to BN's population statistics")
    assert "more than 0.010 dB" in verdict  # no seeds here: the precision of a printed PSNR is the threshold
    assert "No artifact: frozen BN `edsr-R1C4-x2-rgb-frozenbn` loses 0.000 dB on Set5." in verdict
    assert "no BN artifact" not in verdict


def test_table1_says_in_words_when_no_bn_artifact_is_measured(tmp_path: Path) -> None:
    root = write_runs(tmp_path / "runs" / PRESET, bn_diagnostics=False)
    t1 = tables.render_ablation(report.build_context(root, PRESET), tables.ABLATIONS["table1"])
    assert _under_table(t1).startswith("At this budget no BN artifact is measured: no run with BN has artifact scores "
                                       "yet (run `repbench bn-diagnose")  # absent: said, and how to get them
    # as at the cpu preset's budget: the population statistics cost nothing (a positive score, 0 dB lost) ...
    write_bn_diagnostics(root / "edsr-R1C4-x2-rgb-bn", 2, 0.669, 0.0, 36.1, 35.431)
    # ... or less than the seeds move PSNR: 0.04 dB lost, the three seeds of the run spread 0.10 dB on Set5
    write_bn_diagnostics(root / "edsr-R1C4-x2-rgb-frozenbn", 2, -0.04, 0.04, 36.5, 36.54)
    for k, psnr in ((1, 36.40), (2, 36.60)):
        seed = root / f"edsr-R1C4-x2-rgb-frozenbn-seed{k}"
        shutil.copytree(root / "edsr-R1C4-x2-rgb-frozenbn", seed)
        write_file(seed / "eval" / "Set5-x2.json", eval_record("Set5", 2, psnr, 0.95))
    t1 = tables.render_ablation(report.build_context(root, PRESET), tables.ABLATIONS["table1"])
    verdict = _under_table(t1)
    assert verdict.startswith("At this budget no BN artifact is measured: with BN (never frozen) `edsr-R1C4-x2-rgb-bn` "
                              "loses 0.000 dB on Set5; frozen BN `edsr-R1C4-x2-rgb-frozenbn` loses 0.040 dB on Set5 "
                              "to BN's population statistics (*artifact_db*), none more than 0.100 dB")
    # (the single-seed BN run counts the typical seed spread of its scale and channels, checks.typical_spreads)
    assert "the PSNR differences between these rows are not BN artifacts" in verdict
    assert "a BN artifact is measured" not in t1


def test_empty_tables_still_render_with_reference_numbers(ctx: report.ReportContext) -> None:
    for name in ("table4", "table5", "table7"):
        text = tables.render_ablation(ctx, tables.ABLATIONS[name])
        assert f"Preset: `{PRESET}`" in text
        assert "No run of this preset fills" in text and "x4 RGB" in text
    t5 = tables.render_ablation(ctx, tables.ABLATIONS["table5"])
    assert "30.31" in t5 and "remove residual path" in t5


def _set_train_data(root: Path, train_data: str) -> None:
    for path in root.glob("*/train.json"):
        record = json.loads(path.read_text())
        write_file(path, {**record, "train_data": train_data})


@pytest.mark.parametrize("train_data", ["T91,BSD200", "skimage-train"])
def test_every_table_header_names_the_data_and_warns_on_the_fallback(runs_root: Path, train_data: str) -> None:
    _set_train_data(runs_root, train_data)
    ctx = report.build_context(runs_root, PRESET)
    texts = {"table2": tables.render_table2(ctx), "table3": tables.render_table3(ctx),
             "table1": tables.render_ablation(ctx, tables.ABLATIONS["table1"])}
    fallback = train_data.startswith("skimage")
    for name, text in texts.items():
        head = "\n".join(text.splitlines()[:6])  # the header, above the caption and the table
        assert f"Training data: {train_data.replace(',', ', ')}; test data: B100, Set5, Urban100." in head, name
        assert ("**Data: these runs used the fallback photos that ship with scikit-image (skimage-train)" in head) == fallback
        assert ("cannot match docs/results-cpu/" in head) == fallback


def test_every_target_renders_from_a_bicubic_baseline_alone(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "cpu"
    for dataset, (psnr, ssim) in BICUBIC.items():
        write_file(root / "bicubic-x4" / "eval" / f"{dataset}-x4.json", eval_record(dataset, 4, psnr, ssim))
    written = report.build_report(root, tmp_path / "out")
    assert len(written) == 13
    t2 = (tmp_path / "out" / "table2.md").read_text()
    assert "Preset: `cpu`" in t2 and "No run of this preset fills this table" in t2 and "results/table2.md" in t2 and "28.43 / 0.8113" in t2
    t3 = (tmp_path / "out" / "table3.md").read_text()
    assert "results/table3.md" in t3 and "27h52m" in t3


def test_table3_training_time(ctx: report.ReportContext) -> None:
    text = tables.render_table3(ctx)
    header = _md_header(text, "Method")
    rows = [dict(zip(header, [c.strip() for c in line.strip().strip("|").split("|")]))
            for line in text.splitlines() if line.startswith("| ") and "M4C16" in line]
    ours = {r["Run"]: r for r in rows if r["Run"] != "no run"}
    repsr = ours["`repsr-M4C16-x4`"]
    # one definition: the training runs' own s/iter (train.json 0.15 and 0.3), never measure.json's synthetic step
    assert repsr["s/iter (training run)"] == "0.1500" and repsr["Projected 1000K it. (h)"] == "41.7"
    assert repsr["Ours vs ECBSR (branched)"] == "-50%"  # 0.15 vs 0.3 s/iter
    assert ours["`ecbsr-M4C16-x4`"]["Training form"] == "branched"  # no `collapsed` option: the paper's form
    assert repsr["Synthetic step s (not in ratio)"] == "0.0500"  # shown apart, labelled
    assert repsr["Paper time"] == "4h54m" and repsr["Paper vs ECBSR"] == "-50%"  # 294 vs 590 min
    assert ours["`ecbsr-M4C16-x4`"]["Paper (h)"] == "9.8"
    assert sum(r["Run"] == "no run" for r in (dict(zip(header, [c.strip() for c in l.strip().strip("|").split("|")]))
                                               for l in text.splitlines() if l.startswith("| ") and "M10C" in l)) == 4


def test_table3_shows_ecbsr_in_both_forms_and_rates_repsr_against_the_branched_one(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    # M4C16: ECBSR branched 0.4 s/iter, ECBSR collapsed 0.1, RepSR 0.2 (its BN froze at step 1425)
    add_run(root, "ecbsr-M4C16-x4-branched", "ecbsr", "M4C16", 680_000_000, {"Set5": 30.0}, sec_per_iter=0.4,
            train_seconds=600.0, tag="branched")
    collapsed = add_run(root, "ecbsr-M4C16-x4", "ecbsr", "M4C16", 680_000_000, {"Set5": 30.0}, sec_per_iter=0.1,
                        train_seconds=150.0)
    train = json.loads((collapsed / "train.json").read_text())
    (collapsed / "train.json").write_text(json.dumps({**train, "options": {"collapsed": True}}))
    add_run(root, "repsr-M4C16-x4", "repsr", "M4C16", 680_000_000, {"Set5": 30.1}, sec_per_iter=0.2,
            train_seconds=300.0, bn_frozen_at=1425)
    text = tables.render_table3(report.build_context(root, preset=PRESET))
    header = _md_header(text, "Method")
    rows = {r["Run"]: r for r in (dict(zip(header, [c.strip() for c in line.strip().strip("|").split("|")]))
                                  for line in text.splitlines() if line.startswith("| ") and "M4C16" in line)}
    branched, coll, repsr = rows["`ecbsr-M4C16-x4-branched`"], rows["`ecbsr-M4C16-x4`"], rows["`repsr-M4C16-x4`"]
    assert (branched["Training form"], coll["Training form"], repsr["Training form"]) == (
        "branched", "collapsed", "branched, then collapsed")
    assert repsr["Ours vs ECBSR (branched)"] == "-50%"  # 0.2 vs the branched 0.4, not the collapsed 0.1
    assert coll["Ours vs ECBSR (branched)"] == "-75%" and coll["Paper time"] == "not in the paper"
    assert branched["Paper time"] == "9h50m" and repsr["Paper vs ECBSR"] == "-50%"
    assert "ECBSR collapsed takes 0.1000 s/iter, 4.0 times faster than branched ECBSR and 2.0 times faster than RepSR" in text


# --------------------------------------------------------------------------- outputs


def test_build_report_writes_every_target(runs_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    written = report.build_report(runs_root, out, preset=PRESET)
    names = sorted(p.name for p in written)
    assert names == sorted([f"table{i}.md" for i in range(1, 8)] + [
        "fig1_tradeoff.png", "fig1_tradeoff.svg", "fig5_bn_stats.png", "fig5_bn_stats.svg",
        "fig6_curves.png", "fig6_curves.svg", "leaderboard.html", "leaderboard.csv"])
    for path in written:
        assert path.stat().st_size > 0
    for name in ("fig1_tradeoff.png", "fig5_bn_stats.png", "fig6_curves.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("fig1_tradeoff.svg", "fig5_bn_stats.svg", "fig6_curves.svg"):
        assert "<svg" in (out / name).read_text()
    for md in out.glob("table*.md"):
        assert f"Preset: `{PRESET}`" in md.read_text()
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temp files behind
    # rendering twice gives identical files (no timestamps): the workflow can trust unchanged outputs
    before = {p.name: p.read_bytes() for p in written if p.suffix in (".md", ".svg", ".html", ".csv")}
    report.build_report(runs_root, out, preset=PRESET)
    assert before == {n: (out / n).read_bytes() for n in before}


def test_tradeoff_figure_names_the_device(ctx: report.ReportContext) -> None:
    fig = figures.figure_tradeoff(ctx)
    assert PRESET in fig.get_suptitle()
    assert [ax.get_title().splitlines()[0] for ax in fig.axes] == ["x4, Y channel", "x2, RGB", "x4, RGB"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["Urban100 PSNR-Y (dB)", "Set5 PSNR-RGB (dB)", "Urban100 PSNR-RGB (dB)"]
    for ax in fig.axes:
        assert DEVICE in ax.get_xlabel() and "float32, batch 4" in ax.get_xlabel()
    points = [sum(line.get_linestyle() == "None" for line in ax.get_lines()) for ax in fig.axes]
    assert points == [3, 2, 1]  # each run in its own group's panel; EDSR x2 on Set5, its first test set
    fig6 = figures.figure_curves(ctx)
    assert len(fig6.axes[0].lines) == 3  # Table 2's runs: loss curves


def test_one_pareto_front_for_plot_and_badge(ctx: report.ReportContext) -> None:
    """Figure 1's front and the leaderboard's badge mark the same runs (front.pareto_flags), by throughput."""
    from repbench.report.front import pareto_flags
    from repbench.report.hover import titles_of

    frame, _ = leaderboard_frame(ctx)
    badged = set(frame.loc[frame["pareto"], "run"])
    # x4 Y on Urban100; the two x2 RGB EDSRs on Set5 (their first test set); the lone x4 RGB run marks nothing
    assert badged == {"repsr-M4C16-x4", "plain-M4C8-x4", "edsr-R1C4-x2-rgb-frozenbn"}
    fig = figures.figure_tradeoff(ctx)
    on_front = {text.split(":")[0] for text in titles_of(fig).values() if text.endswith("on the Pareto front")}
    assert on_front == badged
    # Pareto by throughput, not MACs: equal MACs, the faster of two equally good runs is on the front alone
    fast = ctx.wide[ctx.wide["run"].str.endswith("-x4")].copy()  # the x4 Y group
    repsr_psnr = fast.loc[fast["run"] == "repsr-M4C16-x4", "psnr_y_urban100"].iloc[0]
    fast.loc[fast["run"] == "ecbsr-M4C16-x4", "psnr_y_urban100"] = repsr_psnr  # a tie in MACs and in PSNR
    assert set(fast.loc[pareto_flags(fast, set()), "run"]) == {"repsr-M4C16-x4", "plain-M4C8-x4"}
    fast.loc[fast["run"] == "ecbsr-M4C16-x4", "throughput"] = 500.0
    assert set(fast.loc[pareto_flags(fast, set()), "run"]) == {"ecbsr-M4C16-x4"}
    # an under-trained run takes no part: marked, the fast ECBSR leaves the front to the others
    assert set(fast.loc[pareto_flags(fast, {"ecbsr-M4C16-x4"}), "run"]) == {"repsr-M4C16-x4", "plain-M4C8-x4"}


def test_leaderboard_csv_is_raw(runs_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report.build_report(runs_root, out, preset=PRESET, only=["leaderboard"])
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.csv", "leaderboard.html"]
    csv = pd.read_csv(out / "leaderboard.csv")
    runs = csv[csv["kind"] == "run"].set_index("run")
    assert len(runs) == len(RUNS) + 2  # the floors are rows too
    assert runs.loc["repsr-M4C16-x4", "params_deployed"] == 11_840
    assert runs.loc["repsr-M4C16-x4", "psnr_y_set5"] == 31.1034567
    assert runs.loc["repsr-M4C16-x4", "macs"] == 681_984_000
    assert bool(runs.loc["repsr-M4C16-x4", "pareto"]) and bool(runs.loc["plain-M4C8-x4", "pareto"])
    assert not bool(runs.loc["ecbsr-M4C16-x4", "pareto"])  # same MACs as RepSR, lower PSNR
    assert not bool(runs.loc["repsr-M1C4-x4-rgb-expand1", "pareto"])  # alone in its (scale, colors) group
    # when each run finished and from which commit, as train.json has them (an older run has neither)
    assert runs.loc["ecbsr-M4C16-x4", "finished_at"] == PROVENANCE["ecbsr-M4C16-x4"][0]
    assert runs.loc["ecbsr-M4C16-x4", "git_commit"] == COMMIT + "-dirty"
    assert pd.isna(runs.loc["plain-M4C8-x4", "finished_at"]) and pd.isna(runs.loc["plain-M4C8-x4", "git_commit"])
    paper = csv[csv["kind"] == "paper"]
    assert len(paper) == len(references.load_reference("repsr2022", "table2").rows) > 0
    b3 = paper[paper["paper_id"] == "B3"].iloc[0]
    assert b3["psnr_y_set5"] == 31.02 and b3["method"] == "repsr"


def test_leaderboard_html_is_self_contained(runs_root: Path, tmp_path: Path) -> None:
    report.build_report(runs_root, tmp_path, preset=PRESET, only=["leaderboard"])
    page = (tmp_path / "leaderboard.html").read_text()
    assert '<table id="leaderboard">' in page and 'id="filter"' in page
    assert page.count('data-kind="run"') == len(RUNS) + 2
    assert page.count('<details id="run-') == len(RUNS) + 2
    assert "<svg" in page and "<polyline" in page  # the trade-off plot and the run curves, inline
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)
    assert not re.search(r"<link|@import|url\(http", page)


def test_fig5_draws_one_profile_per_bn_run(ctx: report.ReportContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from repbench.bn import stats as bn_diagnose

    drawn: list[dict[str, Any]] = []
    figs: list[Any] = []
    draw = bn_diagnose.draw_bn_profile

    def spy(profiles: dict[str, Any], title: str | None = None) -> Any:
        drawn.append(dict(profiles))
        figs.append(draw(profiles, title))
        return figs[-1]

    monkeypatch.setattr(bn_diagnose, "draw_bn_profile", spy)
    files = figures.figure_bn(bn.bn_runs(ctx))
    assert list(drawn[0]) == ["with BN (never frozen) (edsr-R1C4-x2-rgb-bn)", "frozen BN (edsr-R1C4-x2-rgb-frozenbn)"]
    frozen = drawn[0]["frozen BN (edsr-R1C4-x2-rgb-frozenbn)"]
    assert frozen[0]["l1_var_population"] == pytest.approx(2.3107)  # the run's own profile
    title = figs[0].get_suptitle()  # names the image, its test set and the runs
    assert "image 'baby' of Set5" in title and "edsr-R1C4-x2-rgb-bn" in title and "edsr-R1C4-x2-rgb-frozenbn" in title
    for ax in figs[0].axes:
        assert ax.get_xlabel() == "BN layer (index, forward order)" and "a.u." in ax.get_ylabel()
    assert "<title>with BN (never frozen) (edsr-R1C4-x2-rgb-bn): image statistics, image 'baby' of Set5" in files[".svg"].decode()
    assert files[".png"][:8] == b"\x89PNG\r\n\x1a\n"
    svg = files[".svg"].decode()
    assert "<svg" in svg and "<dc:date>" not in svg and "Matplotlib v" not in svg  # nothing that changes per render
    assert files == figures.figure_bn(bn.bn_runs(ctx))  # identical bytes on a rerun
    assert figures.figure_bn([]) == {}


def test_fig5_absent_without_a_diagnosed_bn_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "runs" / "cpu"
    for dataset, (psnr, ssim) in BICUBIC.items():
        write_file(root / "bicubic-x4" / "eval" / f"{dataset}-x4.json", eval_record(dataset, 4, psnr, ssim))
    # by default: skipped with a message, the other targets still render
    written = report.build_report(root, tmp_path / "out")
    assert not list((tmp_path / "out").glob("fig5*")) and len(written) == 13
    assert "fig5 skipped: fig5 needs a run with BatchNorm" in capsys.readouterr().err
    # named (the workflow's rule figure_bn): an error that says what is missing, before anything is written
    with pytest.raises(RepbenchError, match="fig5 needs a run with BatchNorm"):
        report.build_report(root, tmp_path / "named", only=["table2", "fig5"])
    assert not (tmp_path / "named").exists()
    # BN runs that were never diagnosed: the error names them and the command
    bn_root = write_runs(tmp_path / "runs" / PRESET, bn_diagnostics=False)
    assert main(["report", "--runs", str(bn_root), "--out", str(tmp_path / "cli"), "--only", "fig5"]) == 2
    err = capsys.readouterr().err
    assert "edsr-R1C4-x2-rgb-bn, edsr-R1C4-x2-rgb-frozenbn" in err
    assert "repbench bn-diagnose RUN --dataset SET --out RUN/bn" in err


def test_leaderboard_shows_the_bn_artifacts(runs_root: Path, tmp_path: Path) -> None:
    report.build_report(runs_root, tmp_path, preset=PRESET, only=["leaderboard"])
    page = (tmp_path / "leaderboard.html").read_text()
    section = page[page.index('<section id="bn-artifacts">'):page.index('<section id="details">')]
    rows = re.findall(r'<tr class="artifact-row[^"]*" data-artifact-run="([^"]+)">(.*?)</tr>', section, re.S)
    assert [name for name, _ in rows] == ["edsr-R1C4-x2-rgb-bn", "edsr-R1C4-x2-rgb-frozenbn"]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0][1], re.S)]
    assert cells[1:] == ["with BN (never frozen)", "Set5", "2", "-0.421", "0.470", "36.100", "36.521"]
    assert 'class="artifact-row has-artifacts" data-artifact-run="edsr-R1C4-x2-rgb-bn"' in section
    assert 'href="#run-edsr-R1C4-x2-rgb-frozenbn"' in section  # to the run's detail panel
    fig5 = section[section.index('<figure id="fig5">'):]
    assert "<svg" in fig5 and "<?xml" not in fig5 and "Images: with BN (never frozen): baby; frozen BN: baby." in fig5
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)  # still self-contained
    csv = pd.read_csv(tmp_path / "leaderboard.csv").set_index("run")
    assert csv.loc["edsr-R1C4-x2-rgb-bn", "artifact_score_set5"] == -0.4213456
    text = pd.read_csv(tmp_path / "leaderboard.csv", dtype=str).set_index("run")
    assert text.loc["edsr-R1C4-x2-rgb-frozenbn", "artifact_images_set5"] == "2"  # a count, not "2.0"
    # without any BN run the page has no artifact section
    for name in BN_RUNS:
        shutil.rmtree(runs_root / name)
    report.build_report(runs_root, tmp_path / "plain", preset=PRESET, only=["leaderboard"])
    assert "bn-artifacts" not in (tmp_path / "plain" / "leaderboard.html").read_text().split("</style>")[1]


# --------------------------------------------------------------------------- CLI and errors


def test_cli_only_writes_the_chosen_targets(runs_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["report", "--runs", str(runs_root), "--out", str(out), "--only", "table2", "table5"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["table2.md", "table5.md"]
    assert "wrote" in capsys.readouterr().out
    # the preset defaults to the runs folder's name
    assert main(["report", "--runs", str(runs_root), "--out", str(out), "--only", "table3"]) == 0
    assert f"Preset: `{PRESET}`" in (out / "table3.md").read_text()


def test_cli_errors_are_actionable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["report", "--runs", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no runs found" in err and "repbench train" in err
    assert main(["report", "--runs", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(RepbenchError, match="valid: table1"):
        report.check_targets(["table9"])


def test_bad_inputs_are_named(runs_root: Path, tmp_path: Path) -> None:
    with pytest.raises(RepbenchError, match="--curves names unknown runs: nope"):
        report.build_report(runs_root, tmp_path, only=["fig6"], curves=["nope"])
    (runs_root / "plain-M4C8-x4" / "measure.json").write_text("{not json")
    runs = load_runs(runs_root)  # one broken run is skipped and named; the others still report
    assert "plain-M4C8-x4" not in {r.name for r in runs.runs} and len(runs.runs) == len(RUNS) + 1
    assert any(re.search(r"plain-M4C8-x4.*measure.json is not valid JSON.*rerun", n) for n in runs.notes)
    assert "plain-M4C8-x4" in tables.render_table2(report.build_context(runs_root))


def test_cli_help_lists_the_targets_the_report_writes(runs_root: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The targets `repbench report --help` lists are the ones the report accepts, and asked for all of them
    it writes each one's files (the names the workflow expects) and nothing else."""
    from repbench.pipeline.targets import target_files

    with pytest.raises(SystemExit) as done:
        main(["report", "--help"])
    assert done.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal's width
    found = re.search(r"render only these targets: (.+?) \(default:", help_text)
    assert found, help_text
    listed = found.group(1).split(", ")
    assert len(listed) == len(set(listed)) and set(listed) == set(TARGETS)
    written = report.build_report(runs_root, tmp_path / "out", preset=PRESET, only=listed)
    assert sorted(p.name for p in written) == sorted(f for t in listed for f in target_files(t))
