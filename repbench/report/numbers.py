"""Numbers as the tables and the page print them: the one place a raw value becomes text.

Every formatter takes a raw value (a number, a numeric string, None or NaN) and returns the cell text;
what cannot be read as a number prints as MISSING, never as "nan" or "None".
"""
from __future__ import annotations

from typing import Any

from repbench.results.values import as_float, as_int

MISSING = "–"  # a value that is absent or not a number


def fmt_int(value: Any) -> str:
    v = as_int(value)
    return f"{v:,}" if v is not None else MISSING


def fmt_k(value: Any) -> str:
    v = as_float(value)
    return f"{v / 1e3:.1f}K" if v is not None else MISSING


def fmt_g(value: Any, digits: int = 2) -> str:
    v = as_float(value)
    return f"{v / 1e9:.{digits}f}G" if v is not None else MISSING


def fmt_mpx(pixels: Any) -> str:
    """A count of pixels in millions (a training budget: LR pixels seen)."""
    v = as_float(pixels)
    return fmt_float(None if v is None else v / 1e6, 1)


def fmt_float(value: Any, digits: int) -> str:
    v = as_float(value)
    return f"{v:.{digits}f}" if v is not None else MISSING


def fmt_delta(value: Any, digits: int) -> str:
    v = as_float(value)
    if v is None:
        return MISSING
    text = f"{v:+.{digits}f}"
    return text.replace("-0." + "0" * digits, "+0." + "0" * digits)  # no "-0.00"


def fmt_duration(seconds: Any) -> str:
    s = as_float(seconds)
    if s is None:
        return MISSING
    if s < 60:
        return f"{s:.2f} s" if s < 1 else f"{s:.1f} s"
    hours, rem = divmod(int(round(s)), 3600)
    return f"{hours}h{rem // 60:02d}m" if hours else f"{rem // 60}m{rem % 60:02d}s"


def fmt_seeds(mean: Any, std: Any, n: int, digits: int = 2) -> str:
    """`29.41` for one seed, `29.41 ± 0.05 (n=3)` for several (the mean and the sample std)."""
    if as_float(mean) is None:
        return MISSING
    return fmt_float(mean, digits) + (f" ± {fmt_float(std, digits)} (n={n})" if n >= 2 else "")
