"""The NTIRE 2022 companion paper's tables (IMDN + collapsible linear blocks) from run folders.

    ntire_table2.md   baseline -> pruning -> + collapsible linear blocks -> + two-stage training
    ntire_table3.md   the number of IMDBs, B = 8..4
    ntire_table5.md   the second-stage patch size of two-stage training

Runs come from `runs.load_runs` / `tidy_frame` / `wide_frame` like every other table; this module
adds what only these tables need: the training schedule from each run's config.yaml
(`patch_size`, `patch_size_stage2`, `stage2_start`), the runtime per image from its eval record,
and the challenge's conventions (RGB PSNR on the validation set, FLOPs at a 256x256 LR input).

Rows are recognised from what a run is (method, `B{n}` size, one or two training stages), never from
its folder name. Scaled-down presets train other depths and patch sizes than the paper's (e.g. B2 / B1
with 16-pixel patches): each paper row is then filled by the run in the same *role* (the deepest IMDN
is the baseline, the depth of the IMDN-CLB runs is the pruned one, stage-2 patch sizes in increasing
order), and the table shows both our and the paper's depth and patches so the difference stays visible.
"""
from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from repbench.errors import RepbenchError
from repbench.report.context import ReportContext
from repbench.report.markdown import _delta, _fill_hint, _footer, _header, _md_table, fmt_delta, fmt_float, fmt_int
from repbench.report.cells import mark_notes
from repbench.report.checks import MARK
from repbench.report.runs import Run
from repbench.report.seeds import SPREAD_WORDS, spread
from repbench.report.values import MISSING, REFERENCE_METHODS, _int, _num, dataset_label, ordered_datasets, relevant_options

SOURCE = "ntire2022"  # repbench/references/ntire2022.yaml
METHODS = ("imdn", "imdn-clb")
SCALE, COLORS = 4, 3  # every row of the paper is x4 RGB
PREFERRED_DATASET = "div2k_val"  # the challenge's validation set (values.dataset_key("DIV2K-valid"))
FLOPS_SIDE = 256  # the challenge counts FLOPs for one 256x256 LR input
PAPER_STAGE2_PATCH = 160  # "In the second stage, we increase the patch size to 160x160" (Table 2's two-stage row)


# --------------------------------------------------------------------------- one run, as these tables see it


@dataclass(frozen=True)
class NtireRun:
    """A finished imdn / imdn-clb run: raw numbers only; None where the run folder lacks them."""

    name: str
    method: str
    blocks: int | None  # B of the `B{n}` size
    patch_size: int | None  # LR patch side of stage 1 (of the whole run when one-stage)
    patch_size_stage2: int  # 0: one stage
    stage2_start: int | None  # first iteration of stage 2
    iterations: int | None
    train_data: str | None
    sec_per_iter: float | None  # train.json: wall time / iterations over the whole run
    stage2_sec_per_iter: float | None  # metrics.csv: stage 2 alone (two-stage runs)
    params: int | None  # deployed (merged) count
    macs: int | None  # measure.json, deployed net, at macs_lr_hw
    macs_lr_hw: tuple[int, int] | None
    psnr: float | None  # RGB PSNR on the chosen validation set
    border: int | None
    runtime_s: float | None  # seconds per image
    runtime_forward: bool  # True: mean of per-image forward times; False: eval wall time / images
    declared: tuple[str, ...] | None  # train.json `experiments`, when it names tables itself
    marked: bool = False  # `repbench check` found it under-trained (its rows carry the †)
    psnr_std: float | None = None  # sample std of the PSNR over seeds (None: one seed)
    n_seeds: int = 1

    @property
    def two_stage(self) -> bool:
        return self.patch_size_stage2 > 0

    @property
    def flops_256(self) -> float | None:
        return macs_at(self.macs, self.macs_lr_hw)


@dataclass
class NtireData:
    dataset: str | None  # dataset key of the PSNR column, None when no run was evaluated
    dataset_name: str
    runs: list[NtireRun]
    notes: list[str] = field(default_factory=list)
    floors: list[tuple[str, str, float | None]] = field(default_factory=list)  # (label, folder, RGB PSNR)
    marks: dict[str, list[str]] = field(default_factory=dict)  # base run id -> why it is under-trained

    def of(self, table: str) -> list[NtireRun]:
        """The runs a table may use: those declaring it, or every run that declares nothing."""
        return [r for r in self.runs if r.declared is None or table in r.declared]


