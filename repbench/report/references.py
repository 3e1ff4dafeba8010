"""The published numbers: repbench/references/<source>.yaml, one table at a time."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from repbench.errors import RepbenchError
from repbench.report.values import _num, dataset_key, ordered_datasets

REFERENCES_DIR = Path(__file__).parent.parent / "references"


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

    def value(self, row: dict[str, Any], metric: str, dataset: str) -> float | None:
        values = row.get(metric)
        if not isinstance(values, dict):
            return None
        for name, value in values.items():
            if dataset_key(name) == dataset:
                return _num(value)
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
