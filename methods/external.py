"""Networks outside the zoo, rebuilt by spandrel from their state dict ("external" model files).

spandrel (the SR tooling ecosystem's checkpoint loader; MIT, the optional extra `published`) detects an
architecture from a state dict's keys and shapes and builds it. An external model file stores that
state dict with build_args {"method": "external", "size": <architecture id>, "external": {...}}, so
`methods.load` rebuilds it the same way; weights are loaded with torch's weights-only loader, no code
from the file ever runs. External networks are measured and evaluated like any other, never merged:
repbench knows nothing of their blocks.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

EXTERNAL = "external"  # the method name of every external model file
INSTALL_HINT = "install the optional extra: pip install -e '.[published]' (spandrel)"


def _spandrel() -> Any:
    try:
        import spandrel
    except ImportError as err:
        raise ValueError(f"external (non-zoo) models need spandrel: {INSTALL_HINT}") from err
    return spandrel


def detect(state: Mapping[str, torch.Tensor]) -> tuple[nn.Module, dict[str, Any]]:
    """The network spandrel recognises in `state`, with its weights, and the build_args that rebuild it."""
    spandrel = _spandrel()
    try:
        found = spandrel.ModelLoader().load_from_state_dict(dict(state))
    except spandrel.UnsupportedModelError as err:
        raise ValueError("spandrel recognises no architecture in this state dict either") from err
    if getattr(found, "purpose", "SR") != "SR" or found.input_channels != found.output_channels:
        raise ValueError(f"spandrel finds {found.architecture.name}, which is not a super-resolution network "
                         f"({found.purpose}, {found.input_channels} -> {found.output_channels} channels)")
    model = found.model.eval()
    model.build_args = {
        "method": EXTERNAL, "size": str(found.architecture.id), "scale": int(found.scale),
        "colors": int(found.input_channels), "options": {},
        "external": {"library": "spandrel", "version": getattr(spandrel, "__version__", "unknown"),
                     "architecture": str(found.architecture.name)},
    }
    return model, model.build_args


def rebuild(build_args: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> nn.Module:
    """An external model file's network: detected again from its stored weights, checked against build_args."""
    model, found = detect(state)
    if (found["size"], found["scale"], found["colors"]) != (build_args["size"], build_args["scale"], build_args["colors"]):
        raise ValueError(f"the stored weights are a {found['size']} x{found['scale']} network, not the "
                         f"{build_args['size']} x{build_args['scale']} its build_args describe")
    model.build_args = dict(build_args)
    return model