def macs_at(macs: Any, lr_hw: tuple[int, int] | None, side: int = FLOPS_SIDE) -> float | None:
    """MACs at a side x side LR input from a count at lr_hw. Every layer of IMDN is a convolution (or
    a pixel shuffle) applied at each LR pixel, so the count is proportional to the pixel count: the
    scaling is exact, not an estimate."""
    count = _num(macs)
    if count is None or lr_hw is None or lr_hw[0] <= 0 or lr_hw[1] <= 0:
        return None
    return count * side * side / (lr_hw[0] * lr_hw[1])


def blocks_of(size: Any) -> int | None:
    match = re.fullmatch(r"B(\d+)", str(size or ""))
    return int(match.group(1)) if match else None


def runtime_per_image(record: dict[str, Any]) -> tuple[float | None, bool]:
    """(seconds per image, measured-forward?). The per-image forward time is the challenge's runtime;
    eval records without it only have the wall time of the whole evaluation (scoring included)."""
    per_image = record.get("per_image") if isinstance(record.get("per_image"), list) else []
    times = [_num(p.get("infer_seconds")) for p in per_image if isinstance(p, dict)]
    if times and all(t is not None for t in times):
        return statistics.fmean(t for t in times if t is not None), True
    seconds = _num(record.get("seconds"))
    count = _int(record.get("n_images")) or len(per_image)
    return (seconds / count, False) if seconds is not None and count else (None, False)


def stage2_sec_per_iter(metrics: pd.DataFrame | None, stage2_start: int | None) -> float | None:
    """Seconds per iteration of stage 2 alone, from the cumulative training time in metrics.csv.
    train.json's sec_per_iter averages both stages, which hides what the larger patches cost."""
    if metrics is None or not stage2_start or not {"iteration", "seconds"} <= set(metrics.columns):
        return None
    log = metrics[["iteration", "seconds"]].dropna().drop_duplicates("iteration", keep="last")
    log = log[log["iteration"] >= stage2_start].sort_values("iteration")
    if len(log) < 2:
        return None
    first, last = log.iloc[0], log.iloc[-1]
    return float((last["seconds"] - first["seconds"]) / (last["iteration"] - first["iteration"]))


def _read_config(run: Run, notes: list[str]) -> dict[str, Any]:
    path = run.path / "config.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        notes.append(f"`{run.name}`: config.yaml is not valid YAML ({err}); its schedule is read from train.json")
        return {}
    return data if isinstance(data, dict) else {}


def _schedule(run: Run, notes: list[str]) -> dict[str, Any]:
    """config.yaml (the full resolved config) first, train.json as a fallback for each field."""
    config = _read_config(run, notes)

    def get(key: str) -> Any:
        return config[key] if config.get(key) is not None else run.train.get(key)

    if not config and run.train.get("patch_size_stage2") is None:
        notes.append(f"`{run.name}`: no config.yaml, so it is taken as one-stage training")
    return {
        "patch_size": _int(get("patch_size")),
        "patch_size_stage2": _int(get("patch_size_stage2")) or 0,
        "stage2_start": _int(get("stage2_start")),
        "iterations": _int(get("iterations")),
        "train_data": get("train_data"),
    }


def _is_candidate(row: dict[str, Any]) -> bool:
    return (
        row["method"] in METHODS
        and _int(row.get("scale")) == SCALE
        and _int(row.get("colors")) == COLORS
        and not relevant_options(row["method"], row.get("options_dict"))  # e.g. channels=32 is another network
    )


def _choose_dataset(runs: Iterable[Run]) -> tuple[str | None, str]:
    """DIV2K-valid when any run was scored on it, else the first test set with an RGB PSNR."""
    names: dict[str, str] = {}
    for run in runs:
        for key, record in run.evals.items():
            if _num(record.get("psnr_rgb")) is not None:
                names.setdefault(key, str(record.get("dataset") or key))
    if not names:
        return None, MISSING
    key = PREFERRED_DATASET if PREFERRED_DATASET in names else ordered_datasets(names)[0]
    return key, dataset_label(key, names[key])


