"""Adding a method is one file (tests/toy_method.py) and one registry line; everything else follows."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import torch

import methods
from methods import registry
from repbench import report
from repbench.pipeline import config as pipeline_config
from repbench.cli import main
from runfolders import write_file

REPO = Path(__file__).resolve().parents[1]
TOY = registry.MethodInfo("toy", "toy_method", "Toy", "M{m}C{c}", True, {"with_1x1": True}, closed_form="mxcy")


@pytest.fixture
def toy() -> Iterator[registry.MethodInfo]:
    registry.register(TOY)  # the one registry line a new method adds to methods/registry.py
    yield TOY
    registry.unregister(TOY.name)


def test_registry_is_torch_free_and_complete() -> None:
    import subprocess
    import sys

    code = "import sys, methods.registry as r; print(len(r.methods()), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.split() == [str(len(registry.methods())), "False"]
    for name in registry.methods():  # every method builds with exactly its registered options
        model = methods.build(name, registry.info(name).size_format.format(m=1, c=4, r=1, b=1), scale=2)
        assert model.build_args["method"] == name


def test_toy_method_is_listed_by_repbench_methods(toy: registry.MethodInfo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("toy "))
    assert "M{m}C{c}" in line and "merges (one conv per block)" in line and "with_1x1=True" in line
    assert "toy" in methods.METHODS


def test_toy_method_builds_and_merges_exactly(toy: registry.MethodInfo) -> None:
    model = methods.build("toy", "M2C8", scale=4, colors=1)
    merged = methods.merge(model)
    x = torch.rand(1, 1, 10, 12)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), merged(x), atol=1e-5)
    assert methods.options_of("toy") == {"with_1x1": True}
    with pytest.raises(ValueError, match="unknown option"):
        methods.build("toy", "M2C8", expand=2)


def test_toy_method_passes_preset_validation(toy: registry.MethodInfo) -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    preset["experiments"]["table2"]["runs"].append({"method": "toy", "sizes": ["M1C4"]})
    pipeline_config.validate_preset(preset, REPO)
    plan = pipeline_config.plan(preset)
    assert plan.runs["toy-M1C4-x4"].config["method"] == "toy"
    preset["experiments"]["table2"]["runs"].append({"method": "toy", "sizes": ["R1C4"]})
    with pytest.raises(ValueError, match=r"method toy: malformed size 'R1C4'.*expected M\{m\}C\{c\}"):
        pipeline_config.plan(preset)
    registry.unregister("toy")  # without its registry line the same preset fails the schema check
    with pytest.raises(ValueError, match="'toy' is not one of"):
        pipeline_config.validate_preset(preset, REPO)


def test_toy_method_appears_in_a_rendered_table(toy: registry.MethodInfo, tmp_path: Path) -> None:
    root = tmp_path / "runs" / "test"
    write_file(root / "toy-M1C4-x4" / "train.json", {"method": "toy", "size": "M1C4", "scale": 4, "colors": 1,
                                                 "options": {}, "iterations": 10, "status": "complete"})
    for name, psnr in (("toy-M1C4-x4", 29.5), ("bicubic-x4", 28.43), ("nearest-x4", 26.2)):
        write_file(root / name / "eval" / "Set5-x4.json",
               {"dataset": "Set5", "scale": 4, "n_images": 1, "psnr_y": psnr, "ssim_y": 0.8, "psnr_rgb": psnr - 0.3})
    report.build_report(root, tmp_path / "out", only=["table2"])
    table = (tmp_path / "out" / "table2.md").read_text()
    assert "Toy-M1C4" in table and "29.50" in table
