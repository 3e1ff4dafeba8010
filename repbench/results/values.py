"""Raw values and the names the results model and its renderers share.

Number coercion (`as_float`, `as_int`, `is_blank`), test-set keys and labels, method labels and order
(from the method registry, methods/registry.py) and a model's row label. Nothing here formats a
number for display: that happens in repbench.report.numbers and the renderers.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterable

import pandas as pd

from methods import registry

# Canonical test sets, in the paper's column order; eval files may spell them differently.
DATASET_ORDER: tuple[str, ...] = ("set5", "set14", "b100", "urban100", "manga109", "div2k_val")
DATASET_LABELS = {
    "set5": "Set5", "set14": "Set14", "b100": "B100", "urban100": "Urban100",
    "manga109": "Manga109", "div2k_val": "DIV2K-valid",  # the registry's name (data/datasets.yaml)
}
_DATASET_ALIASES = {
    "bsd100": "b100", "bsds100": "b100", "b100": "b100",
    "div2kval": "div2k_val", "div2kvalid": "div2k_val", "div2kvalidation": "div2k_val",
    "set5": "set5", "set14": "set14", "urban100": "urban100", "manga109": "manga109",
}
# Fixed upsamplers scored like a model (`repbench eval --model bicubic|nearest`): the floors a
# trained network must clear. Their folders are `<method>-x<scale>/`; they fill no table as runs.
REFERENCE_METHODS: tuple[str, ...] = ("bicubic", "nearest")
_REFERENCE_LABELS = {"nearest": "Nearest", "bicubic": "Bicubic"}


# How a model's channel count is named: Y models see the luma channel only, RGB models all three.
CHANNEL_NAMES = {1: "Y", 3: "RGB"}


# --------------------------------------------------------------------------- small helpers


def names_a_release(published_as: Any) -> bool:
    """A row's `published_as` names an imported released checkpoint. Not truthiness: the column is NaN
    (truthy) for every other run once a frame holds a published one."""
    return isinstance(published_as, str) and bool(published_as)


def is_published(frame: pd.DataFrame) -> pd.Series:
    """Rows that are imported released checkpoints (`published_as`): measured like runs, never trained here."""
    if "published_as" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["published_as"].map(names_a_release)


def dataset_key(name: str) -> str:
    """'Urban100', 'urban100', 'DIV2K-valid', 'BSD100' -> the canonical key; other names stay readable
    ('skimage-test'), lower-cased, with anything but [a-z0-9_-] replaced (keys end up in column names)."""
    slug = re.sub(r"[^a-z0-9]", "", str(name).lower())
    if slug in _DATASET_ALIASES:
        return _DATASET_ALIASES[slug]
    return re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-") or "unknown"


def channel_name(colors: Any) -> str:
    """'Y' for one-channel models, 'RGB' for three-channel ones, '' when unknown."""
    return CHANNEL_NAMES.get(as_int(colors) or 0, "")


def dataset_label(key: str, fallback: str | None = None) -> str:
    return DATASET_LABELS.get(key, fallback or key)


def ordered_datasets(keys: Iterable[str]) -> list[str]:
    """Canonical sets in the paper's order first, then any others alphabetically."""
    keys = set(k for k in keys if isinstance(k, str) and k)
    return [k for k in DATASET_ORDER if k in keys] + sorted(keys - set(DATASET_ORDER))


def as_float(value: Any) -> float | None:
    """A finite float, or None for missing / NaN / non-numeric values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def as_int(value: Any) -> int | None:
    out = as_float(value)
    return int(round(out)) if out is not None else None




def difference(ours: Any, paper: Any) -> float | None:
    """`ours - paper` as a float, None unless both read as numbers."""
    a, b = as_float(ours), as_float(paper)
    return a - b if a is not None and b is not None else None


def is_blank(value: Any) -> bool:
    """None, NaN, pd.NA or an empty string."""
    if isinstance(value, str):
        return value == ""
    return value is None or (not isinstance(value, (list, dict, tuple)) and bool(pd.isna(value)))


def first_of(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def size_rank(size: Any) -> tuple[int, int, str]:
    """Mx-Cy sizes in the paper's regime order: by width C, then depth M (B7 for IMDN by blocks)."""
    text = str(size or "")
    match = re.fullmatch(r"[A-Za-z](\d+)C(\d+)", text)
    if match:
        return int(match.group(2)), int(match.group(1)), text
    match = re.fullmatch(r"[A-Za-z](\d+)", text)
    return (10**6, int(match.group(1)), text) if match else (10**7, 0, text)


def method_label(method: str) -> str:
    """How tables and figures name a method: its registry label, or the floor's name."""
    if method in _REFERENCE_LABELS:
        return _REFERENCE_LABELS[method]
    return registry.info(method).label if method in registry.methods() else method


def default_options(method: str) -> dict[str, Any]:
    """A method's build defaults: an option at its default never splits a row or names a model."""
    return registry.options_of(method) if method in registry.methods() else {}


def method_order() -> tuple[str, ...]:
    """The floors first, then the registered methods in registry order."""
    return ("nearest", "bicubic") + registry.methods()


def method_rank(method: Any) -> int:
    order = method_order()
    return order.index(method) if method in order else len(order)


def relevant_options(method: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Options that change the model: defaults and training-only switches dropped."""
    defaults = default_options(method)
    return {
        k: v for k, v in sorted((options or {}).items())
        if k not in registry.TRAINING_ONLY_OPTIONS and defaults.get(k, object()) != v
    }


def model_label(method: str, size: Any, options: dict[str, Any] | None = None) -> str:
    if method == "external":  # a network outside the zoo (methods/external.py): its size is its architecture
        return f"{size} (external, not merged)"
    base = method_label(method)
    if size and not is_blank(size):
        base = f"{base}-{size}"
    extra = relevant_options(method, options)
    return base + (" (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")" if extra else "")


