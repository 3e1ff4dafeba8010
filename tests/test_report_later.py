"""`results/later.md`: DBB, OREPA and Conv3XC beside Table 2's own plain, ECBSR and RepSR runs, per size
(synthetic run folders; nothing is trained), and the cpu preset's `later` experiment, which reuses Table 2's runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from repbench import report
from repbench.pipeline import config as pipeline_config
from repbench.report.tables import render_later
from repbench.report.tables.later import PLAIN_FORM, fmt_flops

from runfolders import add_run, write_floors

REPO = Path(__file__).resolve().parent.parent
FLOORS = {"bicubic": {"Set5": 28.43, "Set14": 26.00}, "nearest": {"Set5": 26.21, "Set14": 24.49}}
M4C8_MACS = 208_742_400


def budget(iterations: int, seconds: float, flops: float | None) -> dict[str, Any]:
    return {"budget": {"iterations": iterations, "train_seconds": seconds, "train_flops": flops},
            "iterations": iterations, "train_seconds": seconds, "sec_per_iter": seconds / iterations}


def later_folder(root: Path) -> Path:
    """Table 2's plain (3 seeds), RepVGG, collapsed ECBSR and RepSR at M4C8; DBB, OREPA and Conv3XC beside them,
    DBB at M10C16 too; a hand-trained, tagged DBB named by no experiment; the plan file of a preset."""
    write_floors(root, FLOORS)
    for k, score in enumerate((29.00, 29.04, 29.08)):
        add_run(root, "plain-M4C8-x4" + (f"-seed{k}" if k else ""), "plain", "M4C8", M4C8_MACS,
                {"Set5": score, "Set14": 26.70}, seed=k, **budget(400, 20.0 + k, 2.6e11))
    add_run(root, "repvgg-M4C8-x4", "repvgg", "M4C8", M4C8_MACS, {"Set5": 29.3, "Set14": 26.8}, **budget(400, 40.0, 3.1e11))
    add_run(root, "ecbsr-M4C8-x4", "ecbsr", "M4C8", M4C8_MACS, {"Set5": 29.2, "Set14": 26.8}, options={"collapsed": True},
            **budget(400, 30.0, 2.6e11))
    add_run(root, "repsr-M4C8-x4", "repsr", "M4C8", M4C8_MACS, {"Set5": 29.25, "Set14": 26.85}, bn_frozen_at=381,
            **budget(400, 80.0, 1.16e12))
    add_run(root, "dbb-M4C8-x4", "dbb", "M4C8", M4C8_MACS, {"Set5": 29.40, "Set14": 26.90}, bn_frozen_at=381,
            **budget(400, 60.0, 6.43e11))
    add_run(root, "orepa-M4C8-x4", "orepa", "M4C8", M4C8_MACS, {"Set5": 29.30, "Set14": 26.95}, bn_frozen_at=381,
            **budget(400, 25.0, 2.69e11))
    add_run(root, "conv3xc-M4C8-x4", "conv3xc", "M4C8", M4C8_MACS, {"Set5": 29.10, "Set14": 26.75},
            options={"collapsed": True}, **budget(400, 28.0, None))  # trained before FLOPs were recorded
    add_run(root, "dbb-M10C16-x4", "dbb", "M10C16", 1_489_305_600, {"Set5": 30.0, "Set14": 27.1}, bn_frozen_at=476,
            **budget(500, 200.0, 3.0e12))
    add_run(root, "dbb-M4C8-x4-hand", "dbb", "M4C8", M4C8_MACS, {"Set5": 31.0, "Set14": 28.0}, **budget(900, 90.0, 1e12))
    seeds = ["plain-M4C8-x4", "plain-M4C8-x4-seed1", "plain-M4C8-x4-seed2"]
    table2 = seeds + ["repvgg-M4C8-x4", "ecbsr-M4C8-x4", "repsr-M4C8-x4"]
    later = seeds + ["ecbsr-M4C8-x4", "repsr-M4C8-x4", "dbb-M4C8-x4", "orepa-M4C8-x4", "conv3xc-M4C8-x4", "dbb-M10C16-x4"]
    pipeline_config.write_plan(root / pipeline_config.PLAN_FILE, "cpu", {"table2": table2, "later": later})
    return root


def _rows(text: str, section: str) -> list[dict[str, str]]:
    """The table under `## section` as {column: cell} rows."""
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in part.splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(head, [c.strip() for c in line.strip("|").split("|")])) for line in lines[2:]]


def test_later_table_shows_the_new_methods_beside_table2s_own_runs(tmp_path: Path) -> None:
    root = later_folder(tmp_path / "runs" / "cpu")
    text = render_later(report.build_context(root))
    assert text.startswith("# Later re-parameterizations on the Mx-Cy backbone (x4, Y channel)")
    assert text.index("## M4C8") < text.index("## M10C16")
    rows = {r["Model"]: r for r in _rows(text, "M4C8")}
    assert list(rows) == ["Nearest", "Bicubic", "Plain-M4C8", "ECBSR-M4C8", "RepSR-M4C8", "DBB-M4C8", "OREPA-M4C8",
                          "Conv3XC-M4C8"]  # floors first; RepVGG (Table 2 only) and the hand-trained DBB left out
    assert rows["Bicubic"]["Set5 PSNR / SSIM"] == "28.43 / 0.8000" and rows["Bicubic"]["Iters"] == ""
    plain, dbb = rows["Plain-M4C8"], rows["DBB-M4C8"]
    assert plain["Set5 PSNR / SSIM"] == "29.04 ± 0.04 (n=3) / 0.8500"  # the mean and spread of Table 2's seeds
    assert plain["s/iter (training run)"] == "0.0525 ± 0.0025 (n=3)" and plain["Training form"] == PLAIN_FORM
    assert dbb["Set5 PSNR / SSIM"] == "**29.40** / 0.8500" and rows["OREPA-M4C8"]["Set14 PSNR / SSIM"] == "**26.95** / 0.8500"
    forms = {m: rows[m]["Training form"] for m in ("ECBSR-M4C8", "RepSR-M4C8", "DBB-M4C8", "OREPA-M4C8", "Conv3XC-M4C8")}
    assert forms == {"ECBSR-M4C8": "collapsed", "RepSR-M4C8": "branched, then collapsed",
                     "DBB-M4C8": "branched, then collapsed", "OREPA-M4C8": "collapsed", "Conv3XC-M4C8": "collapsed"}
    assert dbb["Train FLOPs (fwd + bwd)"] == "643G" and rows["RepSR-M4C8"]["Train FLOPs (fwd + bwd)"] == "1.16T"
    assert rows["Conv3XC-M4C8"]["Train FLOPs (fwd + bwd)"] == "–"
    assert dbb["Δ PSNR vs plain (Set5 / Set14)"] == "+0.36 / +0.20" and plain["Δ PSNR vs plain (Set5 / Set14)"] == ""
    assert dbb["Params (deployed)"] == f"{M4C8_MACS // 1000:,}" and dbb["Iters"] == "400"
    assert [r["Model"] for r in _rows(text, "M10C16")] == ["Nearest", "Bicubic", "DBB-M10C16"]
    assert "no training FLOPs in train.json" in text and "`conv3xc-M4C8-x4`" in text.split("Notes:")[1]
    assert "Table 2's own runs" in text and "Preset: `cpu`" in text


def test_later_membership_without_a_plan_is_inferred(tmp_path: Path) -> None:
    root = later_folder(tmp_path / "runs" / "cpu")
    (root / pipeline_config.PLAN_FILE).unlink()
    text = render_later(report.build_context(root))
    models = [r["Model"] for r in _rows(text, "M4C8")]
    assert "RepVGG-M4C8" not in models and "DBB-M4C8" in models and "Plain-M4C8" in models
    assert "dbb-M4C8-x4-hand" not in text  # tagged: not one of the experiment's untagged runs


def test_later_is_a_target_named_on_its_own(tmp_path: Path) -> None:
    root = later_folder(tmp_path / "runs" / "cpu")
    written = report.build_report(root, tmp_path / "out", only=["later"])
    assert [p.name for p in written] == ["later.md"]
    assert "later" not in report.check_targets(None)  # only when named, like the NTIRE tables
    assert "DBB-M4C8" in (tmp_path / "out" / "later.md").read_text()
    report.build_report(root, tmp_path / "out", only=["table2"])
    table2 = (tmp_path / "out" / "table2.md").read_text()
    assert "OREPA" not in table2 and "`dbb-M4C8-x4`" not in table2  # the plan keeps `later`'s new runs out of Table 2


def test_an_empty_later_table_says_how_to_fill_it(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "cpu"
    write_floors(root, FLOORS)
    text = render_later(report.build_context(root))
    assert "No run of this preset fills this table yet" in text and "results/later.md" in text


def test_fmt_flops() -> None:
    assert [fmt_flops(v) for v in (1.16e12, 6.43e11, 3.1e6, 12, None)] == ["1.16T", "643G", "3.1M", "12", "–"]


def test_cpu_preset_later_experiment_reuses_table2s_runs() -> None:
    """No retraining: the baselines of `later` are the very runs of Table 2 (one run id, one training)."""
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "cpu"}, REPO))
    later, table2 = plan.experiments["later"], set(plan.experiments["table2"])
    baselines = [r for r in later if plan.runs[r].method in ("plain", "ecbsr", "repsr")]
    assert baselines and set(baselines) <= table2
    assert all(plan.runs[r].options.get("collapsed") for r in baselines if plan.runs[r].method == "ecbsr")
    new = [r for r in later if r not in table2]
    assert {plan.runs[r].method for r in new} == {"dbb", "orepa", "conv3xc"}
    sizes = ("M4C8", "M4C16", "M10C16", "M10C32", "M16C64")
    for method in ("dbb", "orepa", "conv3xc", "plain", "ecbsr", "repsr"):
        runs = [plan.runs[r] for r in later if plan.runs[r].method == method]
        assert {s.size for s in runs} == set(sizes), method
        assert len(runs) == 3 + 3 + 1 + 1 + 1, method  # 3 seeds at M4C8 and M4C16
    for r in new:  # the budget rules of Table 2: size_train's iterations, equal for every method at one size
        twin = next(t for t in table2 if plan.runs[t].size == plan.runs[r].size and plan.runs[t].method == "plain")
        assert plan.runs[r].config["iterations"] == plan.runs[twin].config["iterations"]
        assert plan.runs[r].config["batch_size"] == plan.runs[twin].config["batch_size"]
    assert len(new) == 27 and "later" in plan.runs[baselines[0]].experiments
