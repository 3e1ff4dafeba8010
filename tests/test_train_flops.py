"""Training FLOPs in train.json's budget (repbench/training/flops.py, docs/conventions.md section 3):
2 x 3 x fvcore's forward MACs of the training-time network per step, over the run's iterations."""
from __future__ import annotations

import json

import pytest

from repbench.training import flops as tf
from repbench.training import config as T

PLAIN_M4C16_PER_PIXEL = 9 * (1 * 16 + 4 * 16 * 16 + 16 * 16)  # x4 Y: head, four body convs, tail


def _cfg(method: str = "plain", size: str = "M4C16", **fields: object) -> T.TrainConfig:
    return T.resolve_config({"method": method, "size": size, "iterations": 100, "batch_size": 4, "patch_size": 12,
                             **fields})


def test_plain_is_six_flops_per_mac_of_the_closed_form() -> None:
    assert tf.train_flops(_cfg()) == 2 * 3 * PLAIN_M4C16_PER_PIXEL * 12 * 12 * 4 * 100


def test_scales_with_iterations_and_batch() -> None:
    for method, options in (("plain", {}), ("repsr", {}), ("orepa", {}), ("ecbsr", {"collapsed": True})):
        base = tf.train_flops(_cfg(method, options=options, frozen_bn_fraction=0.0))
        assert base and tf.train_flops(_cfg(method, options=options, frozen_bn_fraction=0.0, iterations=300)) == 3 * base
        per_step, per_sample = tf.step_macs(method, "M4C16", 4, 1, json.dumps(options, sort_keys=True), 12)
        for batch in (1, 8):  # a step's own cost (online kernel merges) does not grow with the batch
            got = tf.train_flops(_cfg(method, options=options, frozen_bn_fraction=0.0, batch_size=batch))
            assert got == 2 * 3 * 100 * (per_step + batch * per_sample)
    assert tf.step_macs("plain", "M4C16", 4, 1, "{}", 12)[0] == 0
    assert tf.step_macs("orepa", "M4C16", 4, 1, "{}", 12)[0] > 0  # OREPA merges its kernels at every step


def test_a_multi_branch_method_costs_more_than_plain_at_the_same_size() -> None:
    plain = tf.train_flops(_cfg())
    for method, factor in (("repvgg", 1.15), ("dbb", 2), ("ecbsr", 3), ("repsr", 3), ("conv3xc", 3)):
        assert tf.train_flops(_cfg(method)) > factor * plain, method
    # Trained collapsed, a linear block costs one conv plus its kernel arithmetic (once a step, whatever the batch).
    collapsed = tf.train_flops(_cfg("ecbsr", options={"collapsed": True}))
    assert plain < collapsed < tf.train_flops(_cfg("ecbsr")) / 3


def test_bn_freeze_and_two_stages_are_counted_in_their_own_form() -> None:
    cfg = _cfg("repsr", frozen_bn_fraction=0.1)
    assert tf.segments(cfg, has_bn=True) == [(90, 12, ""), (10, 12, tf.FROZEN_COLLAPSED)]
    assert tf.segments(cfg, has_bn=False) == [(100, 12, "")]
    branched = tf.step_macs("repsr", "M4C16", 4, 1, "{}", 12)
    collapsed = tf.step_macs("repsr", "M4C16", 4, 1, "{}", 12, tf.FROZEN_COLLAPSED)
    assert collapsed[1] < branched[1]
    assert tf.train_flops(cfg) == 6 * (90 * (branched[0] + 4 * branched[1]) + 10 * (collapsed[0] + 4 * collapsed[1]))
    two = _cfg(patch_size_stage2=24, stage2_start=60)
    assert tf.segments(two, has_bn=False) == [(60, 12, ""), (40, 24, "")]
    assert tf.train_flops(two) == 6 * PLAIN_M4C16_PER_PIXEL * 4 * (60 * 144 + 40 * 576)


def test_a_network_the_counter_cannot_count_records_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> tuple[int, int]:
        raise RuntimeError("no trace")

    monkeypatch.setattr(tf, "step_macs", broken)
    assert tf.train_flops(_cfg()) is None  # a finished run still writes its train.json


def test_train_json_budget_and_the_report_read_it() -> None:
    from repbench.results.upgrade import budget_of
    from repbench.training.runfolder import budget_record

    budget = budget_record(_cfg(), 12.5)
    assert budget["train_flops"] == tf.train_flops(_cfg()) and budget["train_flops_rule"] == tf.RULE
    fields = budget_of({"budget": budget})
    assert fields.train_flops == budget["train_flops"] and fields.iterations == 100
    assert budget_of({"iterations": 5}).train_flops is None  # an older train.json
