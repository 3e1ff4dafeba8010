"""Timing a reader can trust: one timing per deployed network, the spread between processes, speed ties."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from methods import registry
from repbench.pipeline import config as pipeline_config
from repbench.pipeline import timing_groups
from repbench.measure.models import architecture_signature, build_pair
from repbench.measure.processes import combine
from repbench.measure.throughput import ThroughputRecord
from repbench.report.front import pareto_mask

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- which networks are one


@pytest.mark.parametrize("method", [m for m in registry.METHODS if registry.info(m).deploys_as])
def test_a_deploys_as_claim_is_the_built_network(method: str) -> None:
    info = registry.info(method)
    target = info.deploys_as
    sizes = info.table_sizes[:2] or ("B4",)
    for size in sizes:
        mine = build_pair(method, size, 4, 1 if info.size_format.startswith("M") else 3)
        theirs = build_pair(target, size, 4, mine.build_args["colors"])
        assert architecture_signature(mine.deployed) == architecture_signature(theirs.deployed), (method, size)
        assert registry.deployed_arch(method, size, 4, mine.build_args["colors"]) == registry.deployed_arch(
            target, size, 4, mine.build_args["colors"])


def test_different_networks_get_different_names_and_signatures() -> None:
    pairs = {
        "plain M4C8 Y": ("plain", "M4C8", 4, 1, {}), "plain M4C16 Y": ("plain", "M4C16", 4, 1, {}),
        "plain M4C8 RGB": ("plain", "M4C8", 4, 3, {}), "plain M4C8 x2": ("plain", "M4C8", 2, 1, {}),
        "edsr": ("edsr", "R1C4", 2, 3, {}), "edsr bn": ("edsr", "R1C4", 2, 3, {"bn": True}),
    }
    names = {k: registry.deployed_arch(m, s, sc, c, o) for k, (m, s, sc, c, o) in pairs.items()}
    sigs = {k: architecture_signature(build_pair(m, s, sc, c, **o).deployed) for k, (m, s, sc, c, o) in pairs.items()}
    assert len(set(names.values())) == len(pairs) and len(set(sigs.values())) == len(pairs)
    # options that only change training (collapsed) or only the training-time net (RepSR's expand) do not count
    assert registry.deployed_arch("repsr", "M4C8", 4, 1, {"expand": 3, "branches": 4}) == "plain-M4C8-x4-c1"
    assert registry.deployed_arch("imdn-clb", "B7", 4, 3, {"collapsed": True}) == "imdn-B7-x4-c3"


def test_every_timing_group_of_the_cpu_preset_is_one_network() -> None:
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "cpu"}, REPO))
    specs = [plan.spec(r) for r in [*plan.runs, *plan.published]]
    arch, timed = timing_groups.timing_groups(specs, prefer=plan.published)
    assert timed["plain-M4C8-x4-c1"] == "plain-M4C8-x4"  # the deployed method's own run is the one timed
    assert timed["imdn-B8-x4-c3"] == "imdn-ntire2022"  # a released file first: its timing waits for no training
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.run_id not in arch or spec.run_id in plan.published:  # released files: their own checks
            continue
        sig = architecture_signature(build_pair(spec.method, spec.size, spec.scale, spec.colors, **spec.options).deployed)
        assert seen.setdefault(arch[spec.run_id], sig) == sig, spec.run_id
    assert len(set(seen.values())) == len(seen)  # and different groups are different networks


# --------------------------------------------------------------------------- the spread between processes


def _rec(net: str, ips: float, samples: list[float]) -> ThroughputRecord:
    return ThroughputRecord(net=net, mode="eager", device="cpu", device_name="CPU", dtype="float32",
                            memory_format="contiguous", batch=2, lr_height=8, lr_width=8, out_height=32, out_width=32,
                            torch_version="x", threads=1, cudnn_benchmark=None, warmup=0, repeats=len(samples),
                            iters_per_repeat=1, label="", images_per_s=ips, samples=samples)


def test_a_figure_is_the_median_of_the_processes_and_its_spread_is_between_them() -> None:
    # three processes whose own repeats agree closely, while the processes differ by a third
    per_process = [[_rec("merged", 300.0, [299.0, 300.0, 301.0])], [_rec("merged", 400.0, [399.0, 400.0, 401.0])],
                   [_rec("merged", 330.0, [329.0, 330.0, 331.0])]]
    (rec,) = combine(per_process)
    assert rec.images_per_s == 330.0 and rec.processes == 3 and rec.process_medians == [300.0, 400.0, 330.0]
    assert (rec.images_per_s_min, rec.images_per_s_max) == (300.0, 400.0)
    assert rec.ms_per_batch == pytest.approx(1e3 * 2 / 330.0) and len(rec.samples) == 9


def _measure(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repbench.cli", "measure", "--throughput", "--batch", "1",
                           "--lr-size", "16x12", "--repeats", "2", "--warmup", "1", "--iters", "2", "--threads", "1",
                           *args], capture_output=True, text=True, timeout=300, cwd=REPO)


def test_identical_networks_share_one_timing_and_another_network_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "plain-M1C4.json"
    timed = _measure("--method", "plain", "--size", "M1C4", "--deployed-only", "--processes", "2", "--out", str(shared))
    assert timed.returncode == 0, timed.stderr
    (record,) = json.loads(shared.read_text())["throughput"]  # only the deployed net
    assert record["net"] == "merged" and record["processes"] == 2 and len(record["process_medians"]) == 2
    assert record["images_per_s_min"] <= record["images_per_s"] <= record["images_per_s_max"]
    assert "median of 2 processes" in timed.stdout

    out = tmp_path / "repvgg.json"
    result = _measure("--method", "repvgg", "--size", "M1C4", "--deployed-timing", str(shared), "--out", str(out))
    assert result.returncode == 0, result.stderr
    records = {r["net"]: r for r in json.loads(out.read_text())["throughput"]}
    assert records["merged"]["images_per_s"] == record["images_per_s"] and records["merged"]["shared_from"] == str(shared)
    assert records["unmerged"]["architecture"] != record["architecture"]  # its branched net, timed here

    plain = tmp_path / "plain.json"
    assert _measure("--method", "plain", "--size", "M1C4", "--deployed-timing", str(shared), "--out", str(plain)).returncode == 0
    plain_records = {r["net"]: r for r in json.loads(plain.read_text())["throughput"]}
    assert plain_records["unmerged"]["images_per_s"] == plain_records["merged"]["images_per_s"]  # one network

    other = _measure("--method", "plain", "--size", "M1C8", "--deployed-timing", str(shared))
    assert other.returncode == 2 and "another network" in other.stderr and "Traceback" not in other.stderr


@pytest.mark.parametrize("args, words", [
    (("--deployed-only", "--deployed-timing", "x.json"), "give one"),
    (("--processes", "0"), "--processes must be >= 1"),
    (("--deployed-timing", "missing.json"), "no such file"),
])
def test_bad_timing_flags_are_refused(args: tuple[str, ...], words: str) -> None:
    result = _measure("--method", "plain", "--size", "M1C4", *args)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- ties on the front


def test_a_speed_difference_inside_the_spread_is_a_tie() -> None:
    # cost = -images/s. A: 29.9 dB at 125 img/s (110-130); B: 30.0 dB at 115 (105-125): A's lead in speed is
    # inside the spread, a tie, and B is better
    cost = [-125.0, -115.0]
    assert pareto_mask(cost, [29.9, 30.0], [(-130.0, -110.0), (-125.0, -105.0)]) == [False, True]
    # without ranges, A would be on the front by being "faster"
    assert pareto_mask(cost, [29.9, 30.0]) == [True, True]
    # clearly faster (ranges apart) at the same PSNR dominates; a tie in both keeps both
    assert pareto_mask([-200.0, -110.0], [30.0, 30.0], [(-210.0, -190.0), (-120.0, -100.0)]) == [True, False]
    assert pareto_mask([-110.0, -115.0], [30.0, 30.0], [(-120.0, -100.0), (-125.0, -105.0)]) == [True, True]


def test_a_psnr_difference_inside_the_seed_spread_is_a_tie() -> None:
    # one deployed network (one timing), two methods 0.01 dB apart with seed deviations of 0.04 and 0.06: a tie,
    # both stay on the front; 0.2 dB apart with the same deviations: the better one wins
    speed = [(-660.0, -550.0)] * 2
    assert pareto_mask([-640.0] * 2, [29.33, 29.32], speed, [(29.29, 29.37), (29.26, 29.38)]) == [True, True]
    assert pareto_mask([-640.0] * 2, [29.53, 29.32], speed, [(29.49, 29.57), (29.26, 29.38)]) == [True, False]
    # a faster network with a tied score still beats a slower one
    assert pareto_mask([-900.0, -640.0], [29.30, 29.32], [(-950.0, -880.0), (-660.0, -550.0)],
                       [(29.25, 29.35), (29.26, 29.38)]) == [True, False]

