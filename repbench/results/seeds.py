"""Runs trained with several seeds: one row per base run, with the mean, the spread and n.

The pipeline names seed k >= 1 of a run `<run id>-seed<k>` (seed 0 keeps the plain id), so the base
id of a run folder is its name without that suffix. `aggregate(wide)` turns the per-run wide frame into
one row per base id: every score and timing column holds the mean over the seeds that have it, and
`std_<column>` / `min_<column>` / `max_<column>` / `n_<column>` hold its sample standard deviation,
range and count. Everything else is the seed-0 run's (else the first seed's). With one seed per run the
frame is the per-run frame plus those columns, so single-seed presets render exactly as before.

`separable` is the one rule every table uses to say whether two means differ by more than the seeds'
spread: only then is the ordering of two methods a result rather than noise.
"""
from __future__ import annotations

import re
import statistics
from typing import Any

import pandas as pd

from repbench.results.values import as_float

_SEED_SUFFIX = re.compile(r"^(?P<base>.+)-seed(?P<seed>[1-9]\d*)$")
# Columns averaged over seeds (besides every per-test-set score): the training cost of the run.
_AVERAGED = ("sec_per_iter", "train_seconds", "final_val_psnr")
_SCORE_PREFIXES = ("psnr_y_", "ssim_y_", "psnr_rgb_", "ssim_rgb_")
SPREAD_WORDS = "± = sample standard deviation over seeds"


def base_id(run_name: str) -> str:
    """`repsr-M4C16-x4-seed2` -> `repsr-M4C16-x4`; a name without the suffix is its own base."""
    match = _SEED_SUFFIX.match(str(run_name))
    return match.group("base") if match else str(run_name)


def seed_of(run_name: str) -> int:
    match = _SEED_SUFFIX.match(str(run_name))
    return int(match.group("seed")) if match else 0


def score_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(_SCORE_PREFIXES)]


def _stats(values: list[float]) -> dict[str, Any]:
    n = len(values)
    return {
        "mean": statistics.fmean(values) if n else None,
        "std": statistics.stdev(values) if n >= 2 else None,
        "min": min(values) if n else None,
        "max": max(values) if n else None,
        "n": n,
    }


def aggregate(wide: pd.DataFrame) -> pd.DataFrame:
    """One row per base run id (see the module docstring); `seed_runs` lists the member folders."""
    if len(wide) == 0:
        return wide.assign(n_seeds=pd.Series(dtype="Int64"), seed_runs=pd.Series(dtype=object))
    columns = score_columns(wide) + [c for c in _AVERAGED if c in wide]
    bases = wide["run"].map(base_id)
    rows = []
    for base in dict.fromkeys(bases):  # first-seen order: the folders' sorted order
        group = wide[bases == base]
        names = list(group["run"])
        lead = group[group["run"] == base] if base in names else group.iloc[:1]
        row = lead.iloc[0].to_dict()
        row["run"] = base
        row["seed_runs"] = ",".join(sorted(names, key=seed_of))
        row["n_seeds"] = len(names)
        for column in columns:
            stats = _stats([v for v in (as_float(x) for x in group[column]) if v is not None])
            row[column] = stats["mean"]
            for key in ("std", "min", "max", "n"):
                row[f"{key}_{column}"] = stats[key]
        rows.append(row)
    out = pd.DataFrame(rows)
    ordered = list(wide.columns) + [c for c in out.columns if c not in wide.columns]
    return out[ordered]


def spread(row: dict[str, Any], column: str) -> tuple[float | None, float | None, int]:
    """(mean, sample std or None, n) of a column in an aggregated row."""
    n = as_float(row.get(f"n_{column}"))
    return as_float(row.get(column)), as_float(row.get(f"std_{column}")), int(n) if n is not None else (1 if as_float(row.get(column)) is not None else 0)


def separable(a: dict[str, Any], b: dict[str, Any], column: str,
              noise: tuple[float | None, float | None] = (None, None)) -> bool | None:
    """Whether the means of `column` in rows a and b differ by more than the spread of the seeds:
    |mean_a - mean_b| > std_a + std_b. A row with fewer than two seeds takes its `noise` (a seed
    spread measured elsewhere) as its std. None when a std stays unknown (the difference cannot be
    judged) or a row lacks the value."""
    ma, sa, _ = spread(a, column)
    mb, sb, _ = spread(b, column)
    sa, sb = noise[0] if sa is None else sa, noise[1] if sb is None else sb
    if ma is None or mb is None or sa is None or sb is None:
        return None
    return abs(ma - mb) > sa + sb