def collect(ctx: ReportContext) -> NtireData:
    by_name = {r.name: r for r in ctx.runs.runs}
    rows = [r for r in ctx.wide.to_dict("records") if _is_candidate(r) and r["run"] in by_name]
    key, name = _choose_dataset(by_name[r["run"]] for r in rows)
    notes: list[str] = []
    marks = ctx.marks()
    floor_frame = ctx.wide[ctx.wide["method"].isin(REFERENCE_METHODS) & (ctx.wide["scale"] == SCALE)]
    floors = sorted(((str(r["label"]), str(r["run"]), _num(r.get(f"psnr_rgb_{key}")) if key else None)
                     for r in floor_frame.to_dict("records")), key=lambda f: f[0] != "Nearest")
    runs = []
    for row in rows:
        run = by_name[row["run"]]
        sched = _schedule(run, notes)
        record = run.evals.get(key, {}) if key else {}
        runtime, forward = runtime_per_image(record)
        h, w = _int(row.get("macs_lr_height")), _int(row.get("macs_lr_width"))
        declared = row.get("declared_experiments")
        runs.append(NtireRun(
            name=run.name,
            method=run.method,
            blocks=blocks_of(run.size),
            patch_size=sched["patch_size"],
            patch_size_stage2=sched["patch_size_stage2"],
            stage2_start=sched["stage2_start"],
            iterations=sched["iterations"] or _int(row.get("iterations")),
            train_data=sched["train_data"],
            sec_per_iter=_num(row.get("sec_per_iter")),
            stage2_sec_per_iter=stage2_sec_per_iter(run.metrics, sched["stage2_start"]) if sched["patch_size_stage2"] else None,
            params=_int(row.get("params_deployed")),
            macs=_int(row.get("macs")),
            macs_lr_hw=(h, w) if h and w else None,
            psnr=_num(row.get(f"psnr_rgb_{key}")) if key else None,
            border=_int(record.get("border")),
            runtime_s=runtime,
            runtime_forward=forward,
            declared=tuple(declared) if isinstance(declared, list) else None,
            marked=run.name in marks,
            psnr_std=spread(row, f"psnr_rgb_{key}")[1] if key else None,
            n_seeds=spread(row, f"psnr_rgb_{key}")[2] if key else 1,
        ))
    runs.sort(key=lambda r: (METHODS.index(r.method), -(r.blocks or 0), r.patch_size_stage2, r.name))
    return NtireData(key, name, runs, notes, floors, marks)


# --------------------------------------------------------------------------- paper side


def _target(table: str, ctx: ReportContext) -> dict[str, Any]:
    """A table's `target` (the challenge constraints), which references.Reference does not keep."""
    path = ctx.references_dir / f"{SOURCE}.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RepbenchError(f"reference file {path} is not valid YAML: {err}") from err
    spec = (data.get("tables") or {}).get(table) or {}
    target = spec.get("target") if isinstance(spec, dict) else None
    return target if isinstance(target, dict) else {}


_OPS = {">=": "≥", "<=": "≤"}


def fmt_target(entry: Any, digits: int) -> str:
    """{op: '>=', value: 29} -> '≥ 29.00'; a plain number as it is; nothing -> ''."""
    if isinstance(entry, dict):
        op = str(entry.get("op") or "")
        return f"{_OPS.get(op, op)} {fmt_float(entry.get('value'), digits)}".strip()
    return fmt_float(entry, digits) if _num(entry) is not None else ""


def paper_flops(ctx: ReportContext) -> dict[int, float]:
    """Paper FLOPs (G, 256x256 LR) by B: Table 4's IMDN rows, plus its Target row, which carries the
    B = 8 baseline's FLOPs (see the table's note)."""
    ref = ctx.ref("table4", SOURCE)
    out = {b: v for r in ref.rows if not r.get("external") and r.get("method") == "imdn"
           if (b := blocks_of(r.get("size"))) is not None and (v := _num(r.get("flops_g"))) is not None}
    base = _num(_target("table4", ctx).get("flops_g"))
    if base is not None:
        out.setdefault(8, base)
    return out


# --------------------------------------------------------------------------- matching runs to paper rows


def depth_map(runs: Sequence[NtireRun], paper_base: int, paper_pruned: int) -> dict[int, int | None]:
    """The paper's baseline / pruned depth -> the depth our runs use for that role.

    The pruned depth is the one the IMDN-CLB runs train (the paper's, when present); the baseline is
    the deepest IMDN above it. A preset that trains the paper's depths maps them to themselves."""
    imdn = {r.blocks for r in runs if r.method == "imdn" and r.blocks is not None}
    clb = {r.blocks for r in runs if r.method == "imdn-clb" and r.blocks is not None}
    if paper_pruned in (clb or imdn):
        pruned: int | None = paper_pruned
    elif clb:
        pruned = max(clb)
    else:
        pruned = sorted(imdn)[-2] if len(imdn) >= 2 else None
    deeper = {b for b in imdn if pruned is None or b > pruned}
    base = paper_base if paper_base in deeper else (max(deeper) if deeper else None)
    return {paper_base: base, paper_pruned: pruned}


