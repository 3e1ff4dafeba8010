"""What the plan refuses before any job runs: preset names and tags that are not one plain folder name,
training patches that no training image holds, and training-config fields no run can use (repbench.training.patch_fit, repbench.data.sizes)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from repbench import data
from repbench.pipeline import config as pipeline_config
from repbench.data.sizes import lr_sizes
from repbench.errors import RepbenchError
from repbench.scoring.images import write_image
from repbench.training.patches import PatchSampler
from repbench.training.patch_fit import largest_patch

REPO = Path(__file__).resolve().parent.parent
NOT_ONE_FOLDER = [".", "..", ".hidden", "a/b", "../up", "-x", ""]


def _snakemake(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _smoke() -> dict:
    return pipeline_config.load_preset({"preset": "smoke"}, REPO)


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", NOT_ONE_FOLDER)
def test_a_preset_name_must_be_one_plain_folder_name(name: str) -> None:
    with pytest.raises(ValueError, match=r"preset .* is not a plain folder name"):
        pipeline_config.load_preset({"preset": name}, REPO)
    preset = _smoke() | {"preset": name}  # a --configfile that is a whole preset
    with pytest.raises(ValueError, match="schema.yaml at preset"):
        pipeline_config.validate_preset(preset, REPO)
    with pytest.raises(ValueError, match=r"preset .* is not a plain folder name"):
        pipeline_config.load_preset(preset, REPO)
    with pytest.raises(ValueError, match=r"preset .* is not a plain folder name"):
        pipeline_config.plan(preset)


@pytest.mark.parametrize("tag", [t for t in NOT_ONE_FOLDER if t])
def test_a_tag_must_be_one_plain_folder_name(tag: str) -> None:
    preset = _smoke()
    preset["experiments"]["table1"]["runs"][0]["tag"] = tag
    with pytest.raises(ValueError, match=r"schema.yaml at experiments.table1.runs.0.tag"):
        pipeline_config.validate_preset(preset, REPO)
    with pytest.raises(ValueError, match=r"experiments.table1.runs\[edsr R1C4\].tag .* is not a plain folder name"):
        pipeline_config.plan(preset)


def test_names_with_dots_dashes_and_underscores_pass() -> None:
    preset = _smoke() | {"preset": "my_preset-2.1"}
    preset["experiments"]["table1"]["runs"][0]["tag"] = "no-bn_v1.2"
    pipeline_config.validate_preset(preset, REPO)
    assert "edsr-R1C4-x2-rgb-no-bn_v1.2" in pipeline_config.plan(preset).runs


def test_a_dry_run_refuses_dotdot_as_the_preset(tmp_path: Path) -> None:
    result = _snakemake("--config", "preset=..")
    assert result.returncode != 0 and "preset '..' is not a plain folder name" in result.stdout + result.stderr
    whole = tmp_path / "mine.yaml"  # a whole preset in a --configfile
    whole.write_text(yaml.safe_dump(_smoke() | {"preset": ".."}))
    result = _snakemake("--configfile", str(whole))
    assert result.returncode != 0 and "preset '..' is not a plain folder name" in result.stdout + result.stderr


# ----------------------------------------------------------------------------- patches


def _folder_of(tmp_path: Path, name: str, sizes: list[tuple[int, int]]) -> Path:
    """A folder of HR images of the given (height, width)."""
    folder = tmp_path / name
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        write_image(folder / f"img{i}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return folder


def test_the_largest_patch_is_the_samplers_condition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    data_cache: Path) -> None:
    # LR sizes at x4 (modcrop, then / 4): 50x30, 22x75 and 41x41; the held-out image is img1 (one of three).
    monkeypatch.setenv("REPBENCH_DATA_T91", str(_folder_of(tmp_path, "t91", [(201, 123), (90, 303), (167, 165)])))
    assert [(s.name, s.height, s.width) for s in lr_sizes("T91", 4)] == [("img0", 50, 30), ("img1", 22, 75),
                                                                       ("img2", 41, 41)]
    assert largest_patch("T91", "", 4) == 41 and largest_patch("T91", "holdout:1", 4) == 41
    pairs = data.load_pairs("T91", 4)  # what training samples from
    PatchSampler(pairs, 4, 1, 2, 41)
    with pytest.raises(RepbenchError, match="no training image is large enough for LR patches of 42x42"):
        PatchSampler(pairs, 4, 1, 2, 42)
    # Read from the prepared cache's manifest once there is one: the same sizes.
    assert [(s.height, s.width) for s in lr_sizes("T91", 4)] == [(50, 30), (22, 75), (41, 41)]


def test_sizes_that_are_not_known_cheaply_skip_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        data_cache: Path) -> None:
    monkeypatch.setenv("REPBENCH_SHARED_DATASETS", str(tmp_path / "shared"))
    assert lr_sizes("DIV2K-train", 4) is None  # a download: never fetched or unpacked for a plan
    assert lr_sizes("T91", 4) is None and largest_patch("T91,skimage-train", "holdout:2", 4) is None
    (tmp_path / "shared" / "T91" / "HR").mkdir(parents=True)
    assert lr_sizes("T91", 4) is None  # an empty folder: the training job says so itself


def test_a_smoke_patch_larger_than_every_image_fails_the_dry_run(tmp_path: Path) -> None:
    largest = largest_patch("skimage-train", "holdout:2", 4)
    assert largest is not None
    config = tmp_path / "big-patch.yaml"
    config.write_text(yaml.safe_dump({"preset": "smoke", "train": {"patch_size": largest + 1}}))
    result = _snakemake("--configfile", str(config))
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-2000:]
    assert (f"run plain-M1C4-x4: patch_size {largest + 1} is larger than every training image at x4 "
            f"(skimage-train: the largest LR patch that fits is {largest}x{largest})") in out
    assert f"at most {largest}" in out
    config.write_text(yaml.safe_dump({"preset": "smoke", "train": {"patch_size": largest}}))
    assert _snakemake("--configfile", str(config)).returncode == 0  # the largest that fits, fits


def test_a_second_stage_patch_is_checked_too() -> None:
    preset = _smoke()
    for exp in ("ntire_table2", "ntire_table5"):  # one run, in both tables
        run = next(r for r in preset["experiments"][exp]["runs"] if r.get("tag") == "twostage")
        run["train"]["patch_size_stage2"] = 5000
    with pytest.raises(ValueError, match=r"run imdn-clb-B1-x4-rgb-twostage: patch_size_stage2 5000 is larger"):
        pipeline_config.plan(preset)


def test_on_fallback_data_the_unfit_runs_are_named_in_the_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  data_cache: Path) -> None:
    # No DIV2K here: gpu-hour falls back to T91 + BSD200, whose images are far smaller than the
    # second-stage patches of its NTIRE runs (160 and 256, made for DIV2K's 2K images). The preset was
    # not written for the stand-in data, so the plan goes on (the fallback keeps a fresh clone running)
    # and the loud fallback warning, printed before anything runs, names those runs.
    monkeypatch.setenv("REPBENCH_SHARED_DATASETS", str(tmp_path / "shared"))
    monkeypatch.setenv("REPBENCH_DATA_T91", str(_folder_of(tmp_path, "t91", [(400, 400)] * 3)))
    monkeypatch.setenv("REPBENCH_DATA_BSD200", str(_folder_of(tmp_path, "bsd", [(320, 480)] * 3)))
    preset = pipeline_config.load_preset({"preset": "gpu-hour"}, REPO)
    plan = pipeline_config.plan(preset)
    assert plan.data_mode == "fallback" and plan.train_data == ["T91", "BSD200"]
    warning = pipeline_config.data_warning(preset, plan)
    assert "These runs cannot train on the fallback data" in warning
    assert ("run imdn-clb-B7-x4-rgb-twostage: patch_size_stage2 160 is larger than every training image at x4 "
            "(T91,BSD200: the largest LR patch that fits is 100x100)") in warning
    assert "run imdn-clb-B7-x4-rgb-stage2p256: patch_size_stage2 256" in warning
    # The preset's own data gets no such leniency: the same runs on T91 + BSD200 named as the train data.
    preset["data"] = {"train": ["T91", "BSD200"], "test": ["Set5"], "val": "holdout:2"}
    with pytest.raises(ValueError, match=r"run imdn-clb-B7-x4-rgb-twostage: patch_size_stage2 160 .* fits is 100x100"):
        pipeline_config.plan(preset)


# ----------------------------------------------------------------------------- training-config fields


@pytest.mark.parametrize("train, words", [
    ({"cycles": 0}, "cycles must be >= 1"),
    ({"milestones": [0.6, 0.4]}, "milestones must be increasing fractions of the run in (0, 1)"),
])
def test_a_bad_training_field_fails_the_dry_run(tmp_path: Path, train: dict, words: str) -> None:
    config = tmp_path / "bad-field.yaml"
    config.write_text(yaml.safe_dump({"preset": "smoke", "train": train}))
    result = _snakemake("--configfile", str(config))
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-2000:]
    assert words in out and "bad training config from the preset's train sections" in out


@pytest.mark.parametrize("train, words", [
    ({"milestones": [0.2, 0.2]}, "milestones must be increasing"),
    ({"milestones": [0.5, 1.0]}, "milestones must be increasing"),
    ({"milestones": ["half"]}, "config field 'milestones' must be a list of numbers"),
    ({"gamma": 0}, "gamma must be in (0, 1]"),
    ({"gamma": 2}, "gamma must be in (0, 1]"),
    ({"lr": 1e-3, "lr_min": 1e-3}, "lr_min must be in [0, lr)"),
    ({"lr_min": -1e-5}, "lr_min must be in [0, lr)"),
    ({"seed": -1}, "seed must be >= 0"),
    ({"workers": -2}, "workers must be >= -1"),
    ({"patch_size_stage2": 8, "stage2_start": 10_000}, "stage2_start must be >= 0 and, with two stages, below iterations"),
])
def test_each_field_rule_fails_the_plan(train: dict, words: str) -> None:
    preset = _smoke()
    preset["train"] = {**preset.get("train", {}), **train}
    with pytest.raises(ValueError, match="bad training config") as err:
        pipeline_config.plan(preset)
    assert words in str(err.value)

