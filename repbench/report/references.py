"""The published numbers: repbench/references/<source>.yaml, one table at a time, and what each was
measured on (`Figure`: test set, channel, scale, border), which `compare` checks before any Δ."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from repbench.errors import RepbenchError
from repbench.results.values import as_float, as_int, dataset_key, dataset_label, ordered_datasets

REFERENCES_DIR = Path(__file__).parent.parent / "references"
CHANNELS = ("Y", "RGB")


@dataclass(frozen=True)
class Figure:
    """What a PSNR (or SSIM) was measured on; None where it is not known (or the paper does not state it)."""

    dataset: str | None  # canonical test-set key (values.dataset_key)
    channel: str | None  # "Y" or "RGB"
    scale: int | None
    border: int | None = None  # pixels shaved from each side

    def words(self, against: Figure | None = None) -> str:
        """'DIV2K-valid RGB'; the scale and the border too where they differ from `against`'s."""
        text = dataset_label(self.dataset) if self.dataset else "test set not stated"
        text += f" {self.channel}" if self.channel else ", channel not stated"
        if against is None or self.scale != against.scale:
            text += f" x{self.scale}" if self.scale else ", scale not stated"
        if self.border is not None and (against is None or self.border != against.border):
            text += f", border {self.border}"
        return text


def figure(dataset: Any, channel: Any, scale: Any, border: Any = None) -> Figure:
    """A Figure from loose values: any spelling of a test set, 'y' / 'RGB' / 'PSNR (RGB)', numbers as text."""
    name = str(dataset) if dataset is not None and str(dataset) else None
    return Figure(dataset_key(name) if name else None, channel_of(channel), as_int(scale), as_int(border))


def channel_of(text: Any) -> str | None:
    """'Y', 'rgb', 'PSNR (RGB)', 'psnr_y' -> 'Y' / 'RGB'; None when the text names neither (or both)."""
    if text is None:
        return None
    words = {w.upper() for w in re.findall(r"[A-Za-z0-9]+", str(text).replace("_", " "))}
    found = words & set(CHANNELS)
    return found.pop() if len(found) == 1 else None


@dataclass
class Reference:
    """One table of a reference file (repbench/references/<source>.yaml)."""

    source: str
    table: str
    caption: str = ""
    setting: dict[str, Any] = field(default_factory=dict)
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    found: bool = False

    @property
    def datasets(self) -> list[str]:
        keys: set[str] = set()
        for column in self.columns:
            keys.update(dataset_key(d) for d in column.get("datasets", []) or [])
        for row in self.rows:
            for metric in ("psnr", "ssim"):
                if isinstance(row.get(metric), dict):
                    keys.update(dataset_key(d) for d in row[metric])
        return ordered_datasets(keys)

    def figure(self, dataset: str | None = None) -> Figure:
        """What this table's figures were measured on, from the reference file itself: the test set (`dataset`,
        a key of its per-set columns, else the setting's `dataset` / `data`), the channel (the setting's
        `channel`, else the Y or RGB its `metric` names; None where the paper states neither), the scale
        and, where the paper records one, the border."""
        s = self.setting
        channel = s.get("channel") if s.get("channel") is not None else s.get("metric")
        return figure(dataset or s.get("dataset") or s.get("data"), channel, s.get("scale"), s.get("border"))

    def value(self, row: dict[str, Any], metric: str, dataset: str) -> float | None:
        values = row.get(metric)
        if not isinstance(values, dict):
            return None
        for name, value in values.items():
            if dataset_key(name) == dataset:
                return as_float(value)
        return None


def load_reference(source: str, table: str, folder: Path = REFERENCES_DIR) -> Reference:
    """A reference table; an absent file or table gives an empty Reference (the report still renders)."""
    path = folder / f"{source}.yaml"
    if not path.is_file():
        return Reference(source, table)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RepbenchError(f"reference file {path} is not valid YAML: {err}") from err
    spec = (data.get("tables") or {}).get(table)
    if not isinstance(spec, dict):
        return Reference(source, table)
    return Reference(
        source=source,
        table=table,
        caption=" ".join(str(spec.get("caption", "")).split()),
        setting=dict(spec.get("setting") or {}),
        columns=list(spec.get("columns") or []),
        rows=[r for r in spec.get("rows") or [] if isinstance(r, dict)],
        notes=[str(n) for n in spec.get("notes") or []],
        found=True,
    )