def pair_stage2(runs: Sequence[NtireRun], paper_patches: Sequence[int]) -> tuple[dict[int, NtireRun], list[NtireRun]]:
    """Two-stage runs -> the paper's stage-2 patch sizes; returns (paired, left over).

    Runs at the paper's own patch sizes pair exactly. A scaled-down preset trains none of them, so its
    runs pair in increasing stage-2 patch order (the smallest plays the paper's 160, the next its 256)."""
    ordered = sorted(runs, key=lambda r: (r.patch_size_stage2, r.name))
    paired: dict[int, NtireRun] = {}
    rest: list[NtireRun] = []
    exact = any(r.patch_size_stage2 in paper_patches for r in ordered)
    free = sorted(paper_patches)
    for run in ordered:
        if exact:
            slot = run.patch_size_stage2 if run.patch_size_stage2 in free else None
        else:
            slot = free[0] if free else None
        if slot is None:
            rest.append(run)
        else:
            paired[slot] = run
            free.remove(slot)
    return paired, rest


def _first(runs: Iterable[NtireRun]) -> tuple[NtireRun | None, list[NtireRun]]:
    """The first run and the rest (runs are already sorted by name within a role)."""
    found = list(runs)
    return (found[0], found[1:]) if found else (None, [])


def _stage2_patches(ctx: ReportContext) -> list[int]:
    ref = ctx.ref("table5", SOURCE)
    patches = [_int(r.get("patch_size")) for r in ref.rows if _int(r.get("stage")) == 2]
    return [p for p in patches if p is not None] or [PAPER_STAGE2_PATCH]


# --------------------------------------------------------------------------- cell helpers


def _psnr_cell(run: NtireRun | None) -> str:
    """The run's PSNR; with several seeds, their mean ± sample std (n)."""
    if run is None or run.psnr is None:
        return MISSING
    if run.n_seeds >= 2:
        return f"{fmt_float(run.psnr, 2)} ± {fmt_float(run.psnr_std, 2)} (n={run.n_seeds})"
    return fmt_float(run.psnr, 2)


def _seed_words(runs: Iterable[NtireRun | None]) -> str:
    return f" {SPREAD_WORDS}." if any(r is not None and r.n_seeds >= 2 for r in runs) else ""


def _run_cell(run: NtireRun | None) -> str:
    return (f"`{run.name}`" + (f" {MARK}" if run.marked else "")) if run else "no run"


def _with_floors(rows: list[dict[str, str]], data: NtireData, first: str) -> list[dict[str, str]]:
    """The nearest and bicubic floors (RGB PSNR on the same set, x4) above the runs' rows."""
    if not rows:
        return rows
    floors = [{k: "" for k in rows[0]} | {first: f"{label} (floor)", "Run": f"`{folder}`", "PSNR": fmt_float(psnr, 2)}
              for label, folder, psnr in data.floors]
    return floors + rows


def _floor_notes(data: NtireData, runs: Iterable[NtireRun | None]) -> list[str]:
    notes = mark_notes((r.name for r in runs if r is not None), data.marks)
    if not data.floors:
        notes.append(f"no floor rows: `repbench eval --model bicubic --scale {SCALE} --dataset SET --out "
                     f"RUNS/bicubic-x{SCALE}/eval/SET-x{SCALE}.json` (and `--model nearest`) add them")
    return notes


def _patch_text(run: NtireRun | None) -> str:
    if run is None:
        return MISSING
    first = str(run.patch_size) if run.patch_size else MISSING
    if not run.two_stage:
        return first
    start = f" from it. {fmt_int(run.stage2_start)}" if run.stage2_start is not None else ""
    return f"{first} → {run.patch_size_stage2}{start}"


def _blocks_text(ours: int | None, paper: int | None) -> str:
    if ours is None:
        return str(paper) if paper is not None else MISSING
    return str(ours) if paper is None or ours == paper else f"{ours} (paper {paper})"


def _millions(count: Any) -> float | None:
    value = _num(count)
    return value / 1e6 if value is not None else None


def _percent_change(value: Any, base: Any) -> str:
    a, b = _num(value), _num(base)
    return fmt_delta(100 * (a / b - 1), 1) + "%" if a is not None and b else MISSING


