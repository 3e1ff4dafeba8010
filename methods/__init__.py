"""The method zoo: a torch-free registry, and `build`, `merge`, `freeze_bn`, `save` and `load`.

What each method is (label, size format, options and their defaults, counting convention,
Table 2 sizes) is one line of `methods/registry.py`; its module, imported on first use, holds
only `build(**size_fields, scale, colors, **options)`. The network functions live in
`methods/zoo.py` and are imported on first use, so `import methods.registry` (the report, the
CLI parsers, the plan) never loads torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from methods.registry import COLORS, SCALES, TABLE2_SIZES, options_of, parse_size

_ZOO = ("NotMergeableError", "build", "collapse_linear", "count_params", "freeze_bn", "is_mergeable", "load",
        "merge", "method_module", "save")
__all__ = ["COLORS", "METHODS", "SCALES", "TABLE2_SIZES", "options_of", "parse_size", *_ZOO]


def __getattr__(name: str) -> Any:
    if name == "METHODS":  # read through, so that a method registered later is listed too
        from methods import registry

        return registry.methods()
    if name in _ZOO:
        return getattr(importlib.import_module("methods.zoo"), name)
    raise AttributeError(f"module 'methods' has no attribute {name!r}")
