"""`repbench import` and the published-model registry: released checkpoints into the zoo, by name.

The released files are the NTIRE model zoos' (../shared/checkpoints, never committed); the tests
that need them skip without them. The reference outputs below were computed once with the
challenge repository's own model code (ofsoundof/NTIRE2022_ESR at e95ba4a, models/imdn_baseline.py
and models/team04_rlfn.py `RLFN_cut`, run in a scratch folder, not part of repbench) on the fixed
input of `_reference_input`: only these summary numbers are kept.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import methods
from repbench.cli import main
from repbench.published import registry
from repbench.published.convert import Architecture, fitting, read_state_dict

# name -> (sum, sum of |y|, sum of y^2, y[0,0,0,0], y[0,1,77,50], y[0,2,159,127], y[0,0,80,64]) of the
# released network's output (RGB in [0, 1]) on _reference_input(), in float64.
REFERENCE = {
    "imdn-ntire2022": (30609.760770, 32172.194137, 24523.834507, 0.308889, 0.440866, 0.514738, 0.197194),
    "rlfn-ntire2022": (30307.023856, 31632.942918, 23421.352245, 0.18662, 0.497378, 0.302969, -0.077124),
}


def _reference_input() -> torch.Tensor:
    return torch.rand(1, 3, 40, 32, generator=torch.Generator().manual_seed(2022))


def _summary(y: torch.Tensor) -> tuple[float, ...]:
    y = y.double()
    points = [y[0, c, r, q].item() for c, r, q in [(0, 0, 0), (1, 77, 50), (2, 159, 127), (0, 80, 64)]]
    return (y.sum().item(), y.abs().sum().item(), (y * y).sum().item(), *points)


def test_the_registry_names_every_model_with_its_network_and_published_figures() -> None:
    models = registry.load_registry()
    assert {"imdn-ntire2022", "rlfn-ntire2022", "span-ntire2024"} <= set(models)
    for entry in models.values():
        assert registry.NAME_PATTERN.match(entry.name)
        assert entry.method in methods.METHODS, entry
        methods.build(entry.method, entry.size, entry.scale, entry.colors, **entry.options)  # a real size
        assert len(entry.sha256) == 64 and entry.url.startswith("https://")
        assert isinstance(entry.published.get("params"), int)


def test_a_bad_registry_entry_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "published.yaml"
    bad.write_text("models:\n  Bad/Name:\n    label: x\n")
    monkeypatch.setenv("REPBENCH_PUBLISHED_YAML", str(bad))
    with pytest.raises(Exception, match="Bad/Name"):
        registry.load_registry()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_an_imported_model_gives_the_released_networks_output(name: str, shared_checkpoints: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / f"{name}.pt"
    assert main(["import", name, "--out", str(out), "--quiet"]) == 0
    model = methods.load(out).eval()
    with torch.no_grad():
        got = _summary(model(_reference_input()))
    assert got == pytest.approx(REFERENCE[name], rel=1e-4, abs=1e-4)


def test_import_writes_a_run_folder_with_the_published_facts(shared_checkpoints: Path, tmp_path: Path) -> None:
    run = tmp_path / "imdn-ntire2022"
    assert main(["import", "imdn-ntire2022", "--run-dir", str(run), "--quiet"]) == 0
    facts = json.loads((run / "train.json").read_text())
    assert facts["status"] == "complete" and facts["imported"] is True
    assert facts["params_deployed"] == 893_936 == facts["published"]["figures"]["params"]
    assert facts["source"]["sha256"] == registry.get("imdn-ntire2022").sha256
    assert methods.count_params(methods.load(run / "deployed.pt")) == 893_936


def test_a_cached_file_is_used_offline_and_a_missing_one_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REPBENCH_SHARED_CHECKPOINTS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("REPBENCH_CHECKPOINTS", str(tmp_path / "cache"))
    assert main(["import", "imdn-ntire2022", "--offline", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "ntire2022_imdn_baseline_x4.pth" in err and str(tmp_path / "cache") in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()


def test_a_local_copy_with_the_wrong_sha256_is_refused_and_nothing_is_cached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    local, cache = tmp_path / "local", tmp_path / "cache"
    local.mkdir()
    (local / "ntire2022_imdn_baseline_x4.pth").write_bytes(b"not the released file")
    monkeypatch.setenv("REPBENCH_SHARED_CHECKPOINTS", str(local))
    monkeypatch.setenv("REPBENCH_CHECKPOINTS", str(cache))
    assert main(["import", "imdn-ntire2022", "--offline", "--out", str(tmp_path / "m.pt")]) == 2
    assert "sha256" in capsys.readouterr().err
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_a_truncated_file_is_refused(shared_checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = (shared_checkpoints / "ntire2022_rlfn_x4.pth").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole[: len(whole) // 2])
    assert main(["import", "--file", str(cut), "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "truncated" in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()


def test_another_architectures_file_names_the_first_difference_and_what_it_fits(
        shared_checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rlfn = shared_checkpoints / "ntire2022_rlfn_x4.pth"
    assert main(["import", "--file", str(rlfn), "--method", "imdn", "--size", "B8", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "does not load into imdn B8 x4 RGB" in err and "it fits rlfn" in err


def test_a_wrong_scale_is_refused_naming_the_shape_and_the_right_scale(
        shared_checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imdn = shared_checkpoints / "ntire2022_imdn_baseline_x4.pth"
    assert main(["import", "--file", str(imdn), "--method", "imdn", "--size", "B8", "--scale", "2",
                 "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "upsample.weight has shape [48, 64, 3, 3] in the file" in err and "it fits imdn B8 x4 RGB" in err


def test_a_loose_file_is_matched_to_the_one_architecture_it_fits(shared_checkpoints: Path) -> None:
    state = read_state_dict(shared_checkpoints / "ntire2024_span_ch28_slim_x4.pth")
    fits = fitting(state)
    assert [(a.method, a.scale, a.colors, a.form) for a in fits] == [("span", 4, 3, "deployed")]


def test_a_state_dict_of_no_registered_network_fits_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.pth"
    torch.save(methods.build("plain", "M2C8", 4, 3).state_dict(), path)
    assert main(["import", "--file", str(path), "--out", str(tmp_path / "m.pt")]) == 2
    assert "fits no registered architecture" in capsys.readouterr().err


def test_the_architecture_names_itself() -> None:
    assert str(Architecture("span", "C28B6", 4, 3, "deployed")) == "span C28B6 x4 RGB, re-parameterized"


def test_the_published_experiment_plans_one_run_per_model(tmp_path: Path) -> None:
    from repbench.pipeline import config as pipeline_config

    repo = Path(__file__).resolve().parents[1]
    preset = pipeline_config.load_preset({"preset": "smoke"}, repo)
    preset["experiments"] = {"published": {"models": ["imdn-ntire2022", "span-ntire2024"]}}
    pipeline_config.validate_preset(preset, repo)
    plan = pipeline_config.plan(preset)
    assert plan.published == ["imdn-ntire2022", "span-ntire2024"] == plan.experiments["published"]
    assert plan.runs == {}
    preset["experiments"] = {"published": {"models": ["no-such-model"]}}
    with pytest.raises(ValueError):
        pipeline_config.validate_preset(preset, repo)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_an_architecture_outside_the_zoo_imports_as_an_external_model(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("spandrel", reason="spandrel is not installed (pip install -e '.[test]')")
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    theirs = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2).eval()
    path = tmp_path / "compact.pth"
    torch.save(theirs.state_dict(), path)
    assert main(["import", "--file", str(path), "--out", str(tmp_path / "no.pt")]) == 2
    assert "add --external" in capsys.readouterr().err  # what the zoo cannot take, the message says how

    out, run = tmp_path / "compact.pt", tmp_path / "run"
    assert main(["import", "--file", str(path), "--external", "--out", str(out), "--run-dir", str(run)]) == 0
    model = methods.load(out)
    assert model.build_args["method"] == "external" and model.build_args["scale"] == 2
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        assert torch.equal(model(x), theirs(x))
    assert not methods.is_mergeable("external")
    with pytest.raises(methods.NotMergeableError):
        methods.merge(model)
    assert main(["measure", "--model", str(run), "--out", str(tmp_path / "m.json")]) == 0
    counts = json.loads((tmp_path / "m.json").read_text())["counts"]
    assert counts["deployed_params"] == sum(p.numel() for p in theirs.parameters())
    assert any("external network" in n for n in counts["notes"])


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for args in (["--out", str(tmp_path)], ["--run-dir", str(a_file)], ["--out", str(a_file / "m.pt")]):
        assert main(["import", "imdn-ntire2022", "--offline", *args]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and ("folder" in err or "is a file" in err), err
