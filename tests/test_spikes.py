"""The loss-spike restart: a spiking run starts again from its initial weights at a lower rate;
a run that never spikes is computed exactly as without the guard."""
from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from repbench.errors import RepbenchError
from repbench.training.config import resolve_config
from repbench.training.loop import train
from repbench.training.spikes import SHRINK, SpikeGuard

# A fast plain net on the embedded photos: 60 steps are six judged blocks.
FAST = {
    "method": "plain", "size": "M1C4", "scale": 2, "colors": 1, "train_data": "skimage-train",
    "iterations": 60, "batch_size": 2, "patch_size": 8, "lr": 1e-3, "schedule": "constant",
    "log_every": 5, "checkpoint_every": 20, "threads": 1, "progress": False,
}


def fast(**over):
    return resolve_config({**FAST, **over})


def spike_once(at: range, factor: float):
    """A loss hook that multiplies the loss at the iterations of `at` on the first pass only."""
    seen: set[int] = set()

    def hook(it: int, loss: torch.Tensor) -> torch.Tensor:
        if it in at and it not in seen:
            seen.add(it)
            return loss * factor
        return loss

    return hook


def rows(run_dir) -> list[dict]:
    with (run_dir / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def weights(run_dir) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "final.pt", weights_only=True)["state_dict"]


def test_judge_flags_a_block_far_above_the_median_of_earlier_blocks() -> None:
    guard = SpikeGuard(allowed=1)
    guard.keep(0, {"w": torch.zeros(1)})
    for mean, spike in [(0.10, False), (0.09, False), (0.17, False), (0.25, True)]:
        guard.add(torch.tensor(mean))
        assert guard.judge() is spike
    guard.add(torch.tensor(float("nan")))
    assert guard.judge()  # non-finite is always a spike
    guard.back_off(40)
    assert not guard.watching and guard.scale == SHRINK


def test_a_spike_restarts_the_run_at_a_lower_rate(tmp_path) -> None:
    run = tmp_path / "run"
    record = train(fast(spike_backoffs=2), run, loss_hook=spike_once(range(35, 38), 50.0))
    assert record["lr_backoffs"] == [{"iteration": 40, "restored_to": 0, "lr_scale": SHRINK}]
    assert record["budget"]["replayed_steps"] == 40
    logged = rows(run)
    iters = [int(r["iteration"]) for r in logged]
    assert iters == sorted(iters) and iters[-1] == 60  # the undone steps' rows are gone
    event = next(r for r in logged if r["event"] == "lr_backoff")
    assert int(event["iteration"]) == 0
    assert all(float(r["lr"]) == pytest.approx(1e-3 * SHRINK) for r in logged)
    assert all(math.isfinite(float(r["loss"])) for r in logged if r["loss"])
    # The restarted run is the run it would have been at the lower rate from the start.
    train(fast(spike_backoffs=0, lr=1e-3 * SHRINK), tmp_path / "low")
    a, b = weights(run), weights(tmp_path / "low")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_non_finite_loss_is_backed_off_and_the_run_finishes(tmp_path) -> None:
    record = train(fast(spike_backoffs=1), tmp_path, loss_hook=spike_once(range(43, 44), float("inf")))
    assert [b["restored_to"] for b in record["lr_backoffs"]] == [0]
    assert all(torch.isfinite(t).all() for t in weights(tmp_path).values())


def test_without_backoffs_a_non_finite_loss_still_stops_the_run(tmp_path) -> None:
    with pytest.raises(RepbenchError, match=r"loss became (inf|nan) by iteration 45"):
        train(fast(spike_backoffs=0), tmp_path, loss_hook=spike_once(range(43, 44), float("inf")))


def test_a_run_that_never_spikes_is_computed_as_without_the_guard(tmp_path) -> None:
    on = train(fast(spike_backoffs=3), tmp_path / "on")
    train(fast(spike_backoffs=0), tmp_path / "off")  # the same run without the guard: compared by its weights
    assert on["lr_backoffs"] == [] and on["budget"]["replayed_steps"] == 0
    a, b = weights(tmp_path / "on"), weights(tmp_path / "off")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_resumed_run_keeps_its_backed_off_rate(tmp_path) -> None:
    run = tmp_path / "run"
    hook = spike_once(range(35, 38), 50.0)
    assert train(fast(spike_backoffs=2), run, loss_hook=hook, stop_after=50)["status"] == "interrupted"
    record = train(fast(spike_backoffs=2), run, loss_hook=hook)
    whole = train(fast(spike_backoffs=2), tmp_path / "whole", loss_hook=spike_once(range(35, 38), 50.0))
    assert record["lr_backoffs"] == whole["lr_backoffs"]
    a, b = weights(run), weights(tmp_path / "whole")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((run / "train.json").read_text())["lr_backoffs"][0]["lr_scale"] == SHRINK
