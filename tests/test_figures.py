"""The report's figures on a crowded synthetic preset: panels per (scale, channels), floors, colours and
markers, a Pareto front that is the non-dominated set, labels that never overlap, hover titles in the SVG."""
from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from repbench import report
from repbench.report import figures
from repbench.report.plotting import METHOD_COLORS
from repbench.results.values import model_label
from runfolders import write_file

PRESET = "crowded"
DEVICE = "CPU test (2 threads)"
SVG = "{http://www.w3.org/2000/svg}"
METHODS = ("plain", "repvgg", "ecbsr", "sesr", "repsr")
SIZES = ("M4C8", "M4C16", "M10C16")
# 14 x4 Y runs packed into 200-291 images/s, each faster one slightly worse: all of them non-dominated,
# the crowd that made the old figure's labels pile up.
CROWD = {f"{METHODS[i % 5]}-{SIZES[i % 3]}-x4-t{i}": (200.0 + 7 * i, 30.5 - 0.03 * i) for i in range(14)}
SLOW = {"ecbsr-M10C16-x4-slow": (60.0, 29.0)}  # dominated by every crowd run
UNDER = {"plain-M4C8-x4-under": (900.0, 27.5)}  # fastest, but below bicubic: marked, so not on the front
X2_RGB = {"edsr-R1C4-x2-rgb-a": (80.0, 35.2), "edsr-M4C16-x2-rgb-b": (95.0, 34.9)}
FLOORS = {"bicubic-x4": (28.43, 27.90), "nearest-x4": (26.21, 25.70), "bicubic-x2": (33.66, 33.10)}


def _run(root: Path, name: str, speed: float, psnr: float) -> None:
    method, size, scale = name.split("-")[0], name.split("-")[1], int(name.split("-")[2][1])
    colors = 3 if "rgb" in name else 1
    run = root / name
    write_file(run / "train.json", {"method": method, "size": size, "scale": scale, "colors": colors, "options": {},
                                "iterations": 20, "train_seconds": 2.0, "device": DEVICE, "seed": 0,
                                "val_data": "holdout:10", "train_data": "DIV2K-train", "status": "complete"})
    write_file(run / "measure.json", {"params_deployed": 1000, "macs": 10**6, "throughput": [
        {"net": "merged", "mode": "eager", "device_name": DEVICE, "dtype": "float32", "batch": 4,
         "lr_height": 180, "lr_width": 320, "images_per_s": speed}]})
    write_file(run / "eval" / f"Set5-x{scale}.json", {"dataset": "Set5", "scale": scale, "n_images": 5, "psnr_y": psnr,
                                                  "ssim_y": 0.9, "psnr_rgb": psnr if colors == 3 else psnr - 0.5})
    curve = {0: 20.0, 10: psnr - 0.05, 20: psnr - 0.02}  # converged: nothing for `repbench check` to flag
    rows = ["iteration,loss,lr,seconds,val_psnr,event"] + [
        f"{it},{0.2 / (1 + it):.5f},0.001,{it / 10},{curve.get(it, '')},{'val' if it in curve else ''}" for it in range(0, 21, 2)]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")


def write_crowded_runs(root: Path) -> Path:
    for name, (speed, psnr) in {**CROWD, **SLOW, **UNDER, **X2_RGB}.items():
        _run(root, name, speed, psnr)
    for name, (y, rgb) in FLOORS.items():
        scale = int(name[-1])
        write_file(root / name / "eval" / f"Set5-x{scale}.json",
               {"dataset": "Set5", "scale": scale, "n_images": 5, "psnr_y": y, "ssim_y": 0.8, "psnr_rgb": rgb})
    return root


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_crowded_runs(tmp_path_factory.mktemp("runs") / PRESET)


@pytest.fixture(scope="module")
def ctx(runs_root: Path) -> report.ReportContext:
    return report.build_context(runs_root, PRESET)


@pytest.fixture(scope="module")
def fig1(ctx: report.ReportContext) -> Any:
    fig = figures.figure_tradeoff(ctx)
    fig.canvas.draw()  # boxes as drawn
    return fig


def _points(ax: Any) -> list[Any]:
    """The data points of a panel: one marker-only line per run."""
    return [line for line in ax.get_lines() if line.get_linestyle() == "None" and line.get_marker() not in (None, "None", "")]


def _overlapping(texts: list[Any], renderer: Any) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