def _ms(seconds: Any) -> float | None:
    value = _num(seconds)
    return value * 1e3 if value is not None else None


def _runtime_header(runs: Iterable[NtireRun | None]) -> tuple[str, Callable[[NtireRun | None], str], str]:
    """(column name, cell formatter, header sentence) for the runtime column.

    A forward-time column only when every shown run has per-image forward times; otherwise the
    column says which cells are eval wall time (which includes reading and scoring the images)."""
    timed = [r for r in runs if r is not None and r.runtime_s is not None]
    forward = [r.runtime_forward for r in timed]
    if forward and all(forward):
        name = "Runtime (ms, forward)"
        text = "*Runtime* is the mean model forward time per image of `repbench eval` (`per_image[].infer_seconds`)."
    elif forward and not any(forward):
        name = "Runtime (ms, eval wall / image)"
        text = ("*Runtime* is the eval's whole wall time divided by its images (reading, inference and scoring): "
                "an upper bound on the forward time, since these eval records carry no per-image forward time.")
    else:
        name = "Runtime (ms; * = eval wall / image)"
        text = ("*Runtime* is the mean model forward time per image where the eval record has it; cells marked * "
                "are the eval's whole wall time per image (reading and scoring included).")

    def cell(run: NtireRun | None) -> str:
        if run is None or run.runtime_s is None:
            return MISSING
        mark = "" if run.runtime_forward or not (forward and any(forward)) else "*"
        return fmt_float(_ms(run.runtime_s), 2) + mark

    return name, cell, text


def _conventions(data: NtireData, runs: Iterable[NtireRun | None], costs: bool = True) -> str:
    """The header sentence on PSNR (set, channel, border) and, with `costs`, on params and FLOPs."""
    runs = list(runs)
    borders = sorted({r.border for r in runs if r is not None and r.border is not None})
    border = ", ".join(str(b) for b in borders) if borders else "= scale"
    where = (f"on **{data.dataset_name}**" if data.dataset else "on the validation set (no run was evaluated yet)")
    text = (
        f"*PSNR* is RGB PSNR {where}, border {border} shaved, as in the challenge (the paper scores DIV2K-valid; "
        "a preset without DIV2K-valid evals is scored on its first evaluated set)."
    )
    text += _seed_words(runs)
    if costs:
        text += (
            " *Params* is the deployed (merged) network's `sum(p.numel())`. *FLOPs* are the MACs of the deployed "
            f"network for one {FLOPS_SIDE}x{FLOPS_SIDE} LR input (the challenge's convention), scaled from "
            f"measure.json's count at its LR size by {FLOPS_SIDE}² / (lr_h x lr_w): exact for these fully "
            "convolutional networks, whose every layer runs once per LR pixel. *FLOPs paper* is the paper's "
            "Table 4 (printed for B = 8, its Target row, and B = 7 only)."
        )
    return text


def _missing_notes(runs: Iterable[NtireRun | None]) -> list[str]:
    shown = [r for r in runs if r is not None]
    notes = []
    no_measure = [r.name for r in shown if r.params is None and r.macs is None]
    no_eval = [r.name for r in shown if r.psnr is None]
    if no_measure:
        notes.append("no measure.json yet (run `repbench measure`): " + ", ".join(f"`{n}`" for n in no_measure))
    if no_eval:
        notes.append("no RGB PSNR on the chosen set yet (run `repbench eval`): " + ", ".join(f"`{n}`" for n in no_eval))
    return notes


def _finish(lines: list[str], notes: list[str]) -> str:
    return "\n".join(lines + _footer(notes)).rstrip() + "\n"


def _table_lines(rows: list[dict[str, str]], left: Iterable[str]) -> list[str]:
    left = set(left)
    return [_md_table(rows, {k for k in rows[0] if k not in left}), ""] if rows else []


# --------------------------------------------------------------------------- ntire_table2


