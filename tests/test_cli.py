"""The `repbench` command as a whole: --version, help everywhere, one --device and one --model,
torch-free parsers, dataset aliases, and training's plain progress lines."""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import skimage.data

import methods
import repbench
from repbench import cli
from repbench.cli import common
from repbench.scoring.images import read_image, write_image
from repbench.scoring.imresize import imresize

REPO = Path(__file__).resolve().parents[1]


def _walk(parser: argparse.ArgumentParser, path: str = "repbench"):
    """(command path, parser) for the root and every subcommand, depth first."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")


def _options(flag: str) -> dict[str, argparse.Action]:
    """Command path -> its action for `flag`, for every command that has the option."""
    found = {}
    for path, parser in _walk(cli.build_parser()):
        for action in parser._actions:
            if flag in action.option_strings:
                found[path] = action
    return found


# ----------------------------------------------------------------------------- version and help


def test_version_prints_the_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"repbench {common.version()}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert repbench.__version__ == project["version"]  # the fallback of a bare checkout is not stale


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, parser in _walk(cli.build_parser()):
        if not (parser.description or "").strip():
            missing.append(f"{path}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{path} {a.dest}: no help" for a in action._choices_actions if not (a.help or "").strip()]
            name = "/".join(action.option_strings) or action.dest
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {name}: no help")
    assert not missing, "\n".join(missing)


def test_device_has_one_default_and_one_help_everywhere() -> None:
    from repbench.device import DEFAULT

    found = _options("--device")
    assert {"repbench eval", "repbench upscale", "repbench measure", "repbench bn-diagnose"} <= set(found)
    assert {a.default for a in found.values()} == {DEFAULT} == {common.DEVICE_DEFAULT}
    assert len({a.help for a in found.values()}) == 1


def test_model_help_says_file_or_run_folder_everywhere() -> None:
    found = _options("--model")
    assert {"repbench eval", "repbench upscale", "repbench merge", "repbench measure", "repbench bn-diagnose"} <= set(found)
    for path, action in found.items():
        assert "model file" in action.help and "run folder" in action.help, path
    floors = {path for path, action in found.items() if "bicubic" in action.help}
    assert floors == {"repbench eval", "repbench upscale"}


def test_parsers_and_methods_do_not_import_torch() -> None:
    # A fresh interpreter: this one has torch loaded already. Building every parser and listing the
    # methods must load nothing heavy (it is what every command line pays before its handler runs).
    code = (
        "import sys\n"
        "from repbench.cli import main\n"
        "assert main(['methods']) == 0\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'pandas', 'yaml', 'tqdm') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert "repsr" in done.stdout


# ----------------------------------------------------------------------------- --model: a file or a run folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A finished-looking run folder: final.pt (training-time RepSR, x2, Y) and nothing else."""
    run = tmp_path / "run"
    run.mkdir()
    methods.save(methods.build("repsr", "M1C4", 2, 1).eval(), run / "final.pt")
    return run


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    write_image(path, skimage.data.astronaut()[100:148, 150:196])
    return path


def test_eval_takes_a_run_folder(run_dir: Path, photo: Path, capsys) -> None:
    assert cli.main(["eval", "--model", str(run_dir), "--dataset-dir", str(photo.parent), "--quiet"]) == 0
    assert "repsr M1C4 on" in capsys.readouterr().out


def test_upscale_takes_a_run_folder_and_the_floors(run_dir: Path, photo: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["upscale", "--model", str(run_dir), str(photo), str(tmp_path / "sr.png")]) == 0
    assert read_image(tmp_path / "sr.png").shape == (96, 92, 3)
    assert cli.main(["upscale", "--model", "bicubic", "--scale", "2", str(photo), str(tmp_path / "bic.png")]) == 0
    assert np.array_equal(read_image(tmp_path / "bic.png"), imresize(read_image(photo), output_shape=(96, 92)))
    assert cli.main(["upscale", "--model", "nearest", "--scale", "3", str(photo), str(tmp_path / "nn.png")]) == 0
    assert np.array_equal(read_image(tmp_path / "nn.png"), read_image(photo).repeat(3, axis=0).repeat(3, axis=1))
    capsys.readouterr()
    assert cli.main(["upscale", "--model", "bicubic", str(photo), str(tmp_path / "x.png")]) == 2
    assert "needs --scale" in capsys.readouterr().err
    assert cli.main(["upscale", "--model", str(run_dir), "--scale", "4", str(photo), str(tmp_path / "x.png")]) == 2
    assert "upscales x2 but --scale is 4" in capsys.readouterr().err


