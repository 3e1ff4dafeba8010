"""NTIRE 2022 tables (IMDN + collapsible linear blocks) from synthetic run folders; nothing is trained."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from repbench import report
from repbench.pipeline.targets import NTIRE_TABLES, TARGETS
from repbench.pipeline import config as pipeline_config
from repbench.report import ntire
from repbench.cli import main
from repbench.results.upgrade import runtime_of
from runfolders import plan_run, write_file

PRESET = "ntirepreset"
LR_H, LR_W = 180, 320  # measure.json's LR size at x4 (a 1280x720 output)


def imdn_params(b: int) -> int:
    """Deployed count of IMDN at x4 RGB: 66,416 outside the blocks + 103,440 per IMDB (methods/imdn.py)."""
    return 66_416 + 103_440 * b


def imdn_macs(b: int, h: int = LR_H, w: int = LR_W) -> int:
    """Conv MACs: 66,240 per LR pixel outside the blocks + 103,168 per IMDB (fvcore: 51,355,238,400 for B8)."""
    return (66_240 + 103_168 * b) * h * w


def write_run(root: Path, folder: str, method: str, b: int, psnr: float, *, patch: int = 64, patch2: int = 0,
              stage2_start: int = 0, iterations: int = 100, spi1: float = 0.1, spi2: float = 0.5,
              infer: tuple[float, ...] | None = (0.05, 0.07), datasets: tuple[str, ...] = ("DIV2K-valid",),
              experiments: list[str] | None = None) -> Path:
    """One finished run. Two-stage runs log `spi1` s/iter up to stage2_start, then `spi2`."""
    run = root / folder
    cumulative = [(it, it * spi1 if it <= stage2_start or not patch2 else stage2_start * spi1 + (it - stage2_start) * spi2)
                  for it in range(10, iterations + 1, 10)]
    total = cumulative[-1][1]
    train = {"method": method, "size": f"B{b}", "scale": 4, "colors": 3, "options": {}, "iterations": iterations,
             "patch_size": patch, "train_seconds": total, "sec_per_iter": total / iterations, "status": "complete"}
    if experiments is not None:
        plan_run(root, folder, experiments)
    write_file(run / "train.json", train)
    write_file(run / "config.yaml", {"method": method, "size": f"B{b}", "scale": 4, "colors": 3, "options": {},
                                 "train_data": "DIV2K-train,Flickr2K", "iterations": iterations, "patch_size": patch,
                                 "patch_size_stage2": patch2, "stage2_start": stage2_start})
    write_file(run / "measure.json", {
        "model": {"method": method, "size": f"B{b}", "scale": 4, "colors": 3},
        "counts": {"deployed_params": imdn_params(b), "training_params": imdn_params(b), "macs": imdn_macs(b),
                   "lr_height": LR_H, "lr_width": LR_W, "convs": 3 + 5 * b},
        "throughput": [],
    })
    for i, dataset in enumerate(datasets):
        per_image = [{"name": f"08{n:02d}", "psnr_rgb": psnr} | ({"infer_seconds": t} if infer else {})
                     for n, t in enumerate(infer or (0.0, 0.0))]
        write_file(run / "eval" / f"{dataset}-x4.json", {
            "dataset": dataset, "scale": 4, "border": 4, "colors": 3, "n_images": 2, "psnr_y": psnr + 1,
            "ssim_y": 0.8, "psnr_rgb": psnr - i, "seconds": 0.3, "per_image": per_image,
        })
    (run / "metrics.csv").write_text("iteration,loss,lr,seconds,val_psnr,event\n" + "".join(
        f"{it},0.1,0.0002,{sec:.3f},,\n" for it, sec in cumulative))
    return run


def write_paper_like(root: Path) -> Path:
    """Every run the three tables want, at the paper's depths and patch sizes (folder names deliberately
    unlike the pipeline's, so that rows must come from the files' content)."""
    for b, psnr in ((8, 29.0512), (7, 28.9012), (6, 28.8), (4, 28.7)):  # no B5 run
        write_run(root, f"imdn-B{b}-x4-rgb", "imdn", b, psnr)
    write_run(root, "clb-one-stage", "imdn-clb", 7, 28.9534, spi1=0.1)
    write_run(root, "clb-two-stage-a", "imdn-clb", 7, 29.0101, patch2=160, stage2_start=80, spi2=0.5)
    write_run(root, "clb-two-stage-b", "imdn-clb", 7, 28.9801, patch2=256, stage2_start=80, spi2=1.2)
    # not an NTIRE run: another model family, and an IMDN variant of another width
    write_run(root, "imdn-B8-x4-rgb-narrow", "imdn", 8, 30.5)
    train = json.loads((root / "imdn-B8-x4-rgb-narrow" / "train.json").read_text())
    (root / "imdn-B8-x4-rgb-narrow" / "train.json").write_text(json.dumps(train | {"options": {"channels": 32}}))
    return root


@pytest.fixture()
def ctx(tmp_path: Path) -> report.ReportContext:
    return report.build_context(write_paper_like(tmp_path / "runs" / PRESET), PRESET)


def _rows(text: str, first: str) -> list[dict[str, str]]:
    """Every Markdown table row whose first cell is `first`, keyed by the header of its table."""
    header: list[str] = []
    out = []
    for line in text.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = cells
        elif cells[0] == first:
            out.append(dict(zip(header, cells)))
    if not out:
        raise AssertionError(f"no row {first!r} in:\n{text}")
    return out


def table_row(text: str, first: str) -> dict[str, str]:
    return _rows(text, first)[0]


# --------------------------------------------------------------------------- conventions


def test_flops_at_256_scale_exactly_from_the_measured_count() -> None:
    import torch

    from repbench import measure

    deployed = measure.build_pair("imdn", "B8", scale=4, colors=3).deployed
    at_measured = measure.flop_counter_macs(deployed, torch.empty(1, 3, LR_H, LR_W))
    at_256 = measure.flop_counter_macs(deployed, torch.empty(1, 3, 256, 256))
    assert at_measured == imdn_macs(8) == 51_355_238_400  # the fixtures' count is the real model's
    assert ntire.macs_at(at_measured, (LR_H, LR_W)) == at_256 == 58_430_849_024  # linear: exact
    assert abs(at_256 / 58.53e9 - 1) < 0.002  # the paper's 58.53 G for the B = 8 baseline
    assert ntire.macs_at(None, (LR_H, LR_W)) is None and ntire.macs_at(1, None) is None


def test_runtime_prefers_forward_times_and_falls_back_to_wall_time() -> None:
    record = {"seconds": 1.0, "n_images": 4, "per_image": [{"name": "a", "infer_seconds": 0.1}, {"name": "b", "infer_seconds": 0.3}]}
    assert runtime_of(record) == (pytest.approx(0.2), True)
    record["per_image"][1].pop("infer_seconds")  # one image without a forward time: the wall time speaks
    assert runtime_of(record) == (0.25, False)
    assert runtime_of({}) == (None, False)


def test_runs_are_recognised_from_their_files(ctx: report.ReportContext) -> None:
    data = ntire.collect(ctx)
    by_name = {r.name: r for r in data.runs}
    assert "imdn-B8-x4-rgb-narrow" not in by_name  # channels=32 is another network
    two = by_name["clb-two-stage-a"]
    assert two.two_stage and two.patch_size == 64 and two.patch_size_stage2 == 160 and two.stage2_start == 80
    assert not by_name["clb-one-stage"].two_stage
    assert two.sec_per_iter == pytest.approx((80 * 0.1 + 20 * 0.5) / 100)  # train.json: both stages
    assert two.stage2_sec_per_iter == pytest.approx(0.5)  # metrics.csv: stage 2 alone
    assert data.dataset == "div2k_val" and two.border == 4


# --------------------------------------------------------------------------- the tables


def test_table2_component_ladder_beside_the_paper(ctx: report.ReportContext) -> None:
    text = ntire.render_table2(ctx)
    assert text.startswith("# NTIRE 2022 Table 2")
    assert f"**Preset: `{PRESET}`.**" in text and "**DIV2K-valid**" in text and "border 4" in text
    base = table_row(text, "IMDN Baseline")
    assert base["Run"] == "`imdn-B8-x4-rgb`" and base["B"] == "8" and base["LR patches"] == "64"
    assert base["Iters"] == "100" and base["LR Mpx"] == "–"  # every run trains this table's 100; no batch recorded
    assert base["PSNR"] == "29.05" and base["PSNR paper"] == "29.13" and base["Δ PSNR"] == "-0.08"
    assert base["Params (M)"] == "0.8939" and base["Params paper"] == "0.8939" and base["Δ Params"] == "+0.0000"
    assert base["FLOPs 256² (G)"] == "58.43" and base["FLOPs paper"] == "58.53"
    assert base["Runtime (ms, forward)"] == "60.00" and base["Runtime paper (ms)"] == "49.42"
    pruned = table_row(text, "+ Network Pruning")
    assert pruned["Step"] == "-0.15" and pruned["Step paper"] == "-0.16"  # 28.9012 - 29.0512; 28.97 - 29.13
    assert pruned["Params (M)"] == "0.7905" and pruned["FLOPs 256² (G)"] == "51.67" and pruned["FLOPs paper"] == "51.76"
    assert pruned["Runtime vs baseline"] == "+0.0%" and pruned["Paper vs baseline"] == "-1.1%"
    clb = table_row(text, "++ Collapsible Linear Blocks")
    assert clb["Run"] == "`clb-one-stage`" and clb["Step"] == "+0.05" and clb["Step paper"] == "+0.03"
    two = table_row(text, "+++ Two-Stage Training")
    assert two["Run"] == "`clb-two-stage-a`"  # the 160-pixel second stage, not the 256 one
    assert two["LR patches"] == "64 → 160 from it. 80"
    assert two["PSNR"] == "29.01" and two["Δ PSNR"] == "-0.04" and two["Step"] == "+0.06" and two["Step paper"] == "+0.05"
    target = table_row(text, "Target (challenge constraints)")
    assert target["PSNR paper"] == "≥ 29.00" and target["Params paper"] == "≤ 0.8939" and target["Runtime paper (ms)"] == "≤ 49.42"
    assert "`clb-two-stage-b`" in text.split("Notes:")[1]  # named as the other two-stage run


def test_table3_block_sweep(ctx: report.ReportContext) -> None:
    text = ntire.render_table3(ctx)
    assert text.startswith("# NTIRE 2022 Table 3") and f"Preset: `{PRESET}`" in text
    b8, b7 = table_row(text, "8"), table_row(text, "7")
    assert b8["Params"] == "893,936" and b8["Params (M)"] == "0.8939" and b8["Params paper (M)"] == "0.8939"
    assert b7["Params"] == "790,496" and b7["PSNR"] == "28.90" and b7["PSNR paper"] == "28.97" and b7["Δ PSNR"] == "-0.07"
    assert table_row(text, "4")["Params"] == "480,176" and table_row(text, "4")["Δ Params"] == "+0.0000"
    b5 = table_row(text, "5")
    assert b5["Run"] == "no run" and b5["PSNR paper"] == "28.91" and b5["Params paper (M)"] == "0.5836"
    assert [r["B"] for r in _rows(text, "Target")] == ["Target"]
    assert "`clb-" not in text  # IMDN-CLB and two-stage runs are not part of the sweep


def test_table5_second_stage_patch_sizes(ctx: report.ReportContext) -> None:
    text = ntire.render_table5(ctx)
    assert text.startswith("# NTIRE 2022 Table 5") and f"Preset: `{PRESET}`" in text
    stage1 = table_row(text, "Stage 1")
    assert stage1["Run"] == "`clb-one-stage`" and stage1["s/iter (whole run)"] == "0.1000"
    assert stage1["Epoch time paper (s)"] == "63" and stage1["GPU memory paper (MB)"] == "3,358"
    s160, s256 = _rows(text, "Stage 2")
    assert s160["Run"] == "`clb-two-stage-a`" and s160["Patch paper"] == "160" and s256["Patch paper"] == "256"
    assert s160["vs stage 1"] == "+0.06" and s160["vs stage 1 paper"] == "+0.05"
    assert s160["s/iter (whole run)"] == "0.1800" and s160["s/iter (this stage)"] == "0.5000"
    assert s160["× stage 1"] == "5.00x" and s160["× stage 1 paper"] == "5.43x"  # 342 / 63
    assert s256["Run"] == "`clb-two-stage-b`" and s256["× stage 1"] == "12.00x" and s256["GPU memory paper (MB)"] == "28,991"
    assert s256["Δ PSNR"] == "-0.04"  # 28.9801 - 29.02


def test_scaled_down_preset_fills_rows_by_role(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "smallpreset"
    write_run(root, "imdn-B2-x4-rgb", "imdn", 2, 27.0, patch=16)
    write_run(root, "imdn-B1-x4-rgb", "imdn", 1, 26.5, patch=16)
    write_run(root, "imdn-clb-B1-x4-rgb", "imdn-clb", 1, 26.6, patch=16)
    write_run(root, "imdn-clb-B1-x4-rgb-twostage", "imdn-clb", 1, 26.7, patch=16, patch2=40, stage2_start=80)
    write_run(root, "imdn-clb-B1-x4-rgb-stage2p64", "imdn-clb", 1, 26.65, patch=16, patch2=64, stage2_start=80,
              experiments=["ntire_table5"])  # declares its table: never picked for Table 2
    ctx = report.build_context(root)
    t2 = ntire.render_table2(ctx)
    assert "Preset: `smallpreset`" in t2
    assert table_row(t2, "IMDN Baseline")["Run"] == "`imdn-B2-x4-rgb`" and table_row(t2, "IMDN Baseline")["B"] == "2 (paper 8)"
    assert table_row(t2, "+ Network Pruning")["Run"] == "`imdn-B1-x4-rgb`"
    assert table_row(t2, "+++ Two-Stage Training")["Run"] == "`imdn-clb-B1-x4-rgb-twostage`"
    assert "stage2p64" not in t2
    t5 = ntire.render_table5(ctx)
    s160, s256 = _rows(t5, "Stage 2")  # 40 plays the paper's 160, 64 its 256
    assert s160["Run"] == "`imdn-clb-B1-x4-rgb-twostage`" and s160["LR patches"] == "16 → 40 from it. 80"
    assert s256["Run"] == "`imdn-clb-B1-x4-rgb-stage2p64`"
    t3 = ntire.render_table3(ctx)
    assert table_row(t3, "2")["Run"] == "`imdn-B2-x4-rgb` (not in the paper)" and table_row(t3, "8")["Run"] == "no run"


def test_dataset_choice_and_runtime_label_follow_the_eval_records(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "p"
    write_run(root, "imdn-B8-x4-rgb", "imdn", 8, 29.0, datasets=("skimage-test", "DIV2K-valid"))
    write_run(root, "imdn-B7-x4-rgb", "imdn", 7, 28.9, infer=None, datasets=("skimage-test", "DIV2K-valid"))
    text = ntire.render_table2(report.build_context(root))
    assert "**DIV2K-valid**" in text  # preferred although skimage-test comes first
    assert table_row(text, "IMDN Baseline")["PSNR"] == "28.00"  # the DIV2K-valid record (29.0 - 1 in this fixture)
    mixed = "Runtime (ms; * = eval wall / image)"
    assert table_row(text, "IMDN Baseline")[mixed] == "60.00" and table_row(text, "+ Network Pruning")[mixed] == "150.00*"

    other = tmp_path / "runs" / "q"
    write_run(other, "imdn-B8-x4-rgb", "imdn", 8, 29.0, infer=None, datasets=("skimage-test",))
    text = ntire.render_table2(report.build_context(other))
    assert "**skimage-test**" in text and table_row(text, "IMDN Baseline")["Runtime (ms, eval wall / image)"] == "150.00"


def test_tables_render_the_paper_rows_without_runs(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "empty"
    write_file(root / "bicubic-x4" / "eval" / "Set5-x4.json",
           {"dataset": "Set5", "scale": 4, "n_images": 1, "psnr_y": 28.4, "ssim_y": 0.81, "psnr_rgb": 27.0})
    ctx = report.build_context(root)
    for table, paper_numbers in (("ntire_table2", ("29.13", "0.8939", "49.42", "≥ 29.00")),
                                 ("ntire_table3", ("28.85", "0.4802")),
                                 ("ntire_table5", ("29.02", "796", "14,747"))):
        text = ntire.render(ctx, table)
        assert "Preset: `empty`" in text and f"results/{table}.md" in text and "No run of this preset fills this table" in text
        assert f"results/{table}.md" in text
        assert "no run" in text and all(n in text for n in paper_numbers), table


def test_cli_renders_exactly_the_named_ntire_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = write_paper_like(tmp_path / "runs" / PRESET)
    out = tmp_path / "results"
    args = ["report", "--runs", str(runs), "--out", str(out), "--only", "ntire_table2", "ntire_table3", "ntire_table5"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ntire_table2.md", "ntire_table3.md", "ntire_table5.md"]
    assert "wrote" in capsys.readouterr().out
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(args) == 0  # unchanged runs, identical files
    assert before == {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(NTIRE_TABLES) == set(ntire.RENDERERS) and set(NTIRE_TABLES) <= set(TARGETS)
    assert not set(NTIRE_TABLES) & set(report.check_targets(None))  # opt-in: only when named


def test_floors_and_under_trained_marks_in_every_ntire_table(tmp_path: Path) -> None:
    root = write_paper_like(tmp_path / "runs" / PRESET)
    for method, psnr in (("bicubic", 26.70), ("nearest", 25.10)):
        write_file(root / f"{method}-x4" / "eval" / "DIV2K-valid-x4.json",
               {"dataset": "DIV2K-valid", "scale": 4, "psnr_y": psnr + 1.5, "ssim_y": 0.7, "psnr_rgb": psnr, "n_images": 2})
    write_run(root, "imdn-B5-x4-rgb", "imdn", 5, 26.5)  # below bicubic's RGB PSNR: under-trained
    ctx = report.build_context(root, PRESET)
    data = ntire.collect(ctx)
    for table, first in (("ntire_table2", "Row"), ("ntire_table3", "B"), ("ntire_table5", "Row")):
        text = ntire.render(ctx, table, data)
        bicubic = _rows(text, "Bicubic (floor)")[0]
        assert bicubic["PSNR"] == "26.70" and bicubic["Run"] == "`bicubic-x4`"  # RGB, like the runs beside it
        assert _rows(text, "Nearest (floor)")[0]["PSNR"] == "25.10"
    t3 = ntire.render(ctx, "ntire_table3", data)
    assert _rows(t3, "5")[0]["Run"] == "`imdn-B5-x4-rgb` †"
    assert "† `imdn-B5-x4-rgb`: RGB PSNR below bicubic x4: DIV2K-valid 26.50 &lt; 26.70 dB" in t3  # "<", escaped
    assert "larger than `imdn-B4-x4-rgb`" in t3  # and more blocks than B4 for less PSNR


def test_seed_runs_show_mean_and_spread(tmp_path: Path) -> None:
    root = write_paper_like(tmp_path / "runs" / PRESET)
    for k, psnr in ((1, 29.1512), (2, 29.1012)):  # seeds 1 and 2 of the B8 baseline (seed 0: 29.0512)
        write_run(root, f"imdn-B8-x4-rgb-seed{k}", "imdn", 8, psnr)
    ctx = report.build_context(root, PRESET)
    t3 = ntire.render(ctx, "ntire_table3")
    row = _rows(t3, "8")[0]
    assert row["Run"] == "`imdn-B8-x4-rgb`" and row["PSNR"] == "29.10 ± 0.05 (n=3)"
    assert "sample standard deviation over seeds" in t3 and "seed1" not in t3.split("Notes:")[0]


def test_the_presets_plan_keeps_each_run_in_its_own_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One model trained at two budgets for two tables: without the plan file both runs match both
    tables; with it (the pipeline writes it from the preset) Table 5 compares only its own budget."""
    root = tmp_path / "runs" / "budgets"
    write_run(root, "imdn-clb-B1-x4-rgb", "imdn-clb", 1, 26.6, patch=16, iterations=400)
    write_run(root, "imdn-clb-B1-x4-rgb-twostage", "imdn-clb", 1, 26.7, patch=16, patch2=40, stage2_start=320,
              iterations=400)
    write_run(root, "imdn-clb-B1-x4-rgb-i600", "imdn-clb", 1, 27.0, patch=16, iterations=600)
    write_run(root, "imdn-clb-B1-x4-rgb-twostage_i600", "imdn-clb", 1, 27.1, patch=16, patch2=40, stage2_start=480,
              iterations=600)
    inferred = ntire.render_table5(report.build_context(root))
    assert "`imdn-clb-B1-x4-rgb`" in inferred  # the 400-step run takes the stage-1 row it does not belong to
    # ... but two budgets tie and none is named for the table: no run is compared with the paper
    assert table_row(inferred, "Stage 1")["Δ PSNR"] == "no Δ (no single budget in this table)"

    plan = {"ntire_table2": ["imdn-clb-B1-x4-rgb", "imdn-clb-B1-x4-rgb-twostage"],
            "ntire_table5": ["imdn-clb-B1-x4-rgb-i600", "imdn-clb-B1-x4-rgb-twostage_i600"]}
    pipeline_config.write_plan(root / pipeline_config.PLAN_FILE, "budgets", plan)
    ctx = report.build_context(root)
    t5 = ntire.render_table5(ctx)
    assert table_row(t5, "Stage 1")["Run"] == "`imdn-clb-B1-x4-rgb-i600`"
    assert table_row(t5, "Stage 1")["Iters"] == "600" and table_row(t5, "Stage 1")["Δ PSNR"] == "-2.00"  # 27.0 - 29.00, its budget
    assert table_row(t5, "Stage 2")["Run"] == "`imdn-clb-B1-x4-rgb-twostage_i600`"
    assert table_row(t5, "Stage 2")["vs stage 1"] == "+0.10"  # 27.1 - 27.0: same budget on both sides
    assert "`imdn-clb-B1-x4-rgb`" not in t5 and "-twostage`" not in t5
    t2 = ntire.render_table2(ctx)
    assert table_row(t2, "+++ Two-Stage Training")["Run"] == "`imdn-clb-B1-x4-rgb-twostage`" and "i600" not in t2

    (root / pipeline_config.PLAN_FILE).write_text('{"experiments": {"ntire_table9": []}}')
    out = tmp_path / "results"
    assert main(["report", "--runs", str(root), "--out", str(out), "--only", "ntire_table5"]) == 2
    err = capsys.readouterr().err
    assert "experiments.json names unknown tables ntire_table9" in err and "delete it" in err
    assert "Traceback" not in err and not out.exists()


