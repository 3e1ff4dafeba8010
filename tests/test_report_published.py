"""The published-models table and the published rows of the leaderboard, on run folders made here.

A published run folder is what `repbench import --run-dir` leaves (train.json with `published`),
plus measure.json with the NTIRE record and eval files, as the pipeline's count / measure / eval
jobs write them. No released file is needed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from repbench import report
from repbench.report.tables import render_published
from repbench.published.registry import get
from repbench.report.front import tradeoff_panels
from repbench.report.leaderboard import leaderboard_frame

try:
    from test_report import PRESET, md_row, write_runs
except ImportError:  # tests collected as a package
    from tests.test_report import PRESET, md_row, write_runs

from runfolders import eval_record, write_file

NAME = "imdn-ntire2022"


def write_published_run(root: Path, name: str = NAME, evals: dict[str, tuple[float, int]] | None = None,
                        images_per_s: float = 50.0) -> Path:
    """A run folder of an imported released model: dataset -> (RGB PSNR, border) for its eval files."""
    entry = get(name)
    run = root / name
    write_file(run / "train.json", {
        "method": entry.method, "size": entry.size, "scale": entry.scale, "colors": entry.colors,
        "options": entry.options, "status": "complete", "imported": True,
        "source": {"file": entry.file, "sha256": entry.sha256, "url": entry.url}, "released_form": entry.form,
        "merge_max_abs_err_float64": 0.0,
        "published": {"name": entry.name, "label": entry.label, "url": entry.url, "licence": entry.licence,
                      "citation": entry.citation, "training": entry.training, "figures": entry.published},
    })
    (run / "deployed.pt").write_bytes(b"")
    write_file(run / "measure.json", {
        "model": {"method": entry.method, "size": entry.size, "scale": entry.scale, "colors": entry.colors},
        "counts": {"deployed_params": 893_936, "training_params": 893_936, "macs": 50_000_000_000, "convs": 43},
        "ntire": {"params": 893_936, "flops_fvcore": 58_430_849_024, "flops_ntire2022": 58_531_512_320,
                  "flops_lr_hw": [256, 256], "convs": 43, "latency": {"ms_mean": 1874.1}},
        "throughput": [{"net": "merged", "mode": "eager", "device": "cpu", "device_name": "test cpu",
                        "dtype": "float32", "batch": 4, "lr_height": 180, "lr_width": 320,
                        "images_per_s": images_per_s, "label": "CPU float32"}],
    })
    for dataset, (psnr_rgb, border) in (evals or {"Set5": (30.33, 4)}).items():
        record = eval_record(dataset, entry.scale, psnr_rgb + 1.9, 0.89, rgb_offset=-1.9)
        write_file(run / "eval" / f"{dataset}-x{entry.scale}.json", {**record, "border": border})
    return run


@pytest.fixture()
def runs_root(tmp_path: Path) -> Path:
    root = write_runs(tmp_path / "runs" / PRESET)
    write_published_run(root)
    return root


def test_the_table_sets_our_counts_beside_the_published_ones_with_differences(runs_root: Path) -> None:
    text = render_published(report.build_context(runs_root, PRESET))
    row = md_row(text, "IMDN baseline (NTIRE 2022) (`imdn-ntire2022`)")
    header = md_row(text, "Model")
    cells = dict(zip(header, row))
    assert cells["Params"] == "893,936" and cells["Params paper (Δ)"] == "893,936 (+0)"
    # The paper counted with the NTIRE 2022 counter: the Δ is against ours of that kind, not fvcore's 58.43.
    assert cells["FLOPs fvcore (G)"] == "58.43" and cells["FLOPs 2022 counter (G)"] == "58.53"
    assert cells["FLOPs paper (Δ)"] == "58.53 (+0.00)"
    assert cells["#conv"] == "43" == cells["#conv paper"]
    assert cells["Set5 RGB"] == "30.33" and cells["Latency ms/img (ours)"] == "1874.1"
    # Published PSNR is DIV2K valid: beside ours with its dataset, and no difference with Set5.
    assert cells["PSNR paper"].startswith("29.13 (DIV2K-valid, RGB, 4-px border)")
    assert cells["Δ PSNR (same data)"] == "no same-data figure"
    assert "Bicubic (floor)" in text and "trained by their authors" in text


def test_a_psnr_difference_needs_the_same_dataset_convention_and_border(tmp_path: Path) -> None:
    same = write_runs(tmp_path / "a" / PRESET)
    write_published_run(same, evals={"Set5": (30.33, 4), "DIV2K-valid": (29.03, 4)})
    cells = dict(zip(*(lambda t: (md_row(t, "Model"), md_row(t, "IMDN baseline (NTIRE 2022) (`imdn-ntire2022`)")))(
        render_published(report.build_context(same, PRESET)))))
    assert cells["Δ PSNR (same data)"] == "-0.10"
    other_border = write_runs(tmp_path / "b" / PRESET)
    write_published_run(other_border, evals={"DIV2K-valid": (29.03, 2)})
    text = render_published(report.build_context(other_border, PRESET))
    assert dict(zip(md_row(text, "Model"), md_row(text, "IMDN baseline (NTIRE 2022) (`imdn-ntire2022`)")))[
        "Δ PSNR (same data)"] == "no same-data figure"


def test_a_runs_folder_without_published_models_says_how_to_add_them(tmp_path: Path) -> None:
    text = render_published(report.build_context(write_runs(tmp_path / PRESET), PRESET))
    assert "No published model" in text and "repbench import" in text


def test_published_rows_join_their_group_but_never_the_front_or_the_figure(runs_root: Path) -> None:
    ctx = report.build_context(runs_root, PRESET)
    frame, _ = leaderboard_frame(ctx)
    row = frame[frame["run"] == NAME].iloc[0]
    # The fastest and best x4 RGB model here, and still on no front: it was trained at another budget.
    assert row["kind"] == "published" and not row["pareto"]
    assert "trained by its authors" in row["note"]
    assert all(NAME not in set(panel.rows["run"]) for panel in tradeoff_panels(ctx.wide))
    assert "published" not in ",".join(str(t) for t in ctx.wide["tables"].dropna())  # no paper table takes it


def test_the_report_target_writes_published_md(runs_root: Path, tmp_path: Path) -> None:
    written = report.build_report(runs_root, tmp_path / "out", preset=PRESET, only=["published"])
    assert [p.name for p in written] == ["published.md"]
    assert "imdn-ntire2022" in written[0].read_text()



def test_the_ntire_tables_and_the_curve_check_leave_a_released_model_alone(runs_root: Path) -> None:
    ctx = report.build_context(runs_root, PRESET)
    assert NAME not in report.ntire.render(ctx, "ntire_table3", report.ntire.collect(ctx))
    assert not any(NAME in note for note in ctx.check.unchecked)  # no training curve here to read


def test_a_damaged_metrics_csv_is_named_by_the_report_and_the_check(runs_root: Path) -> None:
    damaged = runs_root / "plain-M4C8-x4" / "metrics.csv"
    damaged.write_bytes(b"\x00\x01garbage;;;\nnot,a,log\n")
    ctx = report.build_context(runs_root, PRESET)
    assert any("plain-M4C8-x4" in n and "metrics.csv is damaged" in n for n in ctx.runs.notes)
    assert any("metrics.csv is damaged" in n and "plain-M4C8-x4" in n for n in ctx.check.unchecked)
