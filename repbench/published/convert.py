"""A released state dict -> a zoo network, by name: each method's key map, then a shape check per key.

A method module that can load released weights defines `RELEASED_KEYS`, regular-expression
substitutions from a released key to the key of its training-time network (`methods.build`), and,
for a re-parameterized release, `RELEASED_KEYS_DEPLOYED` towards `methods.merge(methods.build(...))`.
Keys are matched by name, never by position: a file that does not fit is refused with the first key
or shape that differs and the registered architectures it would fit, so a wrong scale or another
network's file never loads silently.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

import methods
from methods import registry as method_registry
from methods.released import key_map, rename_keys, unwrap_state_dict
from repbench.errors import RepbenchError
from repbench.published.registry import FORMS, load_registry

MERGE_TOLERANCE = 1e-9  # float64, as every merge check of the zoo


@dataclass(frozen=True)
class Architecture:
    method: str
    size: str
    scale: int
    colors: int
    form: str = "training"
    options: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        rgb = "RGB" if self.colors == 3 else "Y"
        form = ", re-parameterized" if self.form == "deployed" else ""
        return f"{self.method} {self.size} x{self.scale} {rgb}{form}"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a released file (weights only: no pickled code runs), unwrapped from its container."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, corrupt, or not a torch file; torch's text suggests weights_only=False
        raise RepbenchError(f"{path} is not a readable checkpoint ({type(err).__name__}: the file is truncated, "
                            "corrupt or not a PyTorch state dict); fetch it again") from err
    try:
        return unwrap_state_dict(blob)
    except ValueError as err:
        raise RepbenchError(f"{path}: {err}") from err


def _key_rules(method: str, form: str) -> tuple[tuple[str, str], ...] | None:
    """The method's key map for this form (methods/released.py), or None when it has none."""
    try:
        return key_map(method, deployed=form == "deployed")
    except ValueError:
        return None


def _target(arch: Architecture) -> nn.Module:
    model = methods.build(arch.method, arch.size, arch.scale, arch.colors, **dict(arch.options))
    return methods.merge(model) if arch.form == "deployed" else model


def _fit(state: Mapping[str, torch.Tensor], arch: Architecture) -> tuple[nn.Module, dict[str, torch.Tensor]] | str:
    """(the network `arch`, the renamed state) when `state` fits it key for key and shape for shape, else
    the first difference."""
    rules = _key_rules(arch.method, arch.form)
    if rules is None:
        return f"method {arch.method!r} has no key map for {arch.form} checkpoints"
    try:
        model = _target(arch)
        mapped = rename_keys(state, rules)
    except ValueError as err:
        return str(err)
    target = model.state_dict()
    for key, value in target.items():
        if key not in mapped:
            return f"the file has no tensor for {key} (expected shape {list(value.shape)})"
        if tuple(mapped[key].shape) != tuple(value.shape):
            return f"{key} has shape {list(mapped[key].shape)} in the file, {arch} needs {list(value.shape)}"
    extra = [k for k in mapped if k not in target]
    if extra:
        return f"the file holds {extra[0]} (shape {list(mapped[extra[0]].shape)}), which {arch} does not have"
    return model, mapped


def mismatch(state: Mapping[str, torch.Tensor], arch: Architecture) -> str | None:
    """None when `state` loads into `arch` key for key and shape for shape, else the first difference."""
    fit = _fit(state, arch)
    return fit if isinstance(fit, str) else None


def candidates() -> list[Architecture]:
    """Every registered published network at every scale and colour convention, in both forms."""
    seen: dict[Architecture, None] = {}
    for entry in load_registry().values():
        if entry.method not in method_registry.methods():
            continue
        for form in FORMS:
            if _key_rules(entry.method, form) is None:
                continue
            for scale in method_registry.SCALES:
                for colors in method_registry.COLORS:
                    seen[Architecture(entry.method, entry.size, scale, colors, form,
                                      tuple(sorted(entry.options.items())))] = None
    return list(seen)


def fitting(state: Mapping[str, torch.Tensor]) -> list[Architecture]:
    return [arch for arch in candidates() if mismatch(state, arch) is None]


def load_into(state: Mapping[str, torch.Tensor], arch: Architecture, source: str) -> nn.Module:
    """The zoo network `arch` with the released weights; RepbenchError naming the first difference otherwise."""
    fit = _fit(state, arch)
    if isinstance(fit, str):
        fits = fitting(state)
        hint = (f"it fits {', '.join(map(str, fits))}" if fits else
                "it fits no registered architecture (another network's file? `repbench import --file F --external` "
                "loads any architecture spandrel knows)")
        raise RepbenchError(f"{source} does not load into {arch}: {fit}; {hint}")
    model, mapped = fit
    model.load_state_dict(mapped, strict=True)
    return model.eval()


def merge_error(model: nn.Module, side: int = 20) -> float | None:
    """Max |training - merged| output in float64 on a fixed random input; None when nothing merges."""
    if model.build_args.get("merged") or not methods.is_mergeable(model.build_args["method"]):
        return None
    wide = copy.deepcopy(model).double().eval()
    merged = methods.merge(wide)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, model.build_args["colors"], side, side, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        return float((wide(x) - merged(x)).abs().max())