def render_table2(ctx: ReportContext, data: NtireData | None = None) -> str:
    data = data or collect(ctx)
    ref = ctx.ref("table2", SOURCE)
    target = _target("table2", ctx)
    runs = data.of("ntire_table2")
    paper_b = [blocks_of(p.get("size")) for p in ref.rows]
    paper_base = max((b for b in paper_b if b is not None), default=8)
    paper_pruned = min((b for b in paper_b if b is not None), default=7)
    depths = depth_map(runs, paper_base, paper_pruned)
    flops = paper_flops(ctx)

    def pick(paper: dict[str, Any]) -> NtireRun | None:
        method, b = paper.get("method"), blocks_of(paper.get("size"))
        two_stage = bool((paper.get("training") or {}).get("two_stage"))
        ours_b = depths.get(b, b) if b is not None else None
        same = [r for r in runs if r.method == method and r.blocks == ours_b and r.two_stage == two_stage]
        if two_stage:  # the run playing the paper's 160-pixel second stage, as in ntire_table5
            paired, _ = pair_stage2(same, _stage2_patches(ctx))
            return paired.get(PAPER_STAGE2_PATCH) or _first(same)[0]
        return _first(same)[0]

    picked = [(p, pick(p)) for p in ref.rows]
    runtime_name, runtime_cell, runtime_text = _runtime_header(r for _, r in picked)
    base_run = picked[0][1] if picked else None
    base_paper = picked[0][0] if picked else {}
    rows: list[dict[str, str]] = []
    prev: tuple[NtireRun | None, dict[str, Any] | None] = (None, None)
    for i, (paper, run) in enumerate(picked):
        psnr, paper_psnr = run.psnr if run else None, _num(paper.get("val_psnr_db"))
        params, paper_params = _millions(run.params) if run else None, _num(paper.get("params_m"))
        b = blocks_of(paper.get("size"))
        rows.append({
            "Row": str(paper.get("label", "")),
            "Run": _run_cell(run),
            "B": _blocks_text(run.blocks if run else None, b),
            "LR patches": _patch_text(run),
            "PSNR": _psnr_cell(run),
            "PSNR paper": fmt_float(paper_psnr, 2),
            "Δ PSNR": fmt_delta(_delta(psnr, paper_psnr), 2),
            "Step": fmt_delta(_delta(psnr, prev[0].psnr if prev[0] else None), 2) if i else "",
            "Step paper": fmt_delta(_delta(paper_psnr, (prev[1] or {}).get("val_psnr_db")), 2) if i else "",
            "Params (M)": fmt_float(params, 4),
            "Params paper": fmt_float(paper_params, 4),
            "Δ Params": fmt_delta(_delta(params, paper_params), 4),
            f"FLOPs {FLOPS_SIDE}² (G)": fmt_float(run.flops_256 / 1e9 if run and run.flops_256 is not None else None, 2),
            "FLOPs paper": fmt_float(flops.get(b) if b is not None else None, 2),
            runtime_name: runtime_cell(run),
            "Runtime paper (ms)": fmt_float(paper.get("val_time_ms"), 2),
            "Runtime vs baseline": _percent_change(run.runtime_s, base_run.runtime_s) if i and run and base_run else "",
            "Paper vs baseline": _percent_change(paper.get("val_time_ms"), base_paper.get("val_time_ms")) if i else "",
        })
        prev = (run, paper)
    if target and rows:
        rows.append({k: "" for k in rows[0]} | {
            "Row": "Target (challenge constraints)",
            "PSNR paper": fmt_target(target.get("val_psnr_db"), 2),
            "Params paper": fmt_target(target.get("params_m"), 4),
            "Runtime paper (ms)": fmt_target(target.get("val_time_ms"), 2),
        })

    lines = _header(
        "NTIRE 2022 Table 2: effect of each component (IMDN + collapsible linear blocks, x4 RGB)",
        ctx.preset, ctx.runs.root, ref,
        _conventions(data, (r for _, r in picked)) + " " + runtime_text + " The paper's runtimes come from the "
        "challenge's GPU server, so compare runtimes as the change vs the baseline row, not in ms. *Step* is the "
        "PSNR change from the row above (what each component adds). *B* and *LR patches* are ours; a scaled-down "
        "preset fills each row with the run in the same role (deepest IMDN = baseline, the IMDN-CLB depth = pruned).",
    )
    if not any(r for _, r in picked):
        lines += [_fill_hint("ntire_table2", "x4 RGB runs of imdn (the baseline depth and the pruned one) and "
                             "imdn-clb at the pruned depth, one-stage and two-stage (config.yaml patch_size_stage2 > 0)"), ""]
    lines += _table_lines(_with_floors(rows, data, "Row"), ("Row", "Run", "B", "LR patches"))
    notes = _floor_notes(data, (r for _, r in picked)) + list(ref.notes)
    used = {r.name for _, r in picked if r}
    others = [r.name for r in runs if r.two_stage and r.name not in used and r.method == "imdn-clb"]
    if others:
        notes.append("other two-stage runs (see ntire_table5.md): " + ", ".join(f"`{n}`" for n in others))
    notes += _missing_notes(r for _, r in picked) + data.notes + ctx.runs.notes
    if not ref.found:
        notes.append(f"no reference numbers found for table2 in {ctx.references_dir}/{SOURCE}.yaml")
    return _finish(lines, notes)


