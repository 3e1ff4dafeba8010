"""The published experiment through Snakemake: import, count, measure and evaluate a released checkpoint,
render results/published.md and the leaderboard beside a trained run; a missing file stops with its name."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from repbench.pipeline import config as pipeline_config

try:
    from conftest import shared_checkpoints_dir
    from test_pipeline import _fresh_clone, _snakemake
except ImportError:  # tests collected as a package
    from tests.conftest import shared_checkpoints_dir
    from tests.test_pipeline import _fresh_clone, _snakemake

MODEL = "span-ntire2024"  # the smallest of the three: its eval and timing take seconds


def _preset(clone: Path) -> Path:
    preset = pipeline_config.load_preset({"preset": "smoke"}, clone)
    preset["experiments"] = {
        "table2": {"scale": 4, "colors": 3, "runs": [{"method": "plain", "sizes": ["M1C4"]}]},
        "published": {"models": [MODEL]},
    }
    path = clone / "published.yaml"
    path.write_text(yaml.safe_dump(preset))
    return path


@pytest.mark.slow
def test_the_published_table_and_leaderboard_come_from_one_command(
        shared_checkpoints: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPBENCH_SHARED_CHECKPOINTS", str(shared_checkpoints))
    clone = _fresh_clone(tmp_path / "clone")
    done = _snakemake("results/published.md", "results/leaderboard.html", "--cores", "2",
                      "--configfile", str(_preset(clone)), cwd=clone, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    run = clone / "results" / "runs" / "smoke" / MODEL
    measured = json.loads((run / "measure.json").read_text())
    assert measured["ntire"]["params"] == 150_688 and measured["ntire"]["latency"]["ms_mean"] > 0
    assert {p.name for p in (run / "eval").glob("*.json")} == {"skimage-test-x4.json"}
    table = (clone / "results" / "published.md").read_text()
    assert "SPAN ch28 (NTIRE 2024) (`span-ntire2024`)" in table and "150,688 (+0)" in table
    page = (clone / "results" / "leaderboard.html").read_text()
    assert f'data-run="{MODEL}"' in page and 'data-kind="published"' in page
    plan = json.loads((run.parent / pipeline_config.PLAN_FILE).read_text())
    assert plan["experiments"]["published"] == [MODEL]


def test_a_missing_released_file_stops_the_pipeline_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPBENCH_SHARED_CHECKPOINTS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("REPBENCH_CHECKPOINTS", str(tmp_path / "empty-cache"))
    clone = _fresh_clone(tmp_path / "clone")
    target = f"results/runs/smoke/{MODEL}/train.json"
    done = _snakemake(target, "--cores", "1", "--configfile", str(_preset(clone)), cwd=clone, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "ntire2024_span_ch28_slim_x4.pth" in out and "is not here" in out and "Traceback" not in out
    assert not (clone / target).exists()
    # Pointed away from the real copies, the pipeline only read the folder it was given: nothing made there,
    # and no file (whole or half) under the released name in the cache.
    assert shared_checkpoints_dir() == tmp_path / "nowhere" and not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "empty-cache" / "ntire2024_span_ch28_slim_x4.pth").exists()