def _non_dominated(points: dict[str, tuple[float, float]]) -> set[str]:
    return {n for n, (s, p) in points.items()
            if not any(s2 >= s and p2 >= p and (s2, p2) != (s, p) for s2, p2 in points.values())}


def test_fig1_has_one_panel_per_scale_and_channel_with_its_floors(fig1: Any) -> None:
    assert [ax.get_title().splitlines()[0] for ax in fig1.axes] == ["x4, Y channel", "x2, RGB"]
    y4, x2 = fig1.axes
    assert y4.get_ylabel() == "Set5 PSNR-Y (dB)" and x2.get_ylabel() == "Set5 PSNR-RGB (dB)"
    for ax in (y4, x2):
        assert "images/s" in ax.get_xlabel() and DEVICE in ax.get_xlabel() and "320x180 LR input" in ax.get_xlabel()
    assert len(_points(y4)) == len(CROWD) + 2 and len(_points(x2)) == len(X2_RGB)  # no x2 run on the x4 axis
    floors = {(round(float(line.get_ydata()[0]), 2), line.get_linestyle()) for ax in (y4,) for line in ax.get_lines()
              if len(set(line.get_ydata())) == 1 and line.get_linestyle() != "None"}
    assert {(28.43, "--"), (26.21, ":")} <= floors  # bicubic dashed, nearest dotted, Y at x4
    assert any(float(line.get_ydata()[0]) == pytest.approx(33.10) and line.get_linestyle() == "--"
               for line in x2.get_lines())  # x2 RGB panel: bicubic x2 on RGB, not its Y 33.66
    assert "Bicubic 28.43 dB" in y4.get_title() and "Bicubic 33.10 dB" in x2.get_title()


def test_fig1_colours_are_methods_markers_are_sizes_and_marked_runs_hollow(fig1: Any) -> None:
    by_run = {}
    for line in _points(fig1.axes[0]):
        run = next(n for n in {**CROWD, **SLOW, **UNDER} if _title(fig1, line).startswith(f"{n}:"))
        by_run[run] = line
    for run, line in by_run.items():
        method, size = run.split("-")[:2]
        assert line.get_markeredgecolor() == METHOD_COLORS[method]
        same_size = {by_run[r].get_marker() for r in by_run if r.split("-")[1] == size}
        assert len(same_size) == 1
    assert len({by_run[r].get_marker() for r in by_run}) == len({r.split("-")[1] for r in by_run})
    assert by_run["plain-M4C8-x4-under"].get_markerfacecolor() == "none"  # below bicubic: hollow
    assert all(line.get_markerfacecolor() != "none" for r, line in by_run.items() if r != "plain-M4C8-x4-under")
    legend = [t.get_text() for t in fig1.legends[0].get_texts()]
    assert any("under-trained" in t for t in legend) and "RepSR" in legend and "size M10C16" in legend


def _title(fig: Any, artist: Any) -> str:
    from repbench.report.hover import titles_of

    return titles_of(fig).get(artist.get_gid() or "", "")


# 16 sizes over five methods, as the cpu snapshot has: more sizes than the 12 plain markers, two panels.
MANY_SIZES = {
    "plain": ("M4C8", "M4C16", "M10C16", "M10C32", "M16C64"), "repsr": ("M4C8", "M4C16", "M10C16"),
    "sesr": ("M5C16", "M11C16", "M11C32"), "edsr": ("R2C16", "R4C32", "R5C32"), "imdn": ("B4", "B5", "B6", "B7", "B8"),
}


def _encoding(fig: Any, runs: dict[str, tuple[str, str]]) -> dict[tuple[str, str], set[tuple[Any, str]]]:
    """(method, size) -> the (marker, colour) pairs its points are drawn with, from the plotted artists."""
    seen: dict[tuple[str, str], set[tuple[Any, str]]] = {}
    for ax in fig.axes:
        for line in _points(ax):
            run = _title(fig, line).split(":")[0]
            seen.setdefault(runs[run], set()).add((line.get_marker(), line.get_markeredgecolor()))
    return seen


