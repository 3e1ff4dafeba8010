"""Budget sweeps: `results/sweep.md` + `sweep.png/.svg` (synthetic run folders; nothing is trained) and the
`sweep` preset that trains them."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from repbench import report
from repbench.pipeline import config as pipeline_config
from repbench.report.sweep import render_sweep
from repbench.report.sweep import data as sweep_data
from runfolders import add_run, write_floors

try:
    from test_report_later import FLOORS, budget
except ImportError:  # collected as a package
    from tests.test_report_later import FLOORS, budget

REPO = Path(__file__).resolve().parent.parent
MACS = 681_984_000
# Set5 PSNR per model and budget (a list: one value per seed), and the training seconds of each budget's run.
SCORES = {
    "plain": {100: [28.90, 28.95, 29.00], 400: [29.40, 29.42, 29.44], 1600: [29.80]},
    "dbb": {100: [28.70, 28.75, 28.80], 400: [29.50, 29.55, 29.60], 1600: [30.10]},
    "orepa": {100: [28.93, 28.96, 28.99], 400: [29.41], 1600: [29.70]},
}
SECONDS = {"plain": 0.1, "dbb": 0.3, "orepa": 0.12}  # per iteration
FLOPS = {"plain": 4e9, "dbb": 1e10, "orepa": 4.2e9}  # per iteration


def sweep_folder(root: Path, flops: bool = True, plan: bool = True) -> Path:
    write_floors(root, FLOORS)
    ids = []
    for method, budgets in SCORES.items():
        for iterations, scores in budgets.items():
            for k, score in enumerate(scores):
                rid = f"{method}-M4C16-x4-i{iterations}" + (f"-seed{k}" if k else "")
                add_run(root, rid, method, "M4C16", MACS, {"Set5": score, "Set14": score - 2.5}, seed=k,
                        **budget(iterations, SECONDS[method] * iterations, FLOPS[method] * iterations if flops else None))
                ids.append(rid)
    add_run(root, "plain-M4C16-x4", "plain", "M4C16", MACS, {"Set5": 35.0}, **budget(400, 40.0, None))  # not in the sweep
    if plan:
        pipeline_config.write_plan(root / pipeline_config.PLAN_FILE, "sweep", {"sweep": ids, "table2": ["plain-M4C16-x4"]})
    return root


def _curves(root: Path) -> list[sweep_data.Curve]:
    ctx = report.build_context(root)
    return sweep_data.curves(sweep_data.sweep_rows(ctx.wide, "sweep"))[0]


def test_curves_one_per_model_points_by_budget(tmp_path: Path) -> None:
    curves = _curves(sweep_folder(tmp_path / "runs" / "sweep"))
    assert [c.label for c in curves] == ["Plain-M4C16", "DBB-M4C16", "OREPA-M4C16"]  # registry order
    plain = curves[0]
    assert [p.iterations for p in plain.points] == [100, 400, 1600]
    assert [p.run for p in plain.points] == ["plain-M4C16-x4-i100", "plain-M4C16-x4-i400", "plain-M4C16-x4-i1600"]
    assert plain.points[0].psnr("psnr_y_set5") == pytest.approx(28.95) and plain.points[0].seconds == pytest.approx(10.0)
    assert plain.points[2].flops == pytest.approx(6.4e12)


def test_ranking_at_each_budget_with_ties_in_the_seed_spread(tmp_path: Path) -> None:
    curves = _curves(sweep_folder(tmp_path / "runs" / "sweep"))
    first = sweep_data.ranking(curves, 100, "psnr_y_set5")
    assert [(r.curve.label, r.rank, r.best, r.tied) for r in first] == [
        ("OREPA-M4C16", 1, True, False), ("Plain-M4C16", 2, False, True),  # 0.01 dB apart, spreads 0.03 + 0.05
        ("DBB-M4C16", 3, False, False)]
    assert [r.curve.label for r in sweep_data.ranking(curves, 1600, "psnr_y_set5")] == ["DBB-M4C16", "Plain-M4C16",
                                                                                         "OREPA-M4C16"]


def test_crossings_name_the_budgets_between_which_one_overtakes_another(tmp_path: Path) -> None:
    curves = _curves(sweep_folder(tmp_path / "runs" / "sweep"))
    found = {(c.winner, c.loser): c for c in sweep_data.crossings(curves, "psnr_y_set5")}
    assert set(found) == {("DBB-M4C16", "Plain-M4C16"), ("DBB-M4C16", "OREPA-M4C16"), ("Plain-M4C16", "OREPA-M4C16")}
    dbb = found[("DBB-M4C16", "Plain-M4C16")]
    assert (dbb.lo, dbb.hi) == (100, 400) and dbb.gap_lo == pytest.approx(-0.20) and dbb.gap_hi == pytest.approx(0.13)
    assert not dbb.within_spread
    assert found[("Plain-M4C16", "OREPA-M4C16")].within_spread  # not separable at 100 iterations


def test_one_seed_budgets_are_judged_by_their_models_seed_noise(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "sweep"
    write_floors(root, FLOORS)
    ids = []
    scores = {"plain": {100: [28.90, 29.00, 29.10], 800: [29.60], 1600: [29.70]},  # seed noise 0.10
              "dbb": {100: [28.60, 28.65, 28.70], 800: [29.62], 1600: [29.66]}}  # seed noise 0.05
    for method, budgets in scores.items():
        for iterations, values in budgets.items():
            for k, score in enumerate(values):
                rid = f"{method}-M4C16-x4-i{iterations}" + (f"-seed{k}" if k else "")
                add_run(root, rid, method, "M4C16", MACS, {"Set5": score}, seed=k, **budget(iterations, iterations / 10, None))
                ids.append(rid)
    pipeline_config.write_plan(root / pipeline_config.PLAN_FILE, "sweep", {"sweep": ids})
    plain, dbb = _curves(root)
    assert sweep_data.seed_noise(plain, "psnr_y_set5") == pytest.approx(0.10)
    found = {(c.winner, c.loser, c.lo): c for c in sweep_data.crossings([plain, dbb], "psnr_y_set5")}
    up = found[("DBB-M4C16", "Plain-M4C16", 100)]  # 0.35 dB below at 100 (separable), 0.02 above at 800 (one seed)
    assert (up.gap_lo, up.gap_hi) == (pytest.approx(-0.35), pytest.approx(0.02))
    assert up.within_spread  # at 800 the gap is inside the seed noise (0.10 + 0.05): not a result
    assert found[("Plain-M4C16", "DBB-M4C16", 800)].within_spread  # back again by 0.04 dB at 1600: noise too
    assert len(found) == 2


def test_time_to_psnr_interpolates_between_budgets(tmp_path: Path) -> None:
    plain, dbb, orepa = _curves(sweep_folder(tmp_path / "runs" / "sweep"))
    target = 28.43 + 1.0
    reach = sweep_data.time_to(plain, "psnr_y_set5", target)  # 29.42 at 400 (40 s), 29.80 at 1600 (160 s)
    frac = (target - 29.42) / (29.80 - 29.42)
    assert reach.reached and not reach.at_first
    assert reach.seconds == pytest.approx(40 * 4**frac) and reach.iterations == pytest.approx(400 * 4**frac)
    reach = sweep_data.time_to(dbb, "psnr_y_set5", target)  # 28.75 at 100 (30 s), 29.55 at 400 (120 s)
    assert reach.seconds == pytest.approx(30 * 4 ** (0.68 / 0.80))
    assert not sweep_data.time_to(orepa, "psnr_y_set5", 28.43 + 1.5).reached
    assert sweep_data.time_to(orepa, "psnr_y_set5", 28.43 + 1.5).best == pytest.approx(29.70)
    early = sweep_data.time_to(dbb, "psnr_y_set5", 28.5)  # already at the smallest budget: an upper bound
    assert early.at_first and early.seconds == pytest.approx(30.0) and early.iterations == 100


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_sweep_markdown(tmp_path: Path) -> None:
    text, fig = render_sweep(report.build_context(sweep_folder(tmp_path / "runs" / "sweep")), "sweep")
    assert text.startswith("# Budget sweep `sweep`: PSNR against the training budget (M4C16; x4, Y channel)")
    ranking = _section(text, "Ranking at each budget")
    set5 = ranking.split("### PSNR-Y on Set5", 1)[1].split("###", 1)[0]
    rows = [line for line in set5.splitlines() if line.startswith("| ") and "Model" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["DBB-M4C16", "Plain-M4C16", "OREPA-M4C16"]  # by the last budget
    plain = [c.strip() for c in rows[1].strip("|").split("|")]
    assert plain == ["Plain-M4C16", "#2 28.95 ± 0.05 (n=3, ≈ best)", "#2 29.42 ± 0.02 (n=3)", "#2 29.80"]
    assert "#1 **28.96** ± 0.03 (n=3)" in rows[2] and "### PSNR-Y on Set14" in ranking
    crossings = _section(text, "Where the curves cross")
    assert ("- Set5: **DBB-M4C16** overtakes Plain-M4C16 between 100 and 400 iterations (-0.20 → +0.13 dB)."
            in crossings)
    assert ("- Set5, within the seed noise at one end (not results): 1 order change: Plain-M4C16 over OREPA-M4C16 "
            "at 100-400." in crossings)
    assert "overtakes OREPA" not in crossings.split("Set5, within", 1)[0].replace("DBB-M4C16** overtakes OREPA", "")
    times = _section(text, "Time to bicubic + 1.0 dB and + 1.5 dB on Set5")
    assert "bicubic + 1.0 dB (29.43 dB)" in times and "bicubic + 1.5 dB (29.93 dB)" in times
    lines = {line.split("|")[1].strip(): line for line in times.splitlines() if line.startswith("| ") and "Model" not in line}
    assert list(lines) == ["Plain-M4C16", "OREPA-M4C16", "DBB-M4C16"]  # fastest to + 1.0 dB first
    assert "≈ 41.5 s (≈ 415 it.)" in lines["Plain-M4C16"] and "not reached (best 29.80 dB)" in lines["Plain-M4C16"]
    assert "not reached (best 29.70 dB)" in lines["OREPA-M4C16"]
    every = _section(text, "Every run")
    assert "`dbb-M4C16-x4-i1600`" in every and "16T" in every and "`plain-M4C16-x4`" not in text
    assert len(fig.axes) == 6 and "training FLOPs" in fig.axes[2].get_xlabel()  # 2 test sets x 3 x axes
    assert [ax.get_xscale() for ax in fig.axes] == ["log"] * 6


def test_without_flops_the_figure_has_two_x_axes_and_membership_follows_the_tags(tmp_path: Path) -> None:
    root = sweep_folder(tmp_path / "runs" / "sweep", flops=False, plan=False)
    text, fig = render_sweep(report.build_context(root), "sweep")
    assert len(fig.axes) == 4 and "measured training seconds on cpu" in fig.axes[1].get_xlabel()
    assert "`plain-M4C16-x4`" not in text and "`orepa-M4C16-x4-i400`" in text  # untagged: not a sweep run


def test_sweep_target_writes_table_and_figure(tmp_path: Path) -> None:
    root = sweep_folder(tmp_path / "runs" / "sweep")
    written = report.build_report(root, tmp_path / "out", only=["sweep"])
    assert sorted(p.name for p in written) == ["sweep.md", "sweep.png", "sweep.svg"]
    svg = (tmp_path / "out" / "sweep.svg").read_text()
    assert "<title>dbb-M4C16-x4-i400: DBB-M4C16, 400 iterations, PSNR-Y on Set5 29.55 ± 0.05 (n=3) dB</title>" in svg
    assert (tmp_path / "out" / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not set(report.check_targets(None)) & {"sweep", "sweep_m10c32"}  # only when named
    empty = tmp_path / "runs" / "cpu"
    write_floors(empty, FLOORS)
    report.build_report(empty, tmp_path / "empty", only=["sweep_m10c32"])
    assert "No run of this preset is in the `sweep_m10c32` experiment yet" in (tmp_path / "empty" / "sweep_m10c32.md").read_text()


def test_the_sweep_preset_trains_every_model_at_every_budget() -> None:
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "sweep"}, REPO))
    budgets = (100, 200, 400, 800, 1600, 3200, 6400)
    for experiment, size, sesr in (("sweep", "M4C16", "M5C16"), ("sweep_m10c32", "M10C32", "M11C32")):
        runs = [plan.runs[r] for r in plan.experiments[experiment]]
        assert len(runs) == 8 * (3 * 3 + 4)
        models = {(s.method, s.size) for s in runs}
        assert models == {(m, size) for m in ("plain", "repvgg", "ecbsr", "repsr", "dbb", "orepa", "conv3xc")} | {("sesr", sesr)}
        for spec in runs:
            tag = spec.run_id.split("-x4-", 1)[1].split("-seed", 1)[0]
            assert tag == f"i{spec.config['iterations']}" and spec.config["iterations"] in budgets
            assert spec.config["val_every"] * 4 == spec.config["iterations"]
            assert (spec.seed < 3) and (spec.seed == 0 or spec.config["iterations"] <= 400)
            assert spec.config["profile"] == "short" and spec.config["schedule"] == "cosine" and spec.config["warmup"] == 0.05
            assert bool(spec.options.get("collapsed")) == (spec.method in ("ecbsr", "sesr", "conv3xc"))
        assert sum(1 for s in runs if s.config["iterations"] == 100) == 8 * 3


def test_the_short_recipe_scales_with_the_budget() -> None:
    """Warm-up and the cosine decay are fractions of the run: each budget ends its decay at its last step."""
    from repbench.training.schedules import build_schedule

    for iterations in (100, 6400):
        opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
        schedule = build_schedule(opt, "cosine", 1e-3, iterations, cycles=1, lr_min=0.0, warmup=0.05)
        assert schedule.warmup_iters == round(0.05 * iterations)
        assert schedule.apply(iterations // 2) == pytest.approx(5e-4, rel=0.1)
        assert schedule.apply(iterations - 1) < 1e-5


def test_the_readme_states_the_sweeps_command_runs_and_measured_cost() -> None:
    text = (REPO / "README.md").read_text()
    section = text.split("### Budget sweep", 1)[1].split("\n## ", 1)[0]
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "sweep"}, REPO))
    runs = [plan.runs[r] for r in plan.experiments["sweep"]]
    steps = sum(s.config["iterations"] for s in runs if s.method == "plain")
    assert f"{steps:,} steps" in section.replace("\n", " ") or f"trains {steps:,}" in section
    assert f"{len(runs)} runs" in section and "results/sweep.md --config preset=sweep" in section
    assert "Cost, measured." in section and "seconds of training summed over its 104 runs" in section
    assert f"over the {len(runs)} runs" in (REPO / "workflow" / "presets" / "sweep.yaml").read_text()
