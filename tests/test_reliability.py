"""Failure modes: concurrent trainers, config changes, diverging runs, SIGTERM, bad inputs, stale caches.

Each failure ends in a clear message and exit code 2 (or a clean stop), and never loses or
mixes work that was already computed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import methods
from repbench import cli, data
from repbench.training import runlock
from repbench.errors import RepbenchError
from repbench.scoring.images import write_image
from repbench.training.config import resolve_config
from repbench.training.loop import train

REPO = Path(__file__).resolve().parents[1]

# A tiny RepSR (with BN) on the embedded photos: about a second per run.
TINY = {
    "method": "repsr", "size": "M1C4", "scale": 2, "colors": 1, "train_data": "skimage-train",
    "iterations": 8, "batch_size": 4, "patch_size": 16, "lr": 1e-3, "frozen_bn_fraction": 0.25,
    "log_every": 1, "checkpoint_every": 4, "threads": 1, "progress": False,
}

# `repbench train` flags for a fast plain net; iterations and seed are added per test.
PLAIN = ["--method", "plain", "--size", "M1C4", "--scale", "2", "--train-data", "skimage-train",
         "--set", "batch_size=2", "--set", "patch_size=8", "--set", "threads=1", "--set", "progress=false"]


def tiny(**over):
    return resolve_config({**TINY, **over})


def state_of(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


def _train_cmd(run: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "repbench.cli", "train", "--run-dir", str(run), *PLAIN, *extra]


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"trainer exited early ({proc.returncode}): {proc.communicate()[1][-2000:]}")
        if time.time() > deadline:
            raise AssertionError("timed out waiting for the trainer")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


# ----------------------------------------------------------------------------- 1. one trainer per folder


def test_second_trainer_on_a_run_folder_exits_2_naming_the_holder(tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen(
        _train_cmd(run, "--set", "iterations=1000000", "--set", "seed=0", "--set", "log_every=1"),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(lambda: (run / "metrics.csv").is_file() and len((run / "metrics.csv").read_text().splitlines()) > 2, first)
        code = cli.main(["train", "--run-dir", str(run), *PLAIN, "--set", "iterations=10", "--set", "seed=1"])
        err = capsys.readouterr().err
        assert code == 2
        assert str(run) in err and f"process {first.pid}" in err and "another --run-dir" in err
        assert "Traceback" not in err
        assert "seed: 0" in (run / "config.yaml").read_text()  # the second trainer wrote nothing
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    finally:
        _stop(first)
    # The lock dies with its holder: the folder is usable again at once.
    with runlock.run_lock(run):
        assert runlock.holder_pid(run) == os.getpid()


def test_lock_is_held_for_the_whole_training(tmp_path):
    seen = []

    def hook(it, loss):
        if it == 2:  # mid-run, from another open file description: the kernel says it is taken
            try:
                with runlock.run_lock(tmp_path):
                    seen.append("acquired")
            except RepbenchError as err:
                seen.append(str(err))
        return loss

    train(tiny(iterations=3), tmp_path, loss_hook=hook)
    assert len(seen) == 1 and f"process {os.getpid()}" in seen[0]


# ----------------------------------------------------------------------------- 2. config changes


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "finished"
    return run, train(tiny(), run)


def test_finished_run_refuses_another_config_from_the_cli(finished, capsys):
    run, _ = finished
    stamps = {p.name: p.stat().st_mtime_ns for p in run.iterdir() if p.is_file() and p.name != ".lock"}
    code = cli.main(["train", "--method", "repsr", "--size", "M4C16", "--scale", "2", "--run-dir", str(run)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "holds a finished run with another config" in err
    assert "size: 'M1C4' in the folder vs 'M4C16' now" in err and "--on-config-change supersede" in err
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir() if p.is_file() and p.name != ".lock"} == stamps
    # Runtime-only fields may differ: still the same run.
    assert cli.main(["train", "--run-dir", str(run), *[f"--set={k}={v}" for k, v in TINY.items()],
                     "--set", "log_every=3", "--set", "threads=2"]) == 0
    assert "already complete" in capsys.readouterr().err


def test_supersede_keeps_the_old_run_and_trains_afresh(finished, tmp_path):
    old_run, old_record = finished
    run = tmp_path / "run"
    train(tiny(), run)
    old_final = state_of(run / "final.pt")
    record = train(tiny(iterations=10), run, on_config_change="supersede")
    assert record["status"] == "complete" and record["iterations"] == 10
    (moved,) = (run / "superseded").iterdir()
    assert_same_state(state_of(moved / "final.pt"), old_final)  # nothing finished is lost
    assert (moved / "train.json").is_file() and (moved / "checkpoints" / "last.pt").is_file()
    assert "iterations: 8" in (moved / "config.yaml").read_text()
    # A fresh run, not a continuation of the old one: equal to a run of the new config in an empty folder.
    fresh = train(tiny(iterations=10), tmp_path / "fresh")
    assert_same_state(state_of(run / "final.pt"), state_of(tmp_path / "fresh" / "final.pt"))
    assert record["bn_frozen_at"] == fresh["bn_frozen_at"]
    assert not any(r.startswith("1,") for r in (moved / "metrics.csv").read_text().splitlines()[9:])


def test_rerun_after_the_scheduler_deleted_the_outputs_rebuilds_them_from_the_checkpoint(finished, tmp_path):
    # Snakemake deletes a job's outputs before rerunning it (e.g. after a code change); with the
    # same config the final checkpoint holds the finished weights, so nothing is retrained.
    old_run, _ = finished
    run = tmp_path / "run"
    train(tiny(), run)
    for name in ("train.json", "final.pt", "deployed.pt"):
        (run / name).unlink()
    record = train(tiny(), run, on_config_change="supersede")
    assert record["status"] == "complete" and not (run / "superseded").exists()
    assert_same_state(state_of(run / "final.pt"), state_of(old_run / "final.pt"))
    assert (run / "metrics.csv").read_text().count("\n") == 1 + 8  # header + 8 rows, none redone


# ----------------------------------------------------------------------------- 3. divergence


def test_nonfinite_weights_are_never_checkpointed(tmp_path):
    # A finite loss scaled so that its gradients overflow: the step poisons the Adam state while
    # the loss checked before it looked fine (what `--set lr=inf` did before lr was validated).
    def blow_up(it, loss):
        return loss * 1e38 if it == 6 else loss

    with pytest.raises(RepbenchError, match=r"inf/NaN by iteration 6.*checkpoint \(iteration 5\) is kept"):
        train(tiny(checkpoint_every=1), tmp_path, loss_hook=blow_up)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["iteration"] == 5
    tensors = list(ckpt["model"].values()) + [t for s in ckpt["optimizer"]["state"].values() for t in s.values()]
    assert all(torch.isfinite(t).all() for t in tensors if t.is_floating_point())
    assert not (tmp_path / "final.pt").exists() and not (tmp_path / "train.json").exists()


@pytest.mark.parametrize("lr", ["inf", "1e39", "nan", "0", "2"])
def test_absurd_learning_rates_are_refused(lr, tmp_path, capsys):
    code = cli.main(["train", "--run-dir", str(tmp_path / "run"), *PLAIN, "--set", "iterations=4", "--set", f"lr={lr}"])
    err = capsys.readouterr().err
    assert code == 2 and "lr must be in (0, 1]" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.parametrize("flags, message", [
    (["--set", "patch_size=100000"], "no training image is large enough for LR patches of 100000x100000"),
    (["--train-data", "Set5,no-such-set"], "training dataset 'no-such-set' is not available here"),
    pytest.param(["--set", "device=cuda"], "torch sees no CUDA device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")),
])
def test_a_start_refused_by_the_data_or_the_model_leaves_nothing_behind(flags, message, tmp_path, capsys):
    # These are only found once the folder is locked and config.yaml written (they need the data or the
    # network): the refused start removes the folders it made, the lock and config.yaml with them.
    run = tmp_path / "new" / "run"
    _fails(["train", "--run-dir", str(run), *PLAIN, "--set", "iterations=2", *flags], capsys, message)
    assert not (tmp_path / "new").exists()
    # A folder that was there before stays (its contents are not this start's to remove).
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    _fails(["train", "--run-dir", str(tmp_path / "kept"), *PLAIN, "--set", "iterations=2", *flags], capsys, message)
    assert (tmp_path / "kept" / "notes.txt").read_text() == "mine"


# ----------------------------------------------------------------------------- 5. SIGTERM


def test_sigterm_checkpoints_exits_143_and_resumes_bit_identically(tmp_path):
    run = tmp_path / "run"
    args = ["--set", "iterations=500", "--set", "checkpoint_every=5", "--set", "log_every=5", "--set", "seed=3"]
    proc = subprocess.Popen(_train_cmd(run, *args), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (run / "checkpoints" / "last.pt").is_file(), proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    assert proc.returncode == 143, err
    assert "SIGTERM received: stopping after this iteration" in err
    assert "checkpoint saved, rerun the same command to resume" in err and "Traceback" not in err
    stopped = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"]
    assert 5 <= stopped < 500
    assert not (run / "train.json").exists() and not (run / "final.pt").exists()  # not marked complete
    assert (run / "metrics.csv").read_text().rstrip().endswith("interrupted")

    resumed = subprocess.run(_train_cmd(run, *args), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming at iteration {stopped} of 500" in resumed.stderr
    ref = tmp_path / "ref"
    assert cli.main(["train", "--run-dir", str(ref), *PLAIN, *args]) == 0
    assert_same_state(state_of(run / "final.pt"), state_of(ref / "final.pt"))


# ----------------------------------------------------------------------------- 6. messages


def _model_file(path: Path, **build_over) -> Path:
    model = methods.build("plain", "M1C4", 2, 1)
    methods.save(model, path)
    if build_over:  # rewrite build_args as a broken or edited file would have them
        blob = torch.load(path, weights_only=True)
        blob["build_args"] = {**blob["build_args"], **build_over}
        for key in [k for k, v in build_over.items() if v is None]:
            del blob["build_args"][key]
        torch.save(blob, path)
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return write_image(tmp_path / "in.png", np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8))


def _fails(argv: list[str], capsys, *expected: str) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err
    return err


def test_upscale_bad_tile_and_overlap(tmp_path, photo, capsys):
    model = _model_file(tmp_path / "m.pt")
    _fails(["upscale", "--model", str(model), "--tile", "1", "--overlap", "-3", str(photo), str(tmp_path / "o.png")],
           capsys, "--overlap must be >= 0")
    _fails(["upscale", "--model", str(model), "--tile", "-2", str(photo), str(tmp_path / "o.png")], capsys, "--tile must be >= 0")


def test_upscale_output_below_a_file(tmp_path, photo, capsys):
    model = _model_file(tmp_path / "m.pt")
    (tmp_path / "afile").write_text("x")
    _fails(["upscale", "--model", str(model), str(photo), str(tmp_path / "afile" / "sub" / "o.png")],
           capsys, f"{tmp_path / 'afile'} is a file, not a folder")


def test_model_file_without_size(tmp_path, photo, capsys):
    bad = _model_file(tmp_path / "nosize.pt", size=None)
    _fails(["upscale", "--model", str(bad), str(photo), str(tmp_path / "o.png")], capsys, "build_args without size")
    _fails(["measure", "--model", str(bad)], capsys, "build_args without size")
    wrong = _model_file(tmp_path / "wrong.pt", size="M3C8")  # weights of M1C4 under an M3C8 label
    _fails(["upscale", "--model", str(wrong), str(photo), str(tmp_path / "o.png")], capsys, "do not fit")


def test_corrupt_checkpoint_says_what_to_do(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--run-dir", str(run), *PLAIN, "--set", "iterations=4", "--set", "checkpoint_every=2"]
    assert cli.main(argv + ["--stop-after", "2"]) == 0
    (run / "checkpoints" / "last.pt").write_bytes(b"garbage, not a checkpoint")
    err = _fails(argv, capsys, "is corrupt or not a repbench checkpoint", "delete it", "new --run-dir")
    assert "weights_only" not in err


def test_measure_accepts_a_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "--run-dir", str(run), *PLAIN, "--set", "iterations=2"]) == 0
    capsys.readouterr()
    assert cli.main(["measure", "--model", str(run)]) == 0
    out = capsys.readouterr().out
    assert "plain-M1C4 x2" in out and "deployed params" in out
    (tmp_path / "empty").mkdir()
    _fails(["measure", "--model", str(tmp_path / "empty")], capsys, "without final.pt or deployed.pt")


@pytest.mark.parametrize("argv, message", [
    (["--peak-tflops", "-1", "--bandwidth-gbs", "100"], "must be positive"),
    (["--peak-tflops", "nan", "--bandwidth-gbs", "100"], "must be positive"),
    (["--peak-tflops", "5"], "go together"),
    (["--lr-size", "big"], "WIDTHxHEIGHT"),
])
def test_measure_checks_throughput_flags_without_throughput(argv, message, capsys):
    _fails(["measure", "--method", "plain", "--size", "M1C4", *argv], capsys, message)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_upscale_device_message_names_its_own_flag(tmp_path, photo, capsys):
    model = _model_file(tmp_path / "m.pt")
    err = _fails(["upscale", "--model", str(model), "--device", "cuda", str(photo), str(tmp_path / "o.png")],
                 capsys, "use --device cpu")
    assert "--set" not in err
    _fails(["train", "--run-dir", str(tmp_path / "run"), *PLAIN, "--set", "device=cuda"], capsys, "--set device=cpu")


# ----------------------------------------------------------------------------- 7. data cache


def test_stale_staging_folders_are_removed_but_not_a_live_preparers(data_cache):
    folder = data_cache / "skimage-test"
    stale = [folder / ".X2.k1ll3d", folder / ".X4.abc_12"]
    for s in stale:
        (s / "HR").mkdir(parents=True)
        (s / "HR" / "half.png").write_bytes(b"partial")
    keep = folder / "X2-notes"  # not a staging folder
    keep.mkdir()
    data.prepare("skimage-test", scales=[2], progress=False)
    assert not any(s.exists() for s in stale) and keep.is_dir()

    # While a preparer holds the dataset's lock its staging folder is live: the next one waits.
    live = folder / ".X3.live"
    live.mkdir()
    done = threading.Event()
    with data.locked(folder / ".lock"):
        worker = threading.Thread(target=lambda: (data.prepare("skimage-test", scales=[2], progress=False), done.set()))
        worker.start()
        time.sleep(1.0)
        assert live.is_dir() and not done.is_set()
    worker.join(timeout=60)
    assert done.is_set() and not live.exists()  # stale once its preparer let go
