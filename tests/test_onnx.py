"""`repbench merge RUN`: deployed.pt + deployed.onnx, and onnxruntime agrees with PyTorch."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import methods
from repbench import cli
from repbench.inference.deploy import ONNX_TOLERANCE


def _randomize_bn(model: torch.nn.Module) -> None:
    """Non-trivial BN statistics and affine params, as after training (so BN fusion matters)."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def _fake_run(tmp_path, method, size, scale, colors, **options):
    torch.manual_seed(0)
    model = methods.build(method, size, scale, colors, **options)
    _randomize_bn(model)
    methods.save(model.eval(), tmp_path / "final.pt")
    return model


@pytest.mark.parametrize(
    "method, size, scale, colors",
    [("repsr", "M2C8", 4, 1), ("ecbsr", "M2C8", 3, 3), ("edsr", "R2C8", 2, 3)],
)
def test_merge_writes_deployed_and_matching_onnx(tmp_path, method, size, scale, colors, capsys):
    trained = _fake_run(tmp_path, method, size, scale, colors)
    assert cli.main(["merge", str(tmp_path)]) == 0
    assert "max abs error" in capsys.readouterr().out
    deployed = methods.load(tmp_path / "deployed.pt").eval()
    assert deployed.build_args.get("merged", False) == methods.is_mergeable(method)

    model = onnx.load(tmp_path / "deployed.onnx")
    onnx.checker.check_model(model)
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", colors, "height", "width"]  # dynamic batch, H and W

    session = ort.InferenceSession(str(tmp_path / "deployed.onnx"), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(2)
    for shape in [(1, colors, 17, 29), (3, colors, 40, 24)]:
        x = torch.rand(*shape, generator=gen)
        with torch.no_grad():
            ref = deployed(x)
            assert torch.allclose(trained.eval()(x), ref, atol=1e-4)  # the merge itself is exact
        out = session.run(None, {"lr": x.numpy()})[0]
        assert out.shape == (shape[0], colors, shape[2] * scale, shape[3] * scale)
        assert np.abs(out - ref.numpy()).max() <= ONNX_TOLERANCE


def test_merge_keeps_an_existing_deployed_model(tmp_path):
    _fake_run(tmp_path, "repsr", "M1C4", 2, 1)
    assert cli.main(["merge", str(tmp_path)]) == 0
    stamp = (tmp_path / "deployed.pt").stat().st_mtime_ns
    (tmp_path / "final.pt").unlink()  # deployed.pt alone is enough from now on
    assert cli.main(["merge", str(tmp_path)]) == 0
    assert (tmp_path / "deployed.pt").stat().st_mtime_ns == stamp


def test_merge_errors(tmp_path, capsys):
    assert cli.main(["merge", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["merge", str(tmp_path)]) == 2
    assert "is a folder without deployed.pt or final.pt" in capsys.readouterr().err
    (tmp_path / "final.pt").write_bytes(b"not a model")
    assert cli.main(["merge", str(tmp_path)]) == 2
    assert "not a repbench model file" in capsys.readouterr().err