def test_merge_takes_model_the_old_positional_and_loose_files(run_dir: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["merge", "--model", str(run_dir)]) == 0
    assert (run_dir / "deployed.pt").is_file() and (run_dir / "deployed.onnx").is_file()
    (run_dir / "deployed.onnx").unlink()
    assert cli.main(["merge", str(run_dir)]) == 0  # the old form
    assert (run_dir / "deployed.onnx").is_file()
    capsys.readouterr()
    assert cli.main(["merge", "--model", str(run_dir), str(run_dir)]) == 2
    assert "give the run once" in capsys.readouterr().err
    loose = tmp_path / "mine.pt"
    loose.write_bytes((run_dir / "final.pt").read_bytes())
    assert cli.main(["merge", "--model", str(loose)]) == 0
    assert (tmp_path / "mine-deployed.pt").is_file() and (tmp_path / "mine-deployed.onnx").is_file()
    assert methods.load(tmp_path / "mine-deployed.pt").build_args["merged"]


def test_measure_and_bn_diagnose_take_a_run_folder(run_dir: Path, capsys) -> None:
    assert cli.main(["measure", "--model", str(run_dir)]) == 0
    assert "repsr-M1C4 x2" in capsys.readouterr().out
    from repbench.bn.diagnose import load_bn_model

    model, path = load_bn_model(None, str(run_dir))
    assert path == run_dir / "final.pt" and model.build_args["method"] == "repsr"


def test_a_missing_model_is_one_clear_error(tmp_path: Path, capsys) -> None:
    for argv in (["eval", "--dataset-dir", str(tmp_path)], ["measure"], ["merge"],
                 ["upscale", str(tmp_path / "a.png"), str(tmp_path / "b.png")]):
        assert cli.main([*argv, "--model", str(tmp_path / "nope")]) == 2
        assert "does not exist: give a model file (.pt) or a run folder" in capsys.readouterr().err, argv


# ----------------------------------------------------------------------------- datasets: one name


def test_div2k_validation_has_one_name_and_the_old_one_still_works() -> None:
    from repbench import data
    from repbench.results import values

    assert data.get_dataset("DIV2K-val").name == "DIV2K-valid"
    assert data.get_dataset("div2k-valid").name == "DIV2K-valid"
    assert values.dataset_label(values.dataset_key("DIV2K-valid")) == "DIV2K-valid"
    assert values.dataset_label(values.dataset_key("DIV2K-val")) == "DIV2K-valid"


# ----------------------------------------------------------------------------- training progress


def test_training_without_a_bar_prints_one_line_per_log_point(tmp_path: Path, capsys) -> None:
    argv = ["train", "--run-dir", str(tmp_path / "run"), "--method", "plain", "--size", "M1C4", "--scale", "2",
            "--train-data", "skimage-train", "--set", "batch_size=2", "--set", "patch_size=8",
            "--set", "threads=1", "--set", "progress=false", "--set", "iterations=6", "--set", "log_every=2"]
    assert cli.main(argv) == 0
    lines = [l for l in capsys.readouterr().err.splitlines() if re.match(r"run it \d+/6 ", l)]
    assert [l.split()[2] for l in lines] == ["2/6", "4/6", "6/6"]
    for line in lines:
        assert re.fullmatch(r"run it \d/6 loss \d+\.\d{5}( val \d+\.\d\ddB)? elapsed \d+s ETA (\d+s|\d+m\d\ds)", line), line
        assert len(line) < 100  # one short line: parallel jobs interleave readably
    assert lines[-1].endswith("ETA 0s")


def test_progress_line_eta_extrapolates_from_this_process() -> None:
    from repbench.training.progress import ProgressLine, duration

    now = [100.0]
    line = ProgressLine("repsr-M4C16-x4", 3000, start=1000, clock=lambda: now[0])
    now[0] += 360  # 200 iterations in 6 minutes since the resume: 1800 left take 54 minutes
    assert line.line(1200, 0.029312, 27.4123) == (
        "repsr-M4C16-x4 it 1200/3000 loss 0.02931 val 27.41dB elapsed 6m00s ETA 54m00s")
    assert line.line(1000, 0.1).endswith("ETA ?")
    assert [duration(s) for s in (0, 59.4, 61, 3599, 3600, 7384)] == ["0s", "59s", "1m01s", "59m59s", "1h00m", "2h03m"]
