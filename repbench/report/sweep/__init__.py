"""Budget sweeps (workflow/presets/sweep.yaml): every model trained at budgets of 100 to 6,400 iterations.

    render_sweep(ctx, experiment)   `<experiment>.md` (ranking per budget, crossings, time to bicubic + 1.0 /
                                    + 1.5 dB, every run) and the figure `<experiment>.png/.svg` (PSNR against
                                    iterations, measured training seconds and training FLOPs)

Modules: `data` (curves, ranking, crossings, time-to-PSNR), `tables` (the Markdown), `figure` (matplotlib).
"""
from __future__ import annotations

from typing import Any

from repbench.report.cells import mark_notes
from repbench.report.context import ReportContext
from repbench.report.markdown import footer, header
from repbench.report.plotting import channel_words
from repbench.results import frame_datasets
from repbench.report.sweep.data import curves as sweep_curves
from repbench.report.sweep.data import sweep_rows
from repbench.report.sweep.figure import figure_sweep
from repbench.report.sweep.tables import crossing_lines, ranking_table, run_table, sweep_words, time_to_table
from repbench.report.tables.floors import floor_hint, floor_rows
from repbench.results.values import as_float, dataset_label

__all__ = ["render_sweep"]
SCALE = 4


def _hint(experiment: str) -> str:
    return (f"No run of this preset is in the `{experiment}` experiment yet: the sweep preset trains it, "
            f"`snakemake --cores all results/{experiment}.md --config preset=sweep` (README, \"Budget sweep\").")


def _device(rows: Any) -> str:
    devices = sorted({str(d) for d in rows.get("train_device", []) if isinstance(d, str) and d})
    return f" on {devices[0]}" if len(devices) == 1 else ""


def render_sweep(ctx: ReportContext, experiment: str = "sweep") -> tuple[str, Any]:
    """The sweep's Markdown and its figure (a matplotlib Figure: the caller saves and closes it)."""
    rows = sweep_rows(ctx.wide, experiment)
    rows = rows[rows["scale"] == SCALE]
    curves, notes = sweep_curves(rows)
    prefix, channel = channel_words(rows["colors"].iloc[0] if len(rows) else 1)
    floors = floor_rows(ctx.wide, SCALE)
    sets = [d for d in frame_datasets(ctx.wide) if rows[f"{prefix}_{d}"].notna().any()] if len(rows) else []
    bicubic = floors[floors["method"] == "bicubic"]
    floor_of = {f"{prefix}_{d}": as_float(bicubic[f"{prefix}_{d}"].iloc[0]) if len(bicubic) else None for d in sets}
    sizes = ", ".join(dict.fromkeys(c.size for c in curves)) or "no runs yet"
    title = f"Budget sweep `{experiment}`: PSNR against the training budget ({sizes}; x{SCALE}, {channel} channel)"
    lines = header(title, ctx.preset, ctx.runs, None, sweep_words(channel, dataset_label(sets[0]) if sets else "first test set"),
                   shown=rows["run"])
    lines += [f"Figure: `{experiment}.png` / `{experiment}.svg` (PSNR against iterations, measured training seconds "
              "and training FLOPs).", ""]
    if not curves:
        lines += [_hint(experiment), ""]
    marks = ctx.marks()
    if curves and sets:
        lines += ["## Ranking at each budget", ""]
        for d in sets:
            lines += ranking_table(curves, f"{prefix}_{d}", f"PSNR-{channel} on {dataset_label(d)}")
        lines += ["## Where the curves cross", ""]
        for d in sets:
            lines += crossing_lines(curves, f"{prefix}_{d}", dataset_label(d))
        first = sets[0]
        lines += ["", f"## Time to bicubic + 1.0 dB and + 1.5 dB on {dataset_label(first)}", ""]
        lines += time_to_table(curves, f"{prefix}_{first}", dataset_label(first), floor_of[f"{prefix}_{first}"])
    if curves:
        lines += ["## Every run", ""] + run_table(curves, [(f"{prefix}_{d}", dataset_label(d)) for d in sets])
    notes += mark_notes(rows["run"], marks, ctx.restarts()) + floor_hint(floors, SCALE) + ctx.runs.notes
    fig = figure_sweep(curves, [(f"{prefix}_{d}", d) for d in sets], floor_of, marks,
                       f"Budget sweep ({experiment}), preset {ctx.preset}: PSNR-{channel} against the training budget",
                       _hint(experiment), _device(rows), channel)
    return "\n".join(lines + footer(notes)).rstrip() + "\n", fig
