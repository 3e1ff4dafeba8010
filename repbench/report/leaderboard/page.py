"""The leaderboard page: one self-contained HTML file (jinja2 templates; style, script and plots inline,
so that it works offline from file://) and the CSV beside it."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from repbench.report.bn import bn_runs
from repbench.report.cells import mark_notes
from repbench.report.context import ReportContext
from repbench.report.front import PARETO_DEFINITION
from repbench.report.leaderboard.best import BEST_DEFINITION, best_in_size
from repbench.report.leaderboard.columns import Column, finished_cell, leaderboard_columns, row_cells, short_commit
from repbench.report.leaderboard.detail import artifact_rows, run_detail
from repbench.report.leaderboard.frame import leaderboard_csv, leaderboard_frame
from repbench.report.leaderboard.groups import ALL_GROUPS_CONVENTION, default_group, row_groups
from repbench.results.values import (
    REFERENCE_METHODS, as_int, is_blank, method_rank, channel_name, ordered_datasets,
)
from repbench.pipeline.targets import LEADERBOARD, target_files


def page_rows(ctx: ReportContext, frame: pd.DataFrame, columns: list[Column], datasets: list[str],
              rgb_datasets: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(table rows, per-run detail sections) of the page; each row carries its comparison groups."""
    by_name = {r.name: r for r in ctx.runs.runs}
    records = frame.to_dict("records")
    _, memberships = row_groups(records)
    best = best_in_size(records, memberships)
    rows, details = [], []
    for order, (r, groups) in enumerate(zip(records, memberships)):
        cells = row_cells(r, datasets, rgb_datasets)
        detail_id = None
        if r["kind"] in ("run", "published") and r["run"] in by_name:
            detail = run_detail(by_name[r["run"]], r, datasets)
            details.append(detail)
            detail_id = detail["id"]
        rows.append({
            "kind": r["kind"],
            "method": r["method"],
            "size": str(r.get("size") or ""),
            "scale": str(as_int(r.get("scale")) or ""),
            "colors": channel_name(r.get("colors")),
            "groups": " ".join(groups),
            "run": r.get("run") or "",
            "order": order,
            "pareto": bool(r.get("pareto")),
            "best": best[order],  # the best badge's hover text, "" when not the best of its size
            "detail_id": detail_id,
            "paper_id": r.get("paper_id") or "",
            "note": r.get("note") if isinstance(r.get("note"), str) else "",
            "cells": [cells[c.key] for c in columns],
        })
    return rows, details


def provenance_summary(frame: pd.DataFrame) -> str:
    """One sentence on when the runs finished and from which commits (train.json finished_at / git_commit)."""
    runs = [r for r in frame.to_dict("records") if r["kind"] == "run" and r["method"] not in REFERENCE_METHODS]
    if not runs:
        return ""
    dates = sorted(finished_cell(r.get("finished_at"))["text"] for r in runs if not is_blank(r.get("finished_at")))
    commits = Counter(short_commit(r.get("git_commit")) for r in runs if not is_blank(r.get("git_commit")))
    parts = []
    if dates:
        parts.append(f"Runs finished {dates[0]}" + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") + " (UTC)")
    if commits:
        listed = ", ".join(f"{c} ({n} run{'s' if n != 1 else ''})" for c, n in sorted(commits.items(), key=lambda kv: (-kv[1], kv[0])))
        parts.append(f"code at commit{'s' if len(commits) > 1 else ''} {listed}")
    unknown = sum(is_blank(r.get("finished_at")) and is_blank(r.get("git_commit")) for r in runs)
    if unknown:
        parts.append(f"{unknown} of {len(runs)} runs record neither (trained before train.json carried them)")
    return "; ".join(parts) + "."


def _score_datasets(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(test sets with a PSNR-Y anywhere, those with a PSNR-RGB of some RGB model)."""
    datasets = ordered_datasets(
        {c[len("psnr_y_"):] for c in frame.columns if c.startswith("psnr_y_") and frame[c].notna().any()}
    )
    rgb_models = frame["colors"].map(as_int) == 3
    rgb = [d for d in datasets if f"psnr_rgb_{d}" in frame and frame.loc[rgb_models, f"psnr_rgb_{d}"].notna().any()]
    return datasets, rgb


def render_leaderboard(ctx: ReportContext, tradeoff_svg: str, fig5_svg: str = "") -> tuple[str, str]:
    """(html, csv). The page inlines its style, script and plots: it works offline from file://.

    fig5_svg: Figure 5 as an inline <svg> (figures.figure_bn), shown in the BN artifact section."""
    import jinja2
    from markupsafe import Markup

    frame, ref_source = leaderboard_frame(ctx)
    datasets, rgb_datasets = _score_datasets(frame)
    columns = leaderboard_columns(datasets, rgb_datasets)
    rows, details = page_rows(ctx, frame, columns, datasets, rgb_datasets)
    groups, _ = row_groups(frame.to_dict("records"))
    shown = default_group(groups)
    bn_list = bn_runs(ctx)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("repbench", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for d in details:
        d["curves"] = [Markup(c) for c in d["curves"]]
    page = env.get_template("leaderboard.html.j2").render(
        preset=ctx.preset,
        runs_root=str(ctx.runs.root),
        csv_name=target_files(LEADERBOARD)[1],
        provenance=provenance_summary(frame),
        columns=columns,
        rows=rows,
        details=details,
        groups=groups,
        default_group=shown.key if shown else "",
        convention=shown.convention if shown else ALL_GROUPS_CONVENTION,
        budget_note=shown.budget_note if shown else "",
        all_groups_convention=ALL_GROUPS_CONVENTION,
        n_runs=sum(r["kind"] == "run" for r in rows),
        n_paper=sum(r["kind"] == "paper" for r in rows),
        n_published=sum(r["kind"] == "published" for r in rows),
        methods=sorted({r["method"] for r in rows}, key=lambda m: (method_rank(m), m)),
        reference_source=ref_source,
        pareto_definition=PARETO_DEFINITION,
        best_definition=BEST_DEFINITION,
        tradeoff_svg=Markup(tradeoff_svg),
        artifacts=artifact_rows(bn_list, {r.name: r for r in ctx.runs.runs}),
        fig5_svg=Markup(fig5_svg),
        fig5_images=[(r.label, r.profile_image) for r in bn_list if r.profile],
        # the notes are Markdown; the page shows plain text
        notes=[n.replace("`", "") for n in mark_notes(frame["run"].dropna(), ctx.marks(), ctx.restarts()) + ctx.runs.notes],
    )
    return page, leaderboard_csv(frame)

