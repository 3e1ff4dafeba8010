"""One device resolver for every command: its default, its errors, and that the CLIs use it."""
from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn

import methods
from repbench import device as dev
from repbench.cli import main as cli_main
from repbench.errors import RepbenchError

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown on a machine without CUDA")


def test_auto_is_the_default_and_follows_cuda_availability() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert dev.resolve_device().type == expected
    assert dev.resolve_device("auto").type == expected
    assert dev.resolve_device(None).type == expected


def test_cpu_specs_resolve() -> None:
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.resolve_device(" CPU ") == torch.device("cpu")
    assert dev.resolve_device(torch.device("cpu")) == torch.device("cpu")


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_names_the_callers_flag(spec: str) -> None:
    with pytest.raises(RepbenchError, match=rf"--device {spec} asks for a GPU.*no CUDA.*use --device cpu"):
        dev.resolve_device(spec)
    with pytest.raises(RepbenchError, match=r"--set device=cuda.*use --set device=cpu"):
        dev.resolve_device("cuda", flag="--set device=")


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "", "tpu:0", "meta"])
def test_bad_specs_say_what_is_valid(spec: str) -> None:
    with pytest.raises(RepbenchError, match="use auto, cpu, cuda or cuda:N"):
        dev.resolve_device(spec)


def test_device_name_and_model_device() -> None:
    assert dev.device_name(torch.device("cpu")).startswith("CPU ")
    assert f"({torch.get_num_threads()} threads)" in dev.device_name(torch.device("cpu"))
    assert dev.model_device(nn.Linear(2, 2).to("meta")).type == "meta"
    assert dev.model_device(nn.PixelShuffle(2)) == torch.device("cpu")  # no parameters at all


def _device_default(command: str) -> str:
    """The --device default of a `repbench` subcommand, read from its parser."""
    from repbench.cli import bn_diagnose, evaluate, measure, upscale

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for module in (bn_diagnose, evaluate, measure, upscale):
        module.add_cli(sub)
    action = next(a for a in sub.choices[command]._actions if "--device" in a.option_strings)
    return action.default


@pytest.mark.parametrize("command", ["eval", "measure", "upscale", "bn-diagnose"])
def test_every_device_option_defaults_to_auto(command: str) -> None:
    assert _device_default(command) == "auto"


@no_cuda
def test_cli_cuda_request_is_a_clear_error(tmp_path, capsys) -> None:
    model = tmp_path / "m.pt"
    methods.save(methods.merge(methods.build("plain", "M1C4", scale=2)), model)
    code = cli_main(["eval", "--model", str(model), "--dataset", "skimage-test", "--scale", "2", "--device", "cuda", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "use --device cpu" in err and "Traceback" not in err
    code = cli_main(["measure", "--method", "plain", "--size", "M1C4", "--throughput", "--device", "cuda:1"])
    assert code == 2 and "use --device cpu" in capsys.readouterr().err
