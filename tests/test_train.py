"""The training engine: config layers, patches, schedules, resume, frozen BN, NaN, Ctrl-C, learning."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

import methods
from repbench import cli, provenance
from repbench.errors import RepbenchError
from repbench.training.patches import PatchSampler, batch_loader, to_model_input
from repbench.training.schedules import build_schedule
from repbench.training.config import freeze_start, parse_set, resolve_config
from repbench.training.loop import train

REPO = Path(__file__).resolve().parents[1]

# A tiny RepSR (it has BN, so frozen BN is exercised) on the embedded photos: ~1 s per run.
TINY = {
    "method": "repsr", "size": "M1C4", "scale": 2, "colors": 1, "train_data": "skimage-train",
    "iterations": 12, "batch_size": 4, "patch_size": 16, "lr": 1e-3, "frozen_bn_fraction": 0.25,
    "log_every": 1, "checkpoint_every": 4, "threads": 1, "progress": False,
}


def tiny(**over):
    return resolve_config({**TINY, **over})


def rows(run_dir: Path) -> list[dict]:
    with (run_dir / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


# ----------------------------------------------------------------------------- config


def test_config_layers_recipe_file_flags_and_set(tmp_path):
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("profile: large\niterations: 2000\nlr: 1e-4\noptions: {expand: 3}\n")
    from repbench.training.config import load_yaml_config

    sets = parse_set(["batch_size=8", "options.branches=3", "milestones=[0.5, 0.75]", "amp=false"])
    cfg = resolve_config(load_yaml_config(cfg_file), {"method": "repsr", "size": "M4C8"}, sets)
    assert (cfg.patch_size, cfg.schedule, cfg.cycles) == (48, "cosine", 4)  # from the large recipe profile
    assert cfg.lr == 1e-4 and isinstance(cfg.lr, float)  # YAML 1.1 reads "1e-4" as a string
    assert (cfg.iterations, cfg.batch_size, cfg.amp) == (2000, 8, False)
    assert cfg.options == {"expand": 3, "branches": 3}
    assert cfg.milestones == [0.5, 0.75]
    defaults = resolve_config({"method": "repsr"})
    assert (defaults.patch_size, defaults.lr, defaults.schedule, defaults.batch_size) == (64, 4e-4, "multistep", 32)


@pytest.mark.parametrize(
    "layer, message",
    [
        ({"method": "repsr", "iterationz": 5}, "unknown config field"),
        ({"method": "nosuch"}, "unknown method"),
        ({"method": "repsr", "size": "C16"}, "malformed size"),
        ({"method": "repsr", "options": {"nope": 1}}, "unknown option"),
        ({"method": "repsr", "iterations": "many"}, "must be of type int"),
        ({"method": "repsr", "frozen_bn_fraction": 1.0}, "frozen_bn_fraction"),
        ({}, "no method given"),
    ],
)
def test_config_errors_are_actionable(layer, message):
    with pytest.raises(RepbenchError, match=message):
        resolve_config(layer)



def test_one_layering_rule_for_configs_and_presets():
    from repbench.training.config import layered

    base = {"lr": 1e-3, "options": {"expand": 2}, "milestones": [0.5], "data": {"train": ["T91"], "val": "holdout:10"}}
    over = {"lr": 2e-3, "options": {"branches": 3}, "milestones": [0.2, 0.4], "data": {"val": "holdout:2"}}
    assert layered(base, over) == {"lr": 2e-3, "options": {"expand": 2, "branches": 3}, "milestones": [0.2, 0.4],
                                   "data": {"train": ["T91"], "val": "holdout:2"}}
    assert base["options"] == {"expand": 2}  # the layers are left as they were
    assert layered(base, {"options": None})["options"] is None  # a non-mapping replaces a mapping


def test_field_facts_live_on_the_dataclass():
    from repbench.report.leaderboard.detail import CONFIG_KEYS
    from repbench.training import config as T

    assert T.RUNTIME_FIELDS == {"device", "workers", "threads", "log_every", "val_every", "checkpoint_every",
                                "snapshot_every", "progress"}
    assert set(T.pipeline_set()) == {"method", "size", "scale", "colors", "options", "train_data", "val_data",
                                     "device", "threads", "progress"}
    assert CONFIG_KEYS[: len(T.fields_where("shown"))] == T.fields_where("shown")
    assert {"iterations", "seed", "train_data"} <= set(T.fields_where("shown"))
    assert not set(T.RUNTIME_FIELDS) & {"lr", "iterations", "seed", "method"}  # what is computed never varies

def test_freeze_start():
    assert freeze_start(tiny(iterations=1000, frozen_bn_fraction=0.05)) == 950
    assert freeze_start(tiny(iterations=12, frozen_bn_fraction=0.25)) == 9
    assert freeze_start(tiny(iterations=4, frozen_bn_fraction=0.05)) == 3  # a positive fraction freezes >= 1 step
    assert freeze_start(tiny(frozen_bn_fraction=0.0)) is None


# ----------------------------------------------------------------------------- schedules


def _lrs(kind, n, **kw):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_schedule(opt, kind, 4e-4, n, **kw)
    return [sched.apply(t) for t in range(n)]


def test_multistep_schedule():
    lrs = _lrs("multistep", 100, milestones=[0.2, 0.4, 0.6, 0.8], gamma=0.5)
    assert lrs[0] == lrs[19] == 4e-4 and lrs[20] == 2e-4 and lrs[40] == 1e-4 and lrs[99] == 4e-4 / 16


def test_cosine_schedule_has_four_cycles():
    lrs = _lrs("cosine", 400, cycles=4, lr_min=0.0)
    restarts = [t for t in range(1, 400) if lrs[t] > lrs[t - 1]]
    assert restarts == [100, 200, 300]
    assert lrs[0] == lrs[100] == 4e-4 and lrs[50] == pytest.approx(2e-4) and lrs[99] < 1e-6


# ----------------------------------------------------------------------------- patches


@dataclass
class _Pair:
    name: str
    hr: np.ndarray
    lr: np.ndarray


def test_patches_are_aligned_augmented_and_deterministic():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (60, 84, 3), dtype=np.uint8)
    hr[1::2] = hr[0::2]  # make every 2x2 block's top-left pixel recoverable below
    pair = _Pair("noise", hr, hr[::2, ::2].copy())  # LR = decimated HR, so alignment is checkable
    sampler = PatchSampler([pair], scale=2, colors=3, batch_size=64, patch_size=8, seed=3)
    lr, hr_b = sampler.batch(5)
    assert lr.shape == (64, 3, 8, 8) and hr_b.shape == (64, 3, 16, 16) and lr.dtype == torch.float32
    # Whatever flip/rotation was drawn, it was applied to both: LR is the HR's 2x2 block corner.
    corners = torch.stack([hr_b[:, :, 0::2, 0::2], hr_b[:, :, 0::2, 1::2], hr_b[:, :, 1::2, 0::2], hr_b[:, :, 1::2, 1::2]])
    assert ((corners == lr[None]).all(dim=(2, 3, 4))).any(dim=0).all()
    assert torch.equal(sampler.batch(5)[0], lr)  # a function of (seed, t)
    assert not torch.equal(sampler.batch(6)[0], lr)
    # Y for RGB (BT.601 / 255) and raw intensity for gray.
    y = to_model_input(hr, 1)[0] * 255
    from repbench.scoring.metrics import to_y

    assert np.abs(y - to_y(hr)).max() < 1e-3
    gray = hr[:, :, :1]
    assert np.array_equal(to_model_input(gray, 1)[0] * 255, gray[:, :, 0].astype(np.float32))
    assert to_model_input(gray, 3).shape == (3, 60, 84)


def test_two_stage_patch_size_and_small_images():
    pairs = [_Pair("big", np.zeros((80, 80, 3), np.uint8), np.zeros((40, 40, 3), np.uint8)),
             _Pair("small", np.zeros((40, 40, 3), np.uint8), np.zeros((20, 20, 3), np.uint8))]
    sampler = PatchSampler(pairs, 2, 1, 4, 16, patch_size_stage2=32, stage2_start=10)
    assert sampler.batch(9)[0].shape[-1] == 16 and sampler.batch(10)[0].shape[-1] == 32
    assert list(sampler.eligible(32)) == [0]  # the small image sits out stage 2
    with pytest.raises(RepbenchError, match="patch_size"):
        PatchSampler(pairs, 2, 1, 4, 64)


def test_worker_processes_give_the_same_stream():
    pairs = [_Pair("a", np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3), np.zeros((32, 32, 3), np.uint8))]
    sampler = PatchSampler(pairs, 2, 3, 2, 8, seed=1)
    serial = [(t, lr) for t, lr, _ in batch_loader(sampler, 3, 9, workers=0)]
    parallel = [(t, lr) for t, lr, _ in batch_loader(sampler, 3, 9, workers=2)]
    assert [t for t, _ in parallel] == list(range(3, 9))
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(serial, parallel))


# ----------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """An uninterrupted tiny run with a snapshot every 3 iterations."""
    run = tmp_path_factory.mktemp("runs") / "full"
    record = train(tiny(snapshot_every=3), run)
    return run, record


def test_run_folder_layout(full_run):
    run, record = full_run
    for name in ("config.yaml", "metrics.csv", "checkpoints/last.pt", "final.pt", "deployed.pt", "train.json"):
        assert (run / name).is_file(), name
    stored = json.loads((run / "train.json").read_text())
    assert stored == record and stored["status"] == "complete"
    for key in ("method", "size", "scale", "colors", "options", "iterations", "train_seconds", "sec_per_iter",
                "device", "torch", "val_psnr", "bn_frozen_at", "seed", "finished_at", "git_commit"):
        assert key in stored, key
    # when and from which code (repbench.provenance): a UTC time, and this checkout's commit when there is one
    assert datetime.fromisoformat(stored["finished_at"]).utcoffset() == timedelta(0)
    assert stored["git_commit"] == provenance.git_commit()
    from repbench.training.flops import train_flops  # forward + backward FLOPs of the budget, beside its seconds

    assert stored["budget"]["train_flops"] == train_flops(tiny()) > 0
    assert list(rows(run)[0]) == ["iteration", "loss", "lr", "seconds", "val_psnr", "event"]
    assert [int(r["iteration"]) for r in rows(run)] == list(range(1, 13))
    deployed = methods.load(run / "deployed.pt")
    assert deployed.build_args["merged"] and methods.count_params(deployed) == stored["params_deployed"]
    trained = methods.load(run / "final.pt").eval()
    x = torch.rand(1, 1, 20, 20)
    assert torch.allclose(trained(x), deployed(x), atol=1e-5)


def test_frozen_bn_switch_iteration_and_running_stats(full_run):
    run, record = full_run
    # 12 iterations, fraction 0.25: iterations 10, 11, 12 use population statistics.
    assert record["bn_frozen_at"] == 10
    events = {int(r["iteration"]): r["event"] for r in rows(run) if r["event"]}
    assert events == {10: "bn_frozen"}
    snaps = {i: torch.load(run / "checkpoints" / f"iter_{i:07d}.pt", weights_only=True)["model"] for i in (6, 9, 12)}
    stats = [k for k in snaps[9] if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    affine = [k for k in snaps[9] if ".bn_mid.weight" in k or ".bn_mid.bias" in k]
    assert stats and affine
    assert any(not torch.equal(snaps[6][k], snaps[9][k]) for k in stats)  # updating before the switch
    assert all(torch.equal(snaps[9][k], snaps[12][k]) for k in stats)  # frozen after it
    assert any(not torch.equal(snaps[9][k], snaps[12][k]) for k in affine)  # gamma/beta still train


def test_interrupted_and_resumed_run_is_bit_identical(full_run, tmp_path):
    run, _ = full_run
    cfg = tiny(snapshot_every=3)
    # Stop before the BN switch, then after it, then finish.
    assert train(cfg, tmp_path, stop_after=5)["status"] == "interrupted"
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 5
    assert not (tmp_path / "train.json").exists()
    assert train(cfg, tmp_path, stop_after=10)["status"] == "interrupted"
    record = train(cfg, tmp_path)
    assert record["status"] == "complete" and record["bn_frozen_at"] == 10
    assert_same_state(weights(run / "final.pt"), weights(tmp_path / "final.pt"))
    opt_a = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["optimizer"]["state"]
    opt_b = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["optimizer"]["state"]
    for i in opt_a:
        assert_same_state(opt_a[i], opt_b[i])
    events = [r["event"] for r in rows(tmp_path) if r["event"]]
    assert events == ["interrupted", "resumed", "bn_frozen", "interrupted", "resumed"]


def test_complete_run_is_left_alone_and_config_changes_are_refused(full_run, tmp_path, capsys):
    run, record = full_run
    stamp = (run / "final.pt").stat().st_mtime_ns
    assert train(tiny(snapshot_every=3), run) == record
    assert (run / "final.pt").stat().st_mtime_ns == stamp
    assert "already complete" in capsys.readouterr().err
    train(tiny(), tmp_path, stop_after=4)
    with pytest.raises(RepbenchError, match="another config.*lr"):
        train(tiny(lr=5e-4), tmp_path)


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    def poison(it, loss):
        return loss * float("nan") if it == 7 else loss

    with pytest.raises(RepbenchError, match=r"became nan by iteration 7.*checkpoint \(iteration 4\) is kept"):
        train(tiny(), tmp_path, loss_hook=poison)
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 4
    assert not (tmp_path / "train.json").exists()
    assert rows(tmp_path)[-1]["event"] == "nonfinite_loss"


def test_cli_absurd_lr_exits_2(tmp_path, capsys):
    code = cli.main(["train", "--method", "plain", "--size", "M1C4", "--scale", "2", "--train-data", "skimage-train",
                     "--run-dir", str(tmp_path), "--set", "iterations=6", "--set", "batch_size=2", "--set", "patch_size=8",
                     "--set", "lr=1e30", "--set", "log_every=1", "--set", "threads=1", "--set", "progress=false"])
    assert code == 2
    err = capsys.readouterr().err
    assert "lr must be in (0, 1]" in err  # refused up front, before it can diverge


def test_ctrl_c_checkpoints_and_resumes(tmp_path):
    """A real SIGINT to `repbench train`: exit 130, a checkpoint, and a clean resume."""
    run = tmp_path / "run"
    args = [sys.executable, "-m", "repbench.cli", "train", "--method", "plain", "--size", "M1C4", "--scale", "2",
            "--train-data", "skimage-train", "--run-dir", str(run), "--set", "iterations=100000",
            "--set", "batch_size=2", "--set", "patch_size=8", "--set", "log_every=1", "--set", "threads=1",
            "--set", "checkpoint_every=100000"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not ((run / "metrics.csv").is_file() and len(rows(run)) >= 3):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err
    stopped = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"]
    assert stopped >= 3 and rows(run)[-1]["event"] == "interrupted"
    proc = subprocess.run(args + ["--stop-after", str(stopped + 2)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"resuming at iteration {stopped}" in proc.stderr
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"] == stopped + 2


# ----------------------------------------------------------------------------- learning


def _shared_datasets() -> Path:
    return Path(os.environ.get("REPBENCH_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.mark.slow
def test_short_training_beats_bicubic(tmp_path):
    """~1000 CPU iterations of a plain M4C16 at x2 (about 25-50 s) beat bicubic Y-PSNR by >= 1 dB.

    T91 -> Set5 when ../shared/datasets has them (measured: 36.0 dB vs bicubic 33.67 dB);
    otherwise the embedded skimage-train -> skimage-test split, with a margin of 0.5 dB.
    """
    from repbench import data
    from repbench.inference.evaluate import evaluate

    real = all((_shared_datasets() / name / "HR").is_dir() for name in ("T91", "Set5")) and data.available("T91")
    train_data, val_data, margin = ("T91", "Set5", 1.0) if real else ("skimage-train", "skimage-test", 0.5)
    cfg = resolve_config({
        "method": "plain", "size": "M4C16", "scale": 2, "colors": 1, "train_data": train_data, "val_data": val_data,
        "iterations": 1000, "batch_size": 16, "patch_size": 32, "lr": 2e-3, "schedule": "cosine", "cycles": 1,
        "log_every": 100, "val_every": 0, "checkpoint_every": 1000, "threads": 1, "progress": False,
    })
    record = train(cfg, tmp_path)
    bicubic = evaluate("bicubic", data.load_pairs(val_data, 2), 2)["psnr_y"]
    print(f"\n{train_data} -> {val_data} x2: model {record['val_psnr']:.3f} dB, bicubic {bicubic:.3f} dB, "
          f"{record['train_seconds']:.1f} s of training")
    assert record["val_psnr"] >= bicubic + margin