def test_fig1_never_uses_one_marker_for_two_sizes(tmp_path: Path) -> None:
    from repbench.report.plotting import MARKERS

    root = tmp_path / PRESET
    runs: dict[str, tuple[str, str]] = {}
    for m, (method, sizes) in enumerate(MANY_SIZES.items()):
        for i, size in enumerate(sizes):
            name = f"{method}-{size}-x4" + ("-rgb" if method == "imdn" else "")
            _run(root, name, 900.0 / (i + 1) + m, 28.6 + 0.2 * i + 0.01 * m)
            runs[name] = (method, size)
    _run(root, "plain-M4C8-x4-nosize", 950.0, 28.5)  # a run whose train.json records no size
    record = json.loads((root / "plain-M4C8-x4-nosize" / "train.json").read_text())
    write_file(root / "plain-M4C8-x4-nosize" / "train.json", {**record, "size": None})
    runs["plain-M4C8-x4-nosize"] = ("plain", "not recorded")
    for name, (y, rgb) in FLOORS.items():
        write_file(root / name / "eval" / "Set5-x4.json", {"dataset": "Set5", "scale": 4, "psnr_y": y, "psnr_rgb": rgb})
    fig = figures.figure_tradeoff(report.build_context(root, PRESET))
    assert [ax.get_title().splitlines()[0] for ax in fig.axes] == ["x4, Y channel", "x4, RGB"]
    seen = _encoding(fig, runs)
    assert set(seen) == set(runs.values()) and all(len(pairs) == 1 for pairs in seen.values())
    drawn = {key: next(iter(pairs)) for key, pairs in seen.items()}
    sizes = {size for _, size in drawn}
    assert len(sizes) == 17 > len(MARKERS)  # the case that made B5 and M4C8 share a circle
    for (m1, s1), (m2, s2) in itertools.combinations(drawn, 2):
        if m1 == m2 and s1 != s2:  # no two sizes of one method look alike ...
            assert drawn[m1, s1] != drawn[m2, s2], (m1, s1, s2)
        if s1 != s2:  # ... and a marker names one size in the whole figure (the legend's promise)
            assert drawn[m1, s1][0] != drawn[m2, s2][0], (s1, s2)
        else:
            assert drawn[m1, s1][0] == drawn[m2, s2][0]  # one size, one marker, across methods and panels
    assert drawn["plain", "M4C8"][1] == METHOD_COLORS["plain"] and drawn["imdn", "B5"][1] == METHOD_COLORS["imdn"]
    # the legend: one entry per size, drawn with the marker its points have
    (legend,) = fig.legends
    entries = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}
    for (_, size), (marker, _) in drawn.items():
        assert entries[f"size {size}"].get_marker() == marker, size
    assert "size not recorded" in entries


def test_fig1_front_is_the_non_dominated_set_and_only_it_is_labelled(fig1: Any) -> None:
    ax = fig1.axes[0]
    expected = _non_dominated({**CROWD, **SLOW})  # the marked run is left out of the front
    assert expected == set(CROWD)
    (step,) = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-pre"]
    assert sorted(float(x) for x in step.get_xdata()) == sorted(CROWD[n][0] for n in expected)
    front = {CROWD[n]: model_label(n.split("-")[0], n.split("-")[1]) for n in expected}
    assert len(ax.texts) >= 2
    for text in ax.texts:  # each label sits on a front point and names that run's model
        assert front[tuple(float(v) for v in text.xy)] == text.get_text()


def test_fig1_labels_never_overlap_although_the_front_is_crowded(fig1: Any, ctx: report.ReportContext) -> None:
    renderer = fig1.canvas.get_renderer()
    for ax in fig1.axes:
        assert _overlapping(list(ax.texts), renderer) == []
        frame = ax.get_window_extent(renderer)
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    # The check can fail: labelling every front point at one offset, as the old figure did, overlaps here.
    naive = figures.figure_tradeoff(ctx)
    ax = naive.axes[0]
    for text in list(ax.texts):
        text.remove()
    notes = [ax.annotate(n, CROWD[n], xytext=(5, 4), textcoords="offset points", fontsize=7) for n in CROWD]
    naive.canvas.draw()
    assert _overlapping(notes, naive.canvas.get_renderer())