def test_runs_of_one_deployed_network_show_its_one_timing_as_runtime(tmp_path: Path) -> None:
    # IMDN B7 and IMDN-CLB B7 deploy to one network: with its shared timing in their measure.json they show
    # one runtime, whatever their evals' wall times (0.05-0.07 s here, noise of whatever ran beside them)
    root = tmp_path / "runs"
    record = {"net": "merged", "mode": "eager", "images_per_s": 20.0, "ms_per_batch": 50.0, "batch": 1,
              "lr_height": 90, "lr_width": 160, "device_name": "CPU test", "images_per_s_min": 19.0, "images_per_s_max": 21.0}
    for folder, method, infer in (("imdn-B7-x4-rgb", "imdn", (0.05, 0.07)), ("clb", "imdn-clb", (0.3, 0.4))):
        run = write_run(root, folder, method, 7, 28.9, infer=infer)
        measure = json.loads((run / "measure.json").read_text())
        (run / "measure.json").write_text(json.dumps({**measure, "throughput": [record]}))
    text = ntire.render_table2(report.build_context(root))
    assert "Runtime (ms / image, deployed net)" in text and "batch 1, 160x90 LR, CPU test" in text
    cells = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| ") and "`" in line}
    assert all("50.00" in line for line in cells.values()) and len(cells) == 2
