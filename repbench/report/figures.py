"""The report's matplotlib figures (Agg backend, PNG + SVG, deterministic files).

    figure_tradeoff   Figure 1: PSNR vs throughput of the deployed networks, Pareto front dashed
    pareto_flags      the one Pareto front of the report (Figure 1 and the leaderboard's badge)
    figure_curves     Figure 6: training loss and validation PSNR per run (BN freeze marked)
    figure_bn         Figure 5: per BN layer, the image's feature statistics vs the population's
"""
from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from repbench.errors import RepbenchError
from repbench.report.bn import BnRun, fig5_profiles
from repbench.report.context import ReportContext
from repbench.report.checks import MARK
from repbench.report.runs import Run, members, primary_dataset
from repbench.report.seeds import base_id, seed_of
from repbench.report.values import (
    REFERENCE_METHODS, _int, _method_rank, _num, channel_name, dataset_label, method_label, model_label, write_atomic,
)


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG ids and no timestamp: reruns on unchanged runs give identical files.
    matplotlib.rcParams["svg.hashsalt"] = "repbench"
    matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as paths: the SVG needs no font files
    return plt


def _save_figure(fig: Any, stem: Path) -> list[Path]:
    out = []
    for ext, meta in ((".png", {"Software": None}), (".svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext[1:], dpi=150, bbox_inches="tight", metadata=meta)
        out.append(write_atomic(stem.with_suffix(ext), buf.getvalue()))
    return out


def figure_svg_text(fig: Any) -> str:
    """The figure as an inline <svg> element (XML declaration and DOCTYPE dropped)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return inline_svg(buf.getvalue())


_MARKERS = "osD^vP*Xph"


def pareto_mask(cost: Sequence[float], gain: Sequence[float]) -> list[bool]:
    """True where no other point has cost <= and gain >= with one of them strictly better."""
    points = list(zip(cost, gain))
    mask = []
    for i, (c, g) in enumerate(points):
        dominated = any(
            (c2 <= c and g2 >= g) and (c2 < c or g2 > g) for j, (c2, g2) in enumerate(points) if j != i
        )
        mask.append(not dominated)
    return mask


PARETO_DEFINITION = (
    "on the Pareto front of PSNR-Y ({dataset}) vs throughput within its scale and channels: no other run of the "
    "same scale and channels is at least as fast (images/s of the deployed network) and as good (PSNR-Y), and "
    "better in one"
)


def pareto_flags(frame: pd.DataFrame, dataset: str | None) -> pd.Series:
    """THE Pareto front of the report, shared by Figure 1's dashed line and the leaderboard's badge
    (PARETO_DEFINITION): per (scale, colors) group of trained runs with a throughput and a PSNR-Y on
    `dataset`. A group of one marks nothing: a lone model is trivially on its front."""
    flags = pd.Series(False, index=frame.index)
    psnr = f"psnr_y_{dataset}"
    if dataset is None or psnr not in frame or "throughput" not in frame:
        return flags
    ours = frame["kind"] == "run" if "kind" in frame else pd.Series(True, index=frame.index)
    ours &= ~frame["method"].isin(REFERENCE_METHODS)
    speed, score = pd.to_numeric(frame["throughput"], errors="coerce"), pd.to_numeric(frame[psnr], errors="coerce")
    scored = frame[ours & speed.notna() & score.notna()]
    for _, group in scored.groupby(["scale", "colors"], dropna=False):
        if len(group) < 2:
            continue
        mask = pareto_mask(list(-speed[group.index]), list(score[group.index]))
        flags.loc[group.index[mask]] = True
    return flags


def point_id(run: str) -> str:
    """The SVG id of a run's marker in Figure 1: the leaderboard attaches its hover text there."""
    return "tradeoff-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(run)).strip("-") or "run")


def _point_label(r: dict[str, Any], marks: dict[str, list[str]]) -> str:
    text = f"{r['size']} x{_int(r['scale'])}{' RGB' if _int(r.get('colors')) == 3 else ''}" if r.get("size") else r["run"]
    return text + (f" {MARK}" if r["run"] in marks else "")


def _draw_tradeoff(ax: Any, plt: Any, data: pd.DataFrame, dataset: str, marks: dict[str, list[str]]) -> None:
    psnr = f"psnr_y_{dataset}"
    cmap = plt.get_cmap("tab10")
    for i, method in enumerate(sorted(data["method"].unique(), key=_method_rank)):
        # One artist per marker, each with its own SVG id, so that a page can give every point a tooltip.
        for k, r in enumerate(data[data["method"] == method].to_dict("records")):
            point = ax.scatter([r["throughput"]], [r[psnr]], s=48, marker=_MARKERS[i % len(_MARKERS)], color=cmap(i % 10),
                               label=method_label(method) if k == 0 else "_nolegend_", zorder=3)
            point.set_gid(point_id(r["run"]))
            ax.annotate(_point_label(r, marks), (r["throughput"], r[psnr]), textcoords="offset points", xytext=(5, 4),
                        fontsize=7)
    on_front = data[pareto_flags(data, dataset)]
    for (scale, colors), front in on_front.groupby(["scale", "colors"], dropna=False):
        front = front.sort_values("throughput")
        # Rings mark the front's runs (a front of one run has no line to draw); dashes join them.
        line, = ax.plot(front["throughput"], front[psnr], "--", color="0.5", lw=1, marker="o", ms=11,
                        mfc="none", mec="0.5", zorder=2)
        line.set_gid(f"tradeoff-front-x{_int(scale)}-{channel_name(colors).lower() or 'unknown'}")


def figure_tradeoff(ctx: ReportContext) -> Any:
    plt = _matplotlib()
    wide = ctx.wide
    dataset = primary_dataset(wide)
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    data = wide[wide["throughput"].notna()] if "throughput" in wide else wide.iloc[0:0]
    if dataset is not None:
        data = data[data[f"psnr_y_{dataset}"].notna()]
    else:
        data = data.iloc[0:0]
    devices = sorted({str(d) for d in data.get("throughput_device", pd.Series(dtype=object)).dropna()})
    marks = ctx.marks()
    setting = sorted({
        f"{r['throughput_dtype']}, batch {_int(r['throughput_batch'])}, {_int(r['throughput_lr_width'])}x{_int(r['throughput_lr_height'])} LR"
        for r in data.to_dict("records") if r.get("throughput_dtype")
    })
    if len(data) == 0:
        ax.text(0.5, 0.5, "no run has both a throughput (repbench measure)\nand a PSNR (repbench eval) yet",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        title = f"PSNR vs throughput: nothing measured yet (preset {ctx.preset})"
    else:
        _draw_tradeoff(ax, plt, data, dataset, marks)
        ax.set_xscale("log")
        ax.set_xlabel("throughput of the deployed network (images/s, log scale)")
        ax.set_ylabel(f"PSNR on {dataset_label(dataset)}, Y channel (dB)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        title = f"PSNR ({dataset_label(dataset)}, Y) vs throughput on {', '.join(devices) or 'unknown device'}"
        if setting:
            title += "\n" + "; ".join(setting)
        title += f" — preset {ctx.preset}"
        if any(r in marks for r in data["run"]):
            title += f"\n{MARK}: under-trained (`repbench check`), not a result"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _curve_runs(ctx: ReportContext) -> list[Run]:
    by_name = {r.name: r for r in ctx.runs.runs}
    if ctx.curves:
        unknown = [c for c in ctx.curves if c not in by_name]
        if unknown:
            raise RepbenchError(
                f"--curves names unknown runs: {', '.join(unknown)}; runs under {ctx.runs.root}: {', '.join(sorted(by_name))}"
            )
        return [by_name[c] for c in ctx.curves]
    chosen = [by_name[n] for n in members(ctx.wide, "table2")["run"] if n in by_name]
    with_metrics = [r for r in chosen if r.metrics is not None]
    return with_metrics or [r for r in ctx.runs.runs if r.metrics is not None]


def figure_curves(ctx: ReportContext) -> Any:
    plt = _matplotlib()
    runs = _curve_runs(ctx)
    marks = ctx.marks()
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(11, 4.2))
    drawn = 0
    for i, run in enumerate(runs):
        m = run.metrics
        if m is None:
            continue
        color = plt.get_cmap("tab10")(i % 10)
        label = model_label(run.method, run.size, run.train.get("options")) + f" x{run.scale}"
        label += (f" seed {seed_of(run.name)}" if seed_of(run.name) else "") + (f" {MARK}" if base_id(run.name) in marks else "")
        loss = m[m["loss"].notna()] if "loss" in m else m.iloc[0:0]
        val = m[m["val_psnr"].notna()] if "val_psnr" in m else m.iloc[0:0]
        if len(loss):
            ax_loss.plot(loss["iteration"], loss["loss"], lw=1, color=color, label=label)
        if len(val):
            ax_psnr.plot(val["iteration"], val["val_psnr"], lw=1.2, marker="o", ms=3, color=color, label=label)
        drawn += bool(len(loss) or len(val))
        frozen = _num(run.train.get("bn_frozen_at"))
        if frozen is not None:
            for ax in (ax_loss, ax_psnr):
                ax.axvline(frozen, color=color, ls=":", lw=1)
    if drawn == 0:
        for ax in (ax_loss, ax_psnr):
            ax.text(0.5, 0.5, "no metrics.csv yet (repbench train writes it)", ha="center", va="center", transform=ax.transAxes)
    ax_loss.set_title("training loss (L1)", fontsize=10)
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    if drawn and (pd.concat([r.metrics["loss"] for r in runs if r.metrics is not None and "loss" in r.metrics]) > 0).all():
        ax_loss.set_yscale("log")
    ax_psnr.set_title("validation PSNR (Y)", fontsize=10)
    ax_psnr.set_xlabel("iteration")
    ax_psnr.set_ylabel("PSNR (dB)")
    for ax in (ax_loss, ax_psnr):
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(fontsize=7)
    flagged = f"; {MARK}: under-trained (`repbench check`)" if any(base_id(r.name) in marks for r in runs) else ""
    fig.suptitle(f"Training curves (dotted: BN frozen{flagged}) — preset {ctx.preset}", fontsize=10)
    fig.tight_layout()
    return fig


def figure_bn(runs: Sequence[BnRun]) -> dict[str, bytes]:
    """Figure 5 as {".png": bytes, ".svg": bytes}, drawn by repbench.bn.stats.plot_bn_profile (one labelled
    profile per BN run); {} when no run has a profile.

    plot_bn_profile writes files itself, so it draws into a temporary folder and the caller writes the
    bytes atomically. Its SVG carries the save time and the matplotlib version: both are dropped, like
    the other figures' metadata, so that a rerun on unchanged runs gives an identical file."""
    from repbench.bn import stats as bn_stats

    profiles = fig5_profiles(list(runs))
    if not profiles:
        return {}
    _matplotlib()  # the deterministic SVG settings apply to plot_bn_profile's figure too
    with tempfile.TemporaryDirectory(prefix="repbench-fig5-") as tmp:
        paths = bn_stats.plot_bn_profile(profiles, Path(tmp) / "fig5_bn_stats")
        files = {path.suffix: path.read_bytes() for path in paths}
    svg = files[".svg"].decode("utf-8")
    svg = re.sub(r"\n *<dc:date>[^<]*</dc:date>", "", svg)
    svg = re.sub(r"\n *<dc:creator>.*?</dc:creator>", "", svg, flags=re.S)
    files[".svg"] = svg.encode("utf-8")
    return files


def inline_svg(svg: bytes | str) -> str:
    """An SVG file's text as an inline <svg> element (XML declaration and DOCTYPE dropped)."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    return text[text.index("<svg"):]
