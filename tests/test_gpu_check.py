"""benchmarks/gpu_check.py: the CPU dry run exercises every part and writes the records a GPU run writes."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def _run(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_help_describes_the_check() -> None:
    proc = _run("--help")
    assert proc.returncode == 0
    for word in ("--dry-run", "--out", "throughput", "ntire", "onnx", "CUDA graph", "roofline"):
        assert word in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_refuses_without_cuda_unless_dry(tmp_path) -> None:
    proc = _run("--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "--dry-run" in proc.stderr and "CUDA" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run("--dry-run", "--out", str(tmp_path / "o"), "--parts", "train,warp")
    assert proc.returncode == 2 and "unknown part(s) warp" in proc.stderr


def test_dry_run_writes_every_record(tmp_path) -> None:
    out = tmp_path / "gpu-check"
    proc = _run("--dry-run", "--device", "cpu", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] is True and summary["device"] == "cpu" and summary["passed"] is True
    assert set(summary["parts"]) == {"train", "throughput", "ntire", "sweep", "onnx"}
    assert all(p["error"] is None and p["records"] > 0 for p in summary["parts"].values())
    assert summary["checks"] and all(c["passed"] for c in summary["checks"] if c["required"])

    train = json.loads((out / "train.json").read_text())
    assert [r["method"] for r in train] == ["plain", "repvgg", "ecbsr", "repsr", "sesr"]
    for r in train:
        assert len(r["losses"]) == r["iterations"] and all(math.isfinite(v) for v in r["losses"])
        assert r["validation_devices"] == ["cpu"] and r["eval_devices"] == ["cpu"]
        assert r["merged_param_devices"] == ["cpu"] and r["amp"] is False  # AMP applies on CUDA only
        assert math.isfinite(r["eval_psnr_y"]) and r["val_psnr_train_json"] is not None

    throughput = json.loads((out / "throughput.json").read_text())
    timed = [r for r in throughput if "skipped" not in r]
    assert {(r["net"], r["mode"]) for r in timed} == {("merged", "eager"), ("unmerged", "eager")}
    assert all(r["images_per_s"] > 0 and r["memory_format"] == "channels_last" for r in timed)
    skipped = {r["mode"]: r["skipped"] for r in throughput if "skipped" in r}
    assert set(skipped) == {"compile", "compile-cudagraph", "eager-cudagraph"} and all(skipped.values())

    ntire = json.loads((out / "ntire.json").read_text())
    assert {r["method"] for r in ntire} == {"repsr", "imdn"}
    assert all(r["timer"] == "perf_counter" and r["batch"] == 1 and r["dtype"] == "float32" for r in ntire)
    assert all(r["images"] == len(r["per_image"]) == 2 and r["ms_mean"] > 0 for r in ntire)

    sweep = json.loads((out / "batch_sweep.json").read_text())
    assert sorted(r["batch"] for r in sweep) == [1, 2] and all(r["net"] == "merged" for r in sweep)

    onnx = json.loads((out / "onnx.json").read_text())
    assert {r["mode"] for r in onnx} == {"eager", "onnxruntime-cpu"}
    assert all(r["images_per_s"] > 0 and r["dtype"] == "float32" and r["memory_format"] == "contiguous" for r in onnx)


def test_spent_budget_skips_parts_and_fails(tmp_path) -> None:
    out = tmp_path / "o"
    proc = _run("--dry-run", "--device", "cpu", "--out", str(out), "--budget-s", "0")
    assert proc.returncode == 1 and "FAILED" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] is False
    assert all(p.get("skipped") == "time budget spent" for p in summary["parts"].values())