# --------------------------------------------------------------------------- ntire_table3


def render_table3(ctx: ReportContext, data: NtireData | None = None) -> str:
    data = data or collect(ctx)
    ref = ctx.ref("table3", SOURCE)
    target = _target("table3", ctx)
    runs = [r for r in data.of("ntire_table3") if r.method == "imdn" and not r.two_stage]
    flops = paper_flops(ctx)
    by_b: dict[int | None, list[NtireRun]] = {}
    for run in runs:
        by_b.setdefault(run.blocks, []).append(run)
    paper_by_b = {blocks_of(p.get("size")): p for p in ref.rows if p.get("method") == "imdn"}
    depths = list(paper_by_b) + sorted((b for b in by_b if b not in paper_by_b), key=lambda b: -(b or 0))
    shown: list[NtireRun | None] = []
    rows: list[dict[str, str]] = []
    for b in depths:
        paper = paper_by_b.get(b)
        for run in by_b.get(b) or [None]:
            shown.append(run)
            params, paper_params = _millions(run.params) if run else None, _num(paper.get("params_m")) if paper else None
            psnr, paper_psnr = run.psnr if run else None, _num(paper.get("val_psnr_db")) if paper else None
            rows.append({
                "B": str(b) if b is not None else MISSING,
                "Run": _run_cell(run) + ("" if paper else " (not in the paper)"),
                "Params": fmt_int(run.params) if run else MISSING,
                "Params (M)": fmt_float(params, 4),
                "Params paper (M)": fmt_float(paper_params, 4),
                "Δ Params": fmt_delta(_delta(params, paper_params), 4),
                f"FLOPs {FLOPS_SIDE}² (G)": fmt_float(run.flops_256 / 1e9 if run and run.flops_256 is not None else None, 2),
                "FLOPs paper": fmt_float(flops.get(b) if b is not None else None, 2),
                "PSNR": _psnr_cell(run),
                "PSNR paper": fmt_float(paper_psnr, 2),
                "Δ PSNR": fmt_delta(_delta(psnr, paper_psnr), 2),
            })
    if target and rows:
        rows.append({k: "" for k in rows[0]} | {
            "B": "Target",
            "Params paper (M)": fmt_target(target.get("params_m"), 4),
            "PSNR paper": fmt_target(target.get("val_psnr_db"), 2),
        })
    lines = _header(
        "NTIRE 2022 Table 3: number of IMDBs (IMDN, x4 RGB)", ctx.preset, ctx.runs.root, ref,
        _conventions(data, shown),
    )
    if not runs:
        lines += [_fill_hint("ntire_table3", "one-stage x4 RGB imdn runs at sizes B8, B7, B6, B5, B4"), ""]
    lines += _table_lines(_with_floors(rows, data, "B"), ("B", "Run"))
    notes = _floor_notes(data, shown) + list(ref.notes) + _missing_notes(shown) + data.notes + ctx.runs.notes
    if not ref.found:
        notes.append(f"no reference numbers found for table3 in {ctx.references_dir}/{SOURCE}.yaml")
    return _finish(lines, notes)


# --------------------------------------------------------------------------- ntire_table5


