"""What every table shows besides its runs: the nearest and bicubic floors, and the budget sentence."""
from __future__ import annotations


import pandas as pd

from repbench.results.values import REFERENCE_METHODS, method_rank


def floor_rows(wide: pd.DataFrame, scale: int | None) -> pd.DataFrame:
    """The reference upsamplers (nearest, bicubic) evaluated at `scale`: the floors shown in every table."""
    refs = wide[wide["method"].isin(REFERENCE_METHODS) & (wide["scale"] == scale)]
    return refs.iloc[sorted(range(len(refs)), key=lambda i: method_rank(refs.iloc[i]["method"]))]


def floor_hint(floors: pd.DataFrame, scale: int | None) -> list[str]:
    have = set(floors["method"])
    return [f"no {m} floor at x{scale}: `repbench eval --model {m} --scale {scale} --dataset SET --out "
            f"RUNS/{m}-x{scale}/eval/SET-x{scale}.json` adds it" for m in REFERENCE_METHODS if m not in have]


def budget_words(rows: pd.DataFrame) -> str:
    """The sentence on training budgets and the validation set (train.json `val_data`)."""
    sets = sorted({str(v) for v in rows.get("val_data", pd.Series(dtype=object)).dropna() if str(v)})
    where = f"validated on {', '.join(sets)}" if sets else "validation set not recorded"
    return (f"*Iters*, *LR Mpx* and *Train s* are each run's training budget (train.json `budget`: iterations, "
            f"millions of LR-image pixels the network was trained on = iterations x batch x patch², and seconds; "
            f"else its `iterations` / `train_seconds`; seconds are the mean over seeds); runs {where}.")
