"""ONNX export of a deployable network, with dynamic batch / height / width.

The input is named "lr" (N x C x H x W, float32 in [0, 1]) and the output "sr"
(N x C x sH x sW). `check_onnx` runs the file with onnxruntime and returns the
largest absolute difference to PyTorch, the number the export is judged by.
"""
from __future__ import annotations

import copy
import os
import tempfile
import warnings
from pathlib import Path
from typing import Iterable

import torch

from repbench.errors import RepbenchError
from repbench.outputs import write_error

OPSET = 17


def export_onnx(model, path: str | os.PathLike, opset: int = OPSET) -> Path:
    """Write `model` (a copy, on CPU, in eval mode) to `path` atomically."""
    path = Path(path)
    colors = model.build_args["colors"]
    example = torch.rand(1, colors, 32, 32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise write_error(path, err) from err
    os.close(fd)
    model = copy.deepcopy(model).cpu().eval()
    try:
        with warnings.catch_warnings():
            # The TorchScript-based exporter handles dynamic axes of these plain conv nets
            # without extra packages; the torch.export one would need onnxscript.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                tmp,
                input_names=["lr"],
                output_names=["sr"],
                dynamic_axes={"lr": {0: "batch", 2: "height", 3: "width"}, "sr": {0: "batch", 2: "out_height", 3: "out_width"}},
                opset_version=opset,
                dynamo=False,
            )
        os.replace(tmp, path)
    except OSError as err:  # the file system refused the file (a folder in its place): no export problem
        raise write_error(path, err) from err
    except Exception as err:
        raise RepbenchError(f"ONNX export of {model.build_args['method']} failed: {type(err).__name__}: {err}") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def check_onnx(model, path: str | os.PathLike, shapes: Iterable[tuple[int, int, int]] = ((1, 48, 40), (2, 23, 37))) -> float:
    """Max |onnxruntime - PyTorch| over random inputs of the given (batch, H, W) shapes."""
    import numpy as np
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    colors = model.build_args["colors"]
    model = copy.deepcopy(model).cpu().eval()
    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    for n, h, w in shapes:
        x = torch.rand(n, colors, h, w, generator=gen)
        with torch.no_grad():
            ref = model(x).numpy()
        out = session.run(["sr"], {"lr": x.numpy()})[0]
        if out.shape != ref.shape:
            raise RepbenchError(f"ONNX output shape {out.shape} differs from PyTorch {ref.shape} for input {tuple(x.shape)}")
        worst = max(worst, float(np.abs(out - ref).max()))
    return worst
