"""A run's deployable network: the merged net (deployed.pt) and its checked ONNX export (deployed.onnx)."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Callable

from torch import nn

import methods
from repbench.errors import RepbenchError
from repbench.inference.modelfile import DEPLOYED_FIRST, RUN_FILES, model_path
from repbench.inference.onnx_export import OPSET, check_onnx, export_onnx
from repbench.outputs import check_output_file

ONNX_TOLERANCE = 1e-4  # max |onnxruntime - PyTorch| accepted for deployed.onnx


def deployable(model: nn.Module) -> nn.Module:
    """The network to deploy: the merged one, or a copy of the training-time net where none exists."""
    try:
        return methods.merge(model)
    except methods.NotMergeableError:
        return copy.deepcopy(model).eval()  # EDSR: the training-time net is the deployed one


def _deployed(run_dir: Path, log: Callable[[str], None]) -> nn.Module:
    deployed_path, final_path = run_dir / "deployed.pt", run_dir / "final.pt"
    try:
        if deployed_path.is_file():
            return methods.load(deployed_path)
        if final_path.is_file():
            deployed = deployable(methods.load(final_path))
            methods.save(deployed, deployed_path)
            log(f"wrote {deployed_path}")
            return deployed
    except ValueError as err:  # a corrupt or foreign model file
        raise RepbenchError(str(err)) from err
    raise RepbenchError(f"{run_dir} is a folder without deployed.pt or final.pt; finish the run first "
                        "(rerun `repbench train` on it)")


def merge_model(spec: str | os.PathLike, opset: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """`repbench merge --model SPEC`: a run folder (or its final.pt / deployed.pt) gets RUN/deployed.pt and
    RUN/deployed.onnx; any other model file gets <stem>-deployed.pt and its .onnx beside it, so that
    merging a loose file never overwrites a run's deployed.pt."""
    path = model_path(spec, DEPLOYED_FIRST)  # the same check (and message) as every other --model
    if Path(spec).is_dir() or path.name in RUN_FILES:
        return merge_run(path.parent, opset=opset, log=log)
    return merge_file(path, opset=opset, log=log)


def merge_run(run_dir: str | os.PathLike, opset: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write RUN/deployed.pt (from final.pt, if missing) and RUN/deployed.onnx, checked with onnxruntime."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RepbenchError(f"run folder {run_dir} does not exist")
    deployed_path = run_dir / "deployed.pt"
    _check_outputs(deployed_path, write_deployed=not deployed_path.is_file())
    return _export(_deployed(run_dir, log), deployed_path, opset, log)


def merge_file(path: str | os.PathLike, opset: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """A model file outside a run folder: its merged net as <stem>-deployed.pt (none needed for a file that
    is already merged) and the ONNX export next to that."""
    path = Path(path)
    try:
        model = methods.load(path)
    except ValueError as err:
        raise RepbenchError(str(err)) from err
    if model.build_args.get("merged"):
        _check_outputs(path, write_deployed=False)
        return _export(model, path, opset, log)
    deployed_path = path.with_name(f"{path.stem}-deployed.pt")
    _check_outputs(deployed_path, write_deployed=True)
    deployed = deployable(model)
    methods.save(deployed, deployed_path)
    log(f"wrote {deployed_path}")
    return _export(deployed, deployed_path, opset, log)


def _check_outputs(deployed_path: Path, write_deployed: bool) -> None:
    """Refuse before merging or exporting a destination that cannot be written: a failed export must
    not leave a fresh deployed.pt behind as if the merge had succeeded."""
    if write_deployed:
        check_output_file(deployed_path, "the deployed network")
    check_output_file(deployed_path.with_suffix(".onnx"), "the ONNX export")


def _export(deployed: nn.Module, deployed_path: Path, opset: int | None, log: Callable[[str], None]) -> dict[str, Any]:
    onnx_path = export_onnx(deployed, deployed_path.with_suffix(".onnx"), opset=opset or OPSET)
    err = check_onnx(deployed, onnx_path)
    if err > ONNX_TOLERANCE:
        raise RepbenchError(f"{onnx_path} disagrees with PyTorch by {err:.3g} (> {ONNX_TOLERANCE}); do not deploy it")
    log(f"wrote {onnx_path} (onnxruntime vs PyTorch: max abs error {err:.2e})")
    return {"deployed": str(deployed_path), "onnx": str(onnx_path), "onnx_max_abs_err": err,
            "params": methods.count_params(deployed)}
