"""The method zoo: `build`, `merge`, `freeze_bn`, `save` and `load` over the registry (`methods.registry`)."""
from __future__ import annotations

import copy
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from methods import external, registry
from methods.external import EXTERNAL
from methods.registry import COLORS, SCALES, options_of, parse_size
from repbench.atomic import atomic_open


class NotMergeableError(ValueError):
    """The method has no single-conv inference form (e.g. EDSR's residual blocks)."""


def method_module(method: str) -> ModuleType:
    return importlib.import_module(registry.info(method).module)


def build(method: str, size: str, scale: int = 4, colors: int = 1, **options: Any) -> nn.Module:
    """The training-time network of `method` at `size` (e.g. 'M4C16', 'R16C64').

    The returned module carries `build_args`, which is all `load` needs to rebuild it.
    """
    module = method_module(method)
    fields = parse_size(method, size)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if colors not in COLORS:
        raise ValueError(f"colors must be 1 (Y channel) or 3 (RGB), got {colors!r}")
    valid = options_of(method)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        listed = ", ".join(f"{k}={v!r}" for k, v in valid.items()) or "none"
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for method {method!r}; valid options: {listed}")
    model = module.build(**fields, scale=scale, colors=colors, **{**valid, **options})
    model.build_args = {"method": method, "size": str(size), "scale": scale, "colors": colors, "options": dict(options)}
    return model


def is_mergeable(method: str) -> bool:
    """External networks (methods/external.py, rebuilt by spandrel) are never merged: their blocks are not ours."""
    return method != EXTERNAL and registry.info(method).mergeable


def merge(model: nn.Module) -> nn.Module:
    """The deployable network: a copy with every RepBlock replaced by its single conv.

    The input model is left untouched; BN is folded with its running statistics.
    """
    args = getattr(model, "build_args", None)
    if args is None:
        raise ValueError("merge() needs a model made by methods.build (it has no build_args)")
    if args.get("merged"):
        return copy.deepcopy(model)
    if args["method"] == EXTERNAL:
        raise NotMergeableError(f"{args['size']} is an external network (spandrel): repbench does not merge it; "
                                "evaluate and measure it as it is")
    if not is_mergeable(args["method"]):
        raise NotMergeableError(
            f"method {args['method']!r} is not re-parameterizable (it has no single-conv inference form); "
            "evaluate and measure the training-time network instead"
        )
    merged = copy.deepcopy(model)
    _replace_rep_blocks(merged)
    merged.build_args = {**args, "merged": True}
    return merged.eval()


def _replace_rep_blocks(module: nn.Module) -> None:
    for name, child in module.named_children():
        if hasattr(child, "as_conv"):
            setattr(module, name, child.as_conv())
        else:
            _replace_rep_blocks(child)


def _keep_bn_frozen(bn: nn.Module, _inputs: Any) -> None:
    bn.training = False  # survives a later model.train(): population statistics from now on


def freeze_bn(model: nn.Module) -> nn.Module:
    """Switch every BatchNorm to population statistics for good (the paper's frozen BN).

    Running stats are used and no longer updated; gamma/beta keep training; other
    modules keep their mode. Idempotent; returns the model for chaining.
    """
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not getattr(m, "bn_frozen", False):
            m.eval()
            m.register_forward_pre_hook(_keep_bn_frozen)
            m.bn_frozen = True
    return model


def collapse_linear(model: nn.Module) -> nn.Module:
    """Train every RepBlock that is linear by now (no BN, or all its BN frozen) as its one merged conv.

    After `freeze_bn` a BN is a fixed affine map, so RepSR and RepVGG blocks compute the same
    function as their merged kernel, with the same gradients for every parameter; one conv per
    block is cheaper than the branches. Returns the model for chaining.
    """
    for m in model.modules():
        if hasattr(m, "as_conv") and all(
            getattr(bn, "bn_frozen", False) for bn in m.modules() if isinstance(bn, nn.modules.batchnorm._BatchNorm)
        ):
            m.collapsed = True
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write weights + build_args atomically (temp file, then rename)."""
    args = getattr(model, "build_args", None)
    if args is None:
        raise ValueError("save() needs a model made by methods.build or methods.merge")
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        torch.save({"build_args": args, "state_dict": model.state_dict()}, fh)
    return path


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model written by `save` (training-time or merged) and load its weights."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt or foreign file; torch's text would suggest weights_only=False
        raise ValueError(f"{path} is not a repbench model file or is corrupt ({type(err).__name__}); "
                         "write models with methods.save (repbench train / merge)") from err
    if not isinstance(blob, dict) or "build_args" not in blob:
        raise ValueError(f"{path} is not a repbench model file (no build_args); write it with methods.save")
    args = blob["build_args"]
    missing = [k for k in ("method", "size", "scale", "colors") if not isinstance(args, dict) or k not in args]
    if missing or "state_dict" not in blob:
        lacks = f"build_args without {', '.join(missing)}" if missing else "no state_dict"
        raise ValueError(f"{path} is not a complete repbench model file ({lacks}); write it with methods.save")
    if args["method"] == EXTERNAL:  # the architecture is detected again from the stored weights
        return external.rebuild(args, blob["state_dict"])
    model = build(args["method"], args["size"], args["scale"], args["colors"], **args.get("options", {}))
    if args.get("merged"):
        model = merge(model)
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as err:  # weights of another shape than build_args describe
        raise ValueError(f"{path}: the weights do not fit the network its build_args describe ({args}); "
                         "the file is corrupt or was edited") from err
    return model
