"""ONNX Runtime deployment-mode throughput: same record format as PyTorch's, correct outputs, clear errors."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import methods
from repbench import measure
from repbench.measure import onnx_throughput as ot
from repbench.cli import main as cli_main
from repbench.errors import RepbenchError

pytest.importorskip("onnxruntime")
TINY = measure.ThroughputConfig(batch=2, lr_height=12, lr_width=16, device="cpu", warmup=1, repeats=3, iters=2, threads=1)


def _merged() -> torch.nn.Module:
    torch.manual_seed(0)
    return methods.merge(methods.build("repsr", "M2C8").eval())


def test_records_match_pytorch_format() -> None:
    merged = _merged()
    (rec,) = ot.onnx_throughput(merged, TINY)
    (ref,) = measure.measure_throughput({"merged": merged}, 1, 4, TINY)
    assert {f.name for f in dataclasses.fields(rec)} == {f.name for f in dataclasses.fields(ref)}
    assert rec.error is None, rec.error
    assert (rec.net, rec.mode, rec.device, rec.dtype, rec.memory_format) == ("merged", "onnxruntime-cpu", "cpu", "float32", "contiguous")
    assert (rec.batch, rec.out_height, rec.out_width, rec.iters_per_repeat, rec.threads) == (2, 48, 64, 2, 1)
    assert len(rec.samples) == 3 and rec.images_per_s == pytest.approx(float(np.median(rec.samples)))
    assert rec.images_per_s_min <= rec.images_per_s <= rec.images_per_s_max
    assert rec.ms_per_batch == pytest.approx(1e3 * 2 / rec.images_per_s)
    assert "ONNX Runtime CPUExecutionProvider" in rec.label and "CPU float32" in rec.label
    json.dumps(dataclasses.asdict(rec))  # JSON-ready like the PyTorch records


def test_timed_session_computes_the_network(tmp_path) -> None:
    from repbench.inference.onnx_export import export_onnx

    merged = _merged()
    path = export_onnx(merged, tmp_path / "m.onnx")
    x = torch.rand(1, 1, 9, 11)
    run, _ = ot._session_runner(str(path), "cpu", x.numpy(), torch.device("cpu"), 1, torch.float32)
    out = run().copy_outputs_to_cpu()[0]
    with torch.no_grad():
        assert np.abs(out - merged(x).numpy()).max() < 1e-4


def test_default_providers_on_cpu() -> None:
    assert ot.default_providers("cpu") == ["cpu"]
    assert "cpu" in ot.available_providers()


@pytest.mark.parametrize(
    "providers,match",
    [(["turbo"], "unknown ONNX Runtime provider 'turbo'"), (["cuda"], "no CUDAExecutionProvider|runs on a GPU")],
)
def test_bad_providers_are_clear_errors(providers: list[str], match: str) -> None:
    if "cuda" in providers and "cuda" in ot.available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(RepbenchError, match=match):
        ot.onnx_throughput(_merged(), TINY, providers=providers)


def test_measure_cli_writes_onnx_records_beside_pytorch(tmp_path, capsys) -> None:
    out = tmp_path / "m.json"
    argv = ["measure", "--method", "plain", "--size", "M2C8", "--throughput", "--onnx", "--device", "cpu",
            "--batch", "1", "--lr-size", "16x12", "--repeats", "2", "--warmup", "1", "--iters", "2", "--out", str(out)]
    assert cli_main(argv) == 0
    records = json.loads(out.read_text())["throughput"]
    assert [(r["net"], r["mode"]) for r in records] == [("merged", "eager"), ("unmerged", "eager"), ("merged", "onnxruntime-cpu")]
    assert all(r["images_per_s"] > 0 and r["error"] is None for r in records)
    assert "onnxruntime-cpu" in capsys.readouterr().out
    assert cli_main(["measure", "--method", "plain", "--size", "M2C8", "--onnx"]) == 2
    assert "add --throughput" in capsys.readouterr().err