def render_table5(ctx: ReportContext, data: NtireData | None = None) -> str:
    data = data or collect(ctx)
    ref = ctx.ref("table5", SOURCE)
    clb = [r for r in data.of("ntire_table5") if r.method == "imdn-clb"]
    paper_b = next((b for p in ref.rows if (b := blocks_of(p.get("size"))) is not None), 7)
    depth = depth_map(clb, paper_b + 1, paper_b)[paper_b]  # the pruned depth the CLB runs train
    runs = [r for r in clb if r.blocks == depth]
    stage1, extra = _first(r for r in runs if not r.two_stage)
    paired, rest = pair_stage2([r for r in runs if r.two_stage], _stage2_patches(ctx))
    paper_stage1 = next((p for p in ref.rows if _int(p.get("stage")) == 1), {})

    def stage_rate(run: NtireRun | None) -> float | None:
        if run is None:
            return None
        return run.stage2_sec_per_iter if run.two_stage else run.sec_per_iter

    matched: list[tuple[dict[str, Any] | None, NtireRun | None]] = []
    for paper in ref.rows:
        if _int(paper.get("stage")) == 1:
            matched.append((paper, stage1))
        else:
            matched.append((paper, paired.get(_int(paper.get("patch_size")) or -1)))
    matched += [(None, r) for r in extra + rest]

    rows: list[dict[str, str]] = []
    for paper, run in matched:
        paper = paper or {}
        psnr, paper_psnr = run.psnr if run else None, _num(paper.get("val_psnr_db"))
        is_stage1 = (run is not None and not run.two_stage) or (run is None and _int(paper.get("stage")) == 1)
        rows.append({
            "Row": str(paper.get("label")) if paper else ("Stage 2" if run and run.two_stage else "Stage 1") + " (not in the paper)",
            "Run": _run_cell(run),
            "LR patches": _patch_text(run),
            "Patch paper": str(_int(paper.get("patch_size")) or MISSING) if paper else MISSING,
            "PSNR": _psnr_cell(run),
            "PSNR paper": fmt_float(paper_psnr, 2),
            "Δ PSNR": fmt_delta(_delta(psnr, paper_psnr), 2),
            "vs stage 1": "" if is_stage1 else fmt_delta(_delta(psnr, stage1.psnr if stage1 else None), 2),
            "vs stage 1 paper": "" if is_stage1 or not paper else fmt_delta(_delta(paper_psnr, paper_stage1.get("val_psnr_db")), 2),
            "s/iter (whole run)": fmt_float(run.sec_per_iter, 4) if run else MISSING,
            "s/iter (this stage)": fmt_float(stage_rate(run), 4),
            "× stage 1": "" if is_stage1 else _ratio(stage_rate(run), stage_rate(stage1)),
            "Epoch time paper (s)": fmt_float(paper.get("epoch_time_s"), 0),
            "× stage 1 paper": "" if is_stage1 or not paper else _ratio(paper.get("epoch_time_s"), paper_stage1.get("epoch_time_s")),
            "GPU memory paper (MB)": fmt_int(paper.get("gpu_memory_mb")),
        })
    lines = _header(
        f"NTIRE 2022 Table 5: second-stage patch size (IMDN-CLB{f' B{depth}' if depth else ''}, x4 RGB)",
        ctx.preset, ctx.runs.root, ref,
        _conventions(data, (r for _, r in matched), costs=False) + " *s/iter (whole run)* is train.json's `sec_per_iter` "
        "(training wall time / iterations, both stages); *s/iter (this stage)* is stage 2 alone for two-stage "
        "runs (from metrics.csv's cumulative training seconds) and the whole run for stage 1. The paper gives "
        "seconds per epoch and GPU memory instead (its GPUs, its epochs): compare the *× stage 1* ratios. "
        "GPU memory is not measured here. Our runs pair with the paper's stage-2 patch sizes exactly when a run "
        "trains one of them, else in increasing order.",
    )
    if not runs:
        lines += [_fill_hint("ntire_table5", "x4 RGB imdn-clb runs at one depth: a one-stage run and two-stage runs "
                             "with different config.yaml patch_size_stage2"), ""]
    lines += _table_lines(_with_floors(rows, data, "Row"), ("Row", "Run", "LR patches"))
    notes = _floor_notes(data, (r for _, r in matched)) + list(ref.notes)
    others = sorted({r.name for r in clb} - {r.name for r in runs})
    if others:
        notes.append(f"imdn-clb runs at other depths than B{depth} (not shown): " + ", ".join(f"`{n}`" for n in others))
    notes += _missing_notes(r for _, r in matched) + data.notes + ctx.runs.notes
    if not ref.found:
        notes.append(f"no reference numbers found for table5 in {ctx.references_dir}/{SOURCE}.yaml")
    return _finish(lines, notes)


def _ratio(value: Any, base: Any) -> str:
    a, b = _num(value), _num(base)
    return f"{a / b:.2f}x" if a is not None and b else MISSING


# --------------------------------------------------------------------------- dispatch


RENDERERS: dict[str, Callable[[ReportContext, NtireData | None], str]] = {
    "ntire_table2": render_table2,
    "ntire_table3": render_table3,
    "ntire_table5": render_table5,
}


def render(ctx: ReportContext, table: str, data: NtireData | None = None) -> str:
    return RENDERERS[table](ctx, data)
