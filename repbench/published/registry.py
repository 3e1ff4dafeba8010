"""The published-model registry (data/published.yaml): released checkpoints and their authors' figures.

Torch-free: the plan, the report and the CLI parsers read it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repbench.data.registry import repo_root
from repbench.errors import RepbenchError
from repbench.yamlfile import read_yaml

FORMS = ("training", "deployed")
# A registered name is a run id too (the folder results/runs/<preset>/<name>/): one safe path component.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.+_-]*$")
_FIELDS = {"label", "method", "size", "options", "scale", "colors", "input_range", "form", "file", "url", "sha256",
           "licence", "citation", "training", "published"}
_REQUIRED = ("label", "method", "size", "scale", "colors", "file", "url", "sha256")


@dataclass(frozen=True)
class PublishedModel:
    name: str
    label: str
    method: str
    size: str
    scale: int
    colors: int
    file: str  # the file name in the cache and in a local copy
    url: str
    sha256: str
    options: dict[str, Any] = field(default_factory=dict)
    input_range: float = 1.0
    form: str = "training"  # "deployed": the file holds the re-parameterized network
    licence: str = ""
    citation: str = ""
    training: dict[str, Any] = field(default_factory=dict)  # the budget as published (None: not stated)
    published: dict[str, Any] = field(default_factory=dict)  # params, flops, convs, psnr, runtime

    @property
    def build_args(self) -> dict[str, Any]:
        return {"method": self.method, "size": self.size, "scale": self.scale, "colors": self.colors,
                "options": dict(self.options)}


def registry_path() -> Path:
    env = os.environ.get("REPBENCH_PUBLISHED_YAML")
    return Path(env).expanduser() if env else repo_root() / "data" / "published.yaml"


def _parse(name: str, body: Any, path: Path) -> PublishedModel:
    where = f"published model {name!r} in {path}"
    if not NAME_PATTERN.match(name):
        raise RepbenchError(f"{where}: a name is lower-case letters, digits and . + _ - (it names a run folder)")
    if not isinstance(body, dict):
        raise RepbenchError(f"{where}: expected a mapping of fields")
    unknown = sorted(set(body) - _FIELDS)
    missing = [k for k in _REQUIRED if body.get(k) in (None, "")]
    if unknown or missing:
        problem = f"unknown field(s) {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
        raise RepbenchError(f"{where}: {problem} (fields: {', '.join(sorted(_FIELDS))})")
    form = str(body.get("form") or "training")
    if form not in FORMS:
        raise RepbenchError(f"{where}: form must be one of {', '.join(FORMS)}, got {form!r}")
    sha = str(body["sha256"]).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise RepbenchError(f"{where}: sha256 must be 64 hex digits")
    return PublishedModel(
        name=name, label=str(body["label"]), method=str(body["method"]), size=str(body["size"]),
        scale=int(body["scale"]), colors=int(body["colors"]), file=str(body["file"]), url=str(body["url"]),
        sha256=sha, options=dict(body.get("options") or {}), input_range=float(body.get("input_range") or 1.0),
        form=form, licence=str(body.get("licence") or ""), citation=str(body.get("citation") or ""),
        training=dict(body.get("training") or {}), published=dict(body.get("published") or {}),
    )


def load_registry() -> dict[str, PublishedModel]:
    """Every registered published model, in file order."""
    path = registry_path()
    raw = read_yaml(path, "published-model registry") or {}
    entries = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(entries, dict):
        raise RepbenchError(f"published-model registry {path} has no 'models:' mapping")
    return {str(name): _parse(str(name), body, path) for name, body in entries.items()}


def names() -> tuple[str, ...]:
    return tuple(load_registry())


def get(name: str) -> PublishedModel:
    registry = load_registry()
    if name not in registry:
        raise RepbenchError(f"unknown published model {name!r}; registered: {', '.join(registry)} "
                            "(see `repbench import --list`)")
    return registry[name]
