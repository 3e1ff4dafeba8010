"""Contracts of repbench.measure: counts in both conventions, MACs three ways, throughput and training records."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

import methods
from repbench import measure
from repbench.measure import peaks
from repbench.cli import main as cli_main
from repbench.errors import RepbenchError

# docs/conventions.md section 3: Y channel, x4, true deployed count and the paper's Table 2 columns.
TABLE2 = {
    "M4C8": (3_624, 3_664, "3.7K / 0.21G"),
    "M4C16": (11_840, 11_920, "11.9K / 0.69G"),
    "M10C16": (25_856, 26_032, "26.0K / 1.50G"),
    "M10C32": (97_776, 98_128, "98.1K / 5.65G"),
    "M16C64": (601_808, 602_896, "602.9K / 34.73G"),
}
TINY = measure.ThroughputConfig(batch=2, lr_height=12, lr_width=16, device="cpu", warmup=1, repeats=2, iters=1)


@pytest.mark.parametrize("size", list(TABLE2))
def test_table2_counts_both_conventions(size: str) -> None:
    true, paper, text = TABLE2[size]
    counts = measure.measure_counts(measure.build_pair("repsr", size, scale=4, colors=1))
    assert (counts.lr_height, counts.lr_width, counts.out_height, counts.out_width) == (180, 320, 720, 1280)
    assert counts.deployed_params == true
    assert counts.paper_params == paper and counts.paper_convention == "mxcy"
    assert counts.paper_flops == paper * 57_600
    assert counts.paper_text == text
    # MACs three ways: fvcore, the closed form of docs/conventions.md section 1, torch's FlopCounterMode / 2.
    assert counts.macs == counts.macs_closed_form == counts.macs_flop_counter
    assert counts.macs_by_operator == {"conv": counts.macs}
    m = int(size[1:].split("C")[0])
    assert counts.convs == m + 2
    assert counts.training_params > counts.deployed_params and counts.macs_training > 4 * counts.macs


@pytest.mark.parametrize("method", ["plain", "repvgg", "ecbsr", "repsr"])
def test_every_mxcy_method_deploys_to_the_same_counts(method: str) -> None:
    pair = measure.build_pair(method, "M4C8")
    assert methods.count_params(pair.deployed) == 3_624
    assert measure.paper_params(pair.deployed, method) == (3_664, "mxcy")
    assert len(measure.conv_layers(pair.deployed)) == 6
    x = torch.rand(1, 1, 180, 320)
    assert measure.flop_counter_macs(pair.deployed, x) == measure.closed_form_macs(pair.build_args, 180, 320)


@pytest.mark.parametrize(("size", "weights", "text"), [
    ("M5C16", 18_320, "18.32K / 1.05G"), ("M11C16", 32_144, "32.14K / 1.85G"), ("M11C32", 114_976, "114.97K / 6.62G"),
])
def test_sesr_counts_conv_weights_only(size: str, weights: int, text: str) -> None:
    counts = measure.measure_counts(measure.build_pair("sesr", size))
    assert counts.paper_convention == "conv_weights"
    assert counts.paper_params == weights and counts.paper_text == text
    m, c = (int(v) for v in size[1:].split("C"))
    assert counts.deployed_params == weights + m * c  # + the PReLU slopes; deployed convs have no bias
    assert counts.macs == counts.macs_closed_form == counts.macs_flop_counter
    assert counts.convs == m + 2


def test_edsr_reference_counts() -> None:
    counts = measure.measure_counts(measure.build_pair("edsr", "R5C32", scale=4, colors=3))
    assert counts.deployed_params == counts.training_params == 177_475
    assert counts.macs == counts.macs_closed_form == counts.macs_flop_counter == 17_302_118_400
    assert f"{counts.macs / 1e9:.2f}" == "17.30"
    assert not counts.merged and counts.convs == 15
    assert any("241.8K" in n for n in counts.notes)


def test_x3_uses_the_nearest_lr_size_and_says_so() -> None:
    assert measure.lr_size(2) == (360, 640) and measure.lr_size(4) == (180, 320)
    assert measure.lr_size(3) == (240, 427)
    counts = measure.measure_counts(measure.build_pair("repsr", "M4C8", scale=3))
    assert (counts.out_height, counts.out_width) == (720, 1281)
    assert counts.macs == counts.macs_closed_form == counts.macs_flop_counter
    assert any("720x1281" in n for n in counts.notes)


def test_conv_traffic_counts_weights_and_activations() -> None:
    net = measure.build_pair("repsr", "M4C8").deployed
    x = torch.rand(2, 1, 10, 12)
    traffic = measure.conv_traffic(net, x)
    assert traffic.macs == measure.closed_form_macs(net.build_args, 10, 12) * 2
    assert traffic.weight_bytes == 4 * sum(p.numel() for c in net.convs for p in c.parameters())
    chans = [1, 8, 8, 8, 8, 8, 16]
    assert traffic.activation_bytes == 4 * 2 * 10 * 12 * sum(i + o for i, o in zip(chans[:-1], chans[1:]))
    # Functional convs (ECB's edge branches) are seen too: the training-time net's count matches FlopCounterMode.
    ecb = measure.build_pair("ecbsr", "M4C8").training
    assert measure.conv_traffic(ecb, x).macs == measure.flop_counter_macs(ecb, x)


def test_roofline_bound_and_fraction() -> None:
    peak = peaks.DevicePeak("toy", fp16_tflops=100.0, bandwidth_gbs=1000.0)
    low = measure.ConvTraffic(macs=10**9, weight_bytes=10**9, activation_bytes=10**9)  # 1 FLOP/byte
    r = measure.roofline(low, batches_per_s=100.0, peak=peak)
    assert r.intensity_flop_per_byte == pytest.approx(1.0)
    assert r.bound_by == "memory" and r.bound_tflops == pytest.approx(1.0)
    assert r.achieved_tflops == pytest.approx(0.2) and r.fraction == pytest.approx(0.2)
    high = measure.ConvTraffic(macs=10**12, weight_bytes=10**6, activation_bytes=10**6)
    assert measure.roofline(high, 1.0, peak).bound_by == "compute"


def test_device_table_and_yaml(tmp_path: Path) -> None:
    assert peaks.lookup("NVIDIA A100-SXM4-80GB").name.startswith("A100")
    assert peaks.lookup("NVIDIA H100 80GB HBM3").bandwidth_gbs == 3350.0
    assert peaks.lookup("NVIDIA H200").bandwidth_gbs == 4800.0
    assert peaks.lookup("NVIDIA H100 PCIe") is None and peaks.lookup("NVIDIA H200 NVL") is None
    table = tmp_path / "gpus.yaml"
    table.write_text("- {name: L40S, fp16_tflops: 362, bandwidth_gbs: 864, match: l40s}\n")
    extra = peaks.load_yaml(table)
    assert peaks.lookup("NVIDIA L40S", extra).fp16_tflops == 362.0
    table.write_text("- {name: X, match: x}\n")
    with pytest.raises(RepbenchError, match="missing fp16_tflops"):
        peaks.load_yaml(table)


def test_throughput_records_on_cpu() -> None:
    pair = measure.build_pair("repsr", "M4C8")
    records = measure.throughput_pair(pair, TINY)
    assert [r.net for r in records] == ["merged", "unmerged"]
    for r in records:
        assert (r.mode, r.device, r.dtype, r.memory_format) == ("eager", "cpu", "float32", "contiguous")
        assert (r.batch, r.lr_height, r.lr_width, r.out_height, r.out_width) == (2, 12, 16, 48, 64)
        assert r.torch_version == torch.__version__ and r.threads >= 1 and r.device_name.startswith("CPU")
        assert "CPU float32" in r.label and "reduced protocol" in r.label
        assert r.error is None and len(r.samples) == 2 and r.iters_per_repeat == 1
        assert r.images_per_s_min <= r.images_per_s <= r.images_per_s_max
        assert r.ms_per_batch == pytest.approx(1e3 * 2 / r.images_per_s)
        assert r.roofline is None and "CPU" in r.roofline_note
    # Explicit peaks give a roofline on any device.
    cfg = measure.ThroughputConfig(**{**TINY.__dict__, "peak": peaks.DevicePeak("user", 1.0, 100.0)})
    (rec,) = measure.throughput_pair(pair, cfg, unmerged=False)
    assert rec.roofline is not None and 0 < rec.roofline.fraction
    assert rec.roofline.macs_per_batch == 2 * measure.closed_form_macs(pair.build_args, 12, 16)


def test_non_mergeable_method_times_its_training_net() -> None:
    records = measure.throughput_pair(measure.build_pair("edsr", "R1C8"), TINY)
    assert [r.net for r in records] == ["training-time"]


def test_bad_throughput_settings_are_clear() -> None:
    pair = measure.build_pair("repsr", "M4C8")
    for change, message in [
        ({"modes": ("eager-cudagraph",)}, "needs a CUDA device"),
        ({"modes": ("turbo",)}, "unknown throughput mode"),
        ({"dtype": "float16"}, "float16"),
        ({"batch": 0}, "batch must be >= 1"),
    ]:
        with pytest.raises(RepbenchError, match=message):
            measure.throughput_pair(pair, measure.ThroughputConfig(**{**TINY.__dict__, **change}))
    if not torch.cuda.is_available():
        with pytest.raises(RepbenchError, match="no CUDA"):
            measure.resolve_device("cuda")


def test_train_speed_record() -> None:
    pair = measure.build_pair("repsr", "M4C8")
    before = {k: v.clone() for k, v in pair.training.state_dict().items()}
    cfg = measure.TrainSpeedConfig(batch=2, patch=8, warmup=1, iters=2, device="cpu", projected_iterations=1_000_000)
    rec = measure.measure_train_speed(pair.training, 1, 4, cfg)
    assert (rec.batch, rec.lr_patch, rec.hr_patch, rec.dtype, rec.iters) == (2, 8, 32, "float32", 2)
    assert rec.s_per_iter > 0 and len(rec.samples) == 2
    assert rec.projected_hours == pytest.approx(rec.s_per_iter * 1_000_000 / 3600)
    assert all(torch.equal(before[k], v) for k, v in pair.training.state_dict().items())  # timed on a copy


def test_bad_inputs_raise_actionable_errors(tmp_path: Path) -> None:
    with pytest.raises(RepbenchError, match="unknown method 'nope'"):
        measure.build_pair("nope", "M4C8")
    with pytest.raises(RepbenchError, match="malformed size"):
        measure.build_pair("repsr", "R5C32")
    with pytest.raises(RepbenchError, match="does not exist"):
        measure.load_pair(str(tmp_path / "missing.pt"))
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model")
    with pytest.raises(RepbenchError, match="not a repbench model file"):
        measure.load_pair(str(junk))


def test_saved_models_measure_like_built_ones(tmp_path: Path) -> None:
    pair = measure.build_pair("ecbsr", "M4C8")
    for name, model in (("train.pt", pair.training), ("merged.pt", pair.deployed)):
        loaded = measure.load_pair(str(methods.save(model, tmp_path / name)))
        assert loaded.merged and loaded.source.endswith(name)
        assert methods.count_params(loaded.deployed) == 3_624
        assert methods.count_params(loaded.training) == methods.count_params(pair.training)


def test_cli_writes_raw_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    rc = cli_main([
        "measure", "--method", "repsr", "--size", "M4C8", "--option", "expand=3", "--out", str(out),
        "--throughput", "--lr-size", "16x12", "--batch", "2", "--warmup", "0", "--repeats", "1", "--iters", "1",
        "--train-speed", "--train-batch", "2", "--train-patch", "8", "--train-warmup", "0", "--train-iters", "1",
    ])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["model"]["options"] == {"expand": 3}
    assert data["counts"]["deployed_params"] == 3_624 and data["counts"]["paper_params"] == 3_664
    assert [r["net"] for r in data["throughput"]] == ["merged", "unmerged"]
    assert data["throughput"][0]["lr_width"] == 16 and data["train_speed"]["batch"] == 2
    assert data["environment"]["torch"] == torch.__version__
    assert "3.7K / 0.21G" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "no/such/model.pt"], "does not exist"),
    (["--method", "nope", "--size", "M4C8"], "unknown method"),
    (["--method", "repsr"], "give --method and --size"),
    (["--method", "repsr", "--size", "M4C8", "--option", "expand"], "key=value"),
    (["--method", "repsr", "--size", "M4C8", "--throughput", "--lr-size", "320"], "WIDTHxHEIGHT"),
])
def test_cli_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["measure", *argv]) == 2
    assert message in capsys.readouterr().err


def test_benchmark_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_throughput.py"
    spec = importlib.util.spec_from_file_location("bench_throughput", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--method", "repsr", "--size", "M4C8", "--lr-size", "16x12", "--batch", "1",
                       "--warmup", "0", "--repeats", "1", "--iters", "1"]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:2] == ["repsr", "M4C8"] and math.isfinite(float(row[-1].rstrip("x")))


def test_collapsed_runs_are_timed_in_their_multi_branch_form(tmp_path) -> None:
    """Table 3 compares the methods as the papers train them, not the collapsed shortcut."""
    import methods
    from repbench import measure as m

    model = methods.build("ecbsr", "M1C4", scale=2, colors=1, collapsed=True)
    path = methods.save(model, tmp_path / "final.pt")
    pair = m.load_pair(str(path))
    assert all(not b.collapsed for b in pair.training.modules() if hasattr(b, "collapsed"))
    assert pair.build_args["options"] == {"collapsed": True}
    x = torch.rand(1, 1, 9, 11)
    with torch.inference_mode():
        assert torch.allclose(pair.training(x), model.eval()(x), atol=1e-5)
