"""What `--model` names, in every command: a model file, or a run folder standing for its model.

A run folder holds two model files: final.pt (the training-time net, BN and branches intact) and
deployed.pt (the merged net). Which one a folder stands for depends on what the command needs,
never on the command's whim:

- running the network for images or scores (eval, upscale, merge): the deployed net first, since
  it is the one users ship and the faster one; final.pt when the run was never merged;
- looking at the training-time structure (measure's unmerged timing and counts, bn-diagnose):
  final.pt first, since deployed.pt has the branches and BN folded away.

`bicubic` and `nearest` are accepted where a fixed upsampler is a meaningful floor (eval, upscale).
Torch-free: the CLI parsers import it.
"""
from __future__ import annotations

import os
from pathlib import Path

from repbench.errors import RepbenchError

FLOORS: tuple[str, ...] = ("bicubic", "nearest")
RUN_FILES: tuple[str, ...] = ("deployed.pt", "final.pt")
DEPLOYED_FIRST: tuple[str, ...] = ("deployed.pt", "final.pt")
TRAINING_FIRST: tuple[str, ...] = ("final.pt", "deployed.pt")


def is_floor(spec: object) -> bool:
    return isinstance(spec, str) and spec in FLOORS


def model_path(spec: str | os.PathLike, order: tuple[str, ...] = DEPLOYED_FIRST, floors: bool = False) -> Path:
    """The model file `spec` names: itself, or for a run folder its first file of `order` that exists.

    `floors`: the command also takes bicubic / nearest, so the error for a missing path names them."""
    path = Path(spec)
    if path.is_dir():
        for name in order:
            if (path / name).is_file():
                return path / name
        raise RepbenchError(
            f"{path} is a folder without {' or '.join(order)}: give a model file (.pt written by `repbench "
            "train` or `merge`) or a finished run folder (rerun `repbench train` on it to finish it)"
        )
    if path.is_file():
        return path
    also = ", or 'bicubic' / 'nearest'" if floors else ""
    raise RepbenchError(f"--model {spec} does not exist: give a model file (.pt) or a run folder{also}")
