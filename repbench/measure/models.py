"""The networks to measure: a training-time net and its deployable form, built or loaded."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

import methods
from repbench.errors import RepbenchError
from repbench.inference.modelfile import TRAINING_FIRST, model_path

OUTPUT_HEIGHT, OUTPUT_WIDTH = 720, 1280  # the paper's output size: 720p


def lr_size(scale: int, out_height: int = OUTPUT_HEIGHT, out_width: int = OUTPUT_WIDTH) -> tuple[int, int]:
    """The LR (height, width) whose x`scale` output is nearest to out_height x out_width."""
    return max(1, round(out_height / scale)), max(1, round(out_width / scale))


@dataclass
class ModelPair:
    """A training-time net and its deployable form (the same net where the method cannot merge)."""

    training: nn.Module
    deployed: nn.Module
    build_args: dict[str, Any]
    merged: bool  # False: the method has no merge and `deployed` is the training-time net
    source: str  # "built" or the model file it came from
    # The net as the run trains it: `training` is always the multi-branch form (what the paper trains
    # and times unmerged); a `collapsed=True` run trains one conv per block, and its synthetic training
    # step (--train-speed) is timed on that form, so that it measures what the run's own seconds measure.
    as_trained: nn.Module | None = None


def _args_of(method: str, size: str, scale: int, colors: int, options: dict[str, Any]) -> dict[str, Any]:
    return {"method": method, "size": size, "scale": scale, "colors": colors, "options": dict(options)}


def multi_branch(model: nn.Module) -> nn.Module:
    """The method's training-time network in its multi-branch form.

    `collapsed=True` (ECB, SESR, IMDN-CLB) trains the same function with the merged kernel
    rebuilt at each step: a training shortcut, not the method. Unmerged throughput and
    training speed (Table 3) are timed on the multi-branch network the papers train.
    """
    args = model.build_args
    if not args.get("options", {}).get("collapsed"):
        return model
    twin = methods.build(args["method"], args["size"], args["scale"], args["colors"],
                         **{**args["options"], "collapsed": False})
    twin.load_state_dict(model.state_dict())
    return twin


def build_pair(method: str, size: str, scale: int = 4, colors: int = 1, **options: Any) -> ModelPair:
    """Build `method` at `size` and merge it; a bad method, size or option becomes a RepbenchError."""
    try:
        training = methods.build(method, size, scale, colors, **options).eval()
        mergeable = methods.is_mergeable(method)
    except ValueError as err:
        raise RepbenchError(f"{err} (list methods, sizes and options with `repbench methods`)") from err
    deployed = methods.merge(training) if mergeable else training
    return ModelPair(multi_branch(training).eval(), deployed, _args_of(method, size, scale, colors, options), mergeable, "built",
                     as_trained=training)


def load_pair(path: str) -> ModelPair:
    """A saved model (training-time or merged). A merged file has no training-time weights, so its
    training-time net is rebuilt from build_args with fresh weights: counts and speed do not depend on them.

    A run folder stands for its final.pt (the training-time weights, as the pipeline measures them),
    else its deployed.pt (repbench.inference.modelfile)."""
    path = str(model_path(path, TRAINING_FIRST))
    try:
        model = methods.load(path)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        raise RepbenchError(f"cannot load model {path}: {err}; pass a .pt written by `repbench train`/`merge` (methods.save)") from err
    args = dict(model.build_args)
    base = _args_of(args["method"], args["size"], args["scale"], args["colors"], args.get("options", {}))
    mergeable = methods.is_mergeable(args["method"])
    if args.get("merged"):
        training = methods.build(base["method"], base["size"], base["scale"], base["colors"], **base["options"])
        deployed = model
    else:
        training = model
        deployed = methods.merge(model) if mergeable else model
    return ModelPair(multi_branch(training).eval(), deployed.eval(), base, mergeable, str(path), as_trained=training)


def pair_nets(pair: ModelPair, unmerged: bool = True) -> dict[str, nn.Module]:
    """The nets one measurement times: the merged net and the training-time net in eval mode; one net
    ("training-time") for a method without a merge."""
    if not pair.merged:
        return {"training-time": pair.deployed}
    return {"merged": pair.deployed, **({"unmerged": pair.training} if unmerged else {})}


def _scalar_attrs(module: nn.Module) -> list[tuple[str, Any]]:
    """A module's plain attributes that can steer its forward (scale, padding mode, flags), sorted."""
    skip = {"training"}
    return sorted((k, v) for k, v in vars(module).items()
                  if not k.startswith("_") and k not in skip and isinstance(v, (bool, int, float, str, tuple)))


def architecture_signature(net: nn.Module) -> str:
    """A digest of everything that decides a network's speed: each module's class, its settings and
    attributes, and every parameter's and buffer's shape and dtype (never the values).

    Two runs whose deployed networks share it run the same graph on the same shapes, so one timing
    serves both (the pipeline's rule `time_deployed`); `repbench measure --deployed-timing` refuses a
    timing whose signature is not the network's own.
    """
    import hashlib

    parts = []
    for name, module in net.named_modules():
        parts.append(f"{name}:{type(module).__module__}.{type(module).__qualname__}({module.extra_repr()})"
                     f"{_scalar_attrs(module)}")
    for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
        parts.append(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