def test_svg_points_carry_hover_titles_naming_their_runs(runs_root: Path, tmp_path: Path) -> None:
    written = report.build_report(runs_root, tmp_path, preset=PRESET, only=["fig1", "fig6"])
    assert sorted(p.name for p in written) == ["fig1_tradeoff.png", "fig1_tradeoff.svg", "fig6_curves.png", "fig6_curves.svg"]
    for name, runs in (("fig1_tradeoff.svg", {**CROWD, **SLOW, **UNDER, **X2_RGB}), ("fig6_curves.svg", {**CROWD, **SLOW, **UNDER})):
        root = ET.fromstring((tmp_path / name).read_text())
        titled = {g.get("id"): g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.find(f"{SVG}title") is not None}
        for run in runs:
            assert any(t.startswith(f"{run}:") for t in titled.values()), (name, run)
        for g in root.iter(f"{SVG}g"):  # each title sits in the group of the marks it describes
            if g.get("id") in titled:
                assert g.find(f".//{SVG}use") is not None or g.find(f".//{SVG}path") is not None
    under = next(t for t in _svg_titles(tmp_path / "fig1_tradeoff.svg") if t.startswith("plain-M4C8-x4-under:"))
    assert "under-trained" in under and "Set5 PSNR-Y 27.50 dB" in under and "900.0 images/s" in under
    before = (tmp_path / "fig1_tradeoff.svg").read_bytes()
    report.build_report(runs_root, tmp_path, preset=PRESET, only=["fig1"])
    assert (tmp_path / "fig1_tradeoff.svg").read_bytes() == before  # titles and ids are deterministic


def test_fig1_says_where_a_panel_mixes_training_budgets(runs_root: Path, tmp_path: Path) -> None:
    """One budget: no budget line. A run trained longer in the panel: its title says the panel mixes budgets,
    and each point's hover title gives its iterations."""
    fig = figures.figure_tradeoff(report.build_context(runs_root, PRESET))
    assert not any("mixed budgets" in ax.get_title() for ax in fig.axes)
    root = tmp_path / PRESET
    shutil.copytree(runs_root, root)
    longer = root / next(iter(CROWD)) / "train.json"
    write_file(longer, {**json.loads(longer.read_text()), "iterations": 60})
    y4, x2 = figures.figure_tradeoff(report.build_context(root, PRESET)).axes
    assert "mixed budgets: 20-60 iterations (a longer-trained run may lead for that alone)" in y4.get_title()
    assert "mixed budgets" not in x2.get_title()
    report.build_report(root, tmp_path / "out", preset=PRESET, only=["fig1"])
    titles = _svg_titles(tmp_path / "out" / "fig1_tradeoff.svg")
    assert any(t.startswith(f"{next(iter(CROWD))}:") and "trained 60 iterations" in t for t in titles)


def _svg_titles(path: Path) -> list[str]:
    return [t.text or "" for t in ET.fromstring(path.read_text()).iter(f"{SVG}title")]


def test_fig6_colour_per_method_style_per_size_legend_outside_named_validation_set(ctx: report.ReportContext) -> None:
    fig = figures.figure_curves(ctx)
    fig.canvas.draw()
    ax_loss, ax_psnr = fig.axes
    assert ax_loss.get_xlabel() == ax_psnr.get_xlabel() == "iteration"
    assert ax_psnr.get_ylabel() == "PSNR-Y on 10 held-out training images (dB)"
    assert "10 images held out of DIV2K-train (holdout:10)" in ax_psnr.get_title()
    assert "intensities on [0, 1]" in ax_loss.get_ylabel()
    curves = ax_psnr.get_lines()
    assert len(curves) == len(CROWD) + 2  # Table 2's runs: every x4 Y run
    styles = {}
    for line in curves:
        run = next(n for n in {**CROWD, **SLOW, **UNDER} if _title(fig, line).startswith(f"{n}:"))
        method, size = run.split("-")[:2]
        assert line.get_color() == METHOD_COLORS[method]
        styles.setdefault(size, set()).add((line.get_marker(), str(line.get_linestyle())))
    assert all(len(s) == 1 for s in styles.values()) and len({next(iter(s)) for s in styles.values()}) == len(styles)
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)  # outside the axes
    assert len(legend.get_texts()) < len(curves)  # methods and sizes, not one entry per run


def test_fig1_pins_a_diverged_run_to_the_edge_instead_of_stretching_the_axis(tmp_path: Path) -> None:
    root = write_crowded_runs(tmp_path / PRESET)
    _run(root, "ecbsr-M10C16-x4-diverged", 50.0, 5.70)  # below bicubic: marked
    fig = figures.figure_tradeoff(report.build_context(root, PRESET))
    ax = fig.axes[0]  # x4, Y
    low, high = ax.get_ylim()
    assert 20.0 < low < 26.21 and high < 31.5  # the floors and the unmarked runs set the scale
    assert any("5.70 dB" in t.get_text() and "†" in t.get_text() for t in ax.texts)


def test_fig6_keeps_its_scale_when_a_run_diverges(tmp_path: Path) -> None:
    root = write_crowded_runs(tmp_path / PRESET)
    _run(root, "ecbsr-M10C16-x4-diverged", 50.0, 5.70)  # below bicubic: marked
    rows = ["iteration,loss,lr,seconds,val_psnr,event"] + [  # its loss explodes to about 1e4, as ECBSR M16C64's did
        f"{it},{0.2 * 10 ** (it / 4):.5f},0.001,{it / 10},{5.7 if it % 10 == 0 else ''},{'val' if it % 10 == 0 else ''}"
        for it in range(0, 21, 2)]
    (root / "ecbsr-M10C16-x4-diverged" / "metrics.csv").write_text("\n".join(rows) + "\n")
    ctx = report.build_context(root, PRESET)
    fig = figures.figure_curves(dataclasses.replace(ctx, curves=[*CROWD, "ecbsr-M10C16-x4-diverged"]))
    ax_loss = fig.axes[0]
    assert ax_loss.get_yscale() == "log" and ax_loss.get_ylim()[1] < 1.0  # the converged runs' losses set the scale
    assert any("off the scale" in t.get_text() and "ecbsr-M10C16-x4-diverged" in t.get_text() for t in ax_loss.texts)
    assert not any("off the scale" in t.get_text() for t in fig.axes[1].texts)  # 5.7 vs 20-30.5 dB: not far off


def test_off_scale_is_one_rule_for_both_figures() -> None:
    from repbench.report.plotting import off_scale

    # unmarked runs span 26-30 dB: twice that range beyond it is off the scale, less is drawn in place
    assert off_scale([5.7], 26.0, 30.0)
    assert not off_scale([20.0], 26.0, 30.0)
    assert off_scale([39.0], 26.0, 30.0) and not off_scale([39.0], 26.0, 30.0, below_only=True)
    # a log axis: a decade beyond the range
    assert off_scale([1e4, 0.03], 0.02, 0.05, log=True) and not off_scale([0.3], 0.02, 0.05, log=True)
    assert not off_scale([], 26.0, 30.0)
    # fig1 and fig6 both decide with it
    from repbench.report import fig_curves, fig_tradeoff
    assert fig_curves.off_scale is off_scale and fig_tradeoff.off_scale is off_scale


def test_runs_tied_on_one_network_share_one_front_label() -> None:
    import pandas as pd

    from repbench.report.fig_tradeoff import front_labels

    front = pd.DataFrame([
        {"run": "ecbsr-M4C8-x4", "label": "ECBSR-M4C8", "size": "M4C8", "throughput": 642.1, "psnr": 29.33},
        {"run": "repsr-M4C8-x4", "label": "RepSR-M4C8", "size": "M4C8", "throughput": 642.1, "psnr": 29.32},
        {"run": "ecbsr-M4C16-x4", "label": "ECBSR-M4C16", "size": "M4C16", "throughput": 420.3, "psnr": 29.64},
        {"run": "ecbsr-M4C16-x4-branched", "label": "ECBSR-M4C16", "size": "M4C16", "throughput": 420.3, "psnr": 29.68},
        {"run": "repsr-M4C16-x4", "label": "RepSR-M4C16", "size": "M4C16", "throughput": 420.3, "psnr": 29.69},
        {"run": "repvgg-M10C32-x4", "label": "RepVGG-M10C32", "size": "M10C32", "throughput": 97.9, "psnr": 30.25},
    ])
    labels = front_labels(front, "psnr", {"repvgg-M10C32-x4": ["why"]})
    assert labels == [(642.1, 29.33, ("ECBSR = RepSR M4C8", "2 tied M4C8")),
                      (420.3, 29.69, ("ECBSR ×2 = RepSR M4C16", "3 tied M4C16")), (97.9, 30.25, "RepVGG-M10C32 †")]


def test_a_label_that_does_not_fit_falls_back_to_its_short_form() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from repbench.report.labels import place_labels

    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    long = "Conv3XC = ECBSR ×2 = RepSR = DBB = OREPA M4C16 and more names than the axes are wide"
    drawn, left_out = place_labels(ax, [(0.5, 0.5)], [(0.5, 0.5, (long, "6 tied M4C16"))])
    assert [note.get_text() for note in drawn] == ["6 tied M4C16"] and left_out == []
    drawn, left_out = place_labels(ax, [(0.5, 0.5)], [(0.5, 0.5, long)])
    assert drawn == [] and left_out == [long]
    plt.close(fig)
