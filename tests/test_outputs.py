"""Outputs that cannot be written: every command that writes files refuses them before any work, with
one line and exit 2 (repbench.outputs), and the atomic writers turn a late OSError into that line too."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

import pytest

import methods
from repbench import atomic, cli, outputs
from repbench.errors import RepbenchError

# A folder no process can create anything in, root included (tests may run as root, where chmod
# stops nothing): the kernel's /proc.
READ_ONLY = Path("/proc/repbench-no-such-folder")


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err  # one line, nothing else
    for text in expected:
        assert text in err, err
    return err


def _bad_file(case: str, tmp_path: Path) -> Path:
    """An output file path that cannot be written, of the kind `case` names."""
    if case == "read-only":
        return READ_ONLY / "out.json"
    if case == "a-folder":
        (tmp_path / "taken.json").mkdir()
        return tmp_path / "taken.json"
    (tmp_path / "a-file").write_text("x")
    return tmp_path / "a-file" / "sub" / "out.json"


def _bad_dir(case: str, tmp_path: Path) -> Path:
    """An output folder that cannot be created or written, of the kind `case` names."""
    if case == "read-only":
        return READ_ONLY / "results"
    if case == "a-file":
        (tmp_path / "results").write_text("x")
        return tmp_path / "results"
    (tmp_path / "a-file").write_text("x")
    return tmp_path / "a-file" / "results"


CASES = ("read-only", "a-folder", "under-a-file")
DIR_CASES = ("read-only", "a-file", "under-a-file")


@pytest.fixture
def keep(tmp_path: Path) -> Callable[[], None]:
    """A finished result at another path: a refused command must leave it exactly as it was."""
    path = tmp_path / "earlier" / "result.json"
    path.parent.mkdir()
    path.write_text('{"psnr_y": 30.0}\n')
    before = path.stat().st_mtime_ns

    def check() -> None:
        assert path.read_text() == '{"psnr_y": 30.0}\n' and path.stat().st_mtime_ns == before

    return check


@pytest.mark.parametrize("case", CASES)
def test_eval_refuses_an_unwritable_out(case: str, tmp_path: Path, keep, capsys) -> None:
    out = _bad_file(case, tmp_path)
    _refused(["eval", "--model", "bicubic", "--scale", "4", "--dataset", "skimage-test", "--out", str(out), "--quiet"],
             capsys, f"--out {out}")
    keep()


def test_eval_checks_every_dataset_of_a_templated_out(tmp_path: Path, capsys) -> None:
    (tmp_path / "skimage-train-x4.json").mkdir()  # the second dataset's file is a folder
    out = str(tmp_path / "{dataset}-x4.json")
    _refused(["eval", "--model", "bicubic", "--scale", "4", "--dataset", "skimage-test", "skimage-train",
              "--out", out, "--quiet"], capsys, "skimage-train-x4.json is a folder")
    assert not (tmp_path / "skimage-test-x4.json").exists()  # refused before the first set was scored


@pytest.mark.parametrize("case", CASES)
def test_measure_refuses_an_unwritable_out(case: str, tmp_path: Path, keep, capsys) -> None:
    out = _bad_file(case, tmp_path)
    _refused(["measure", "--method", "plain", "--size", "M1C4", "--out", str(out)], capsys, f"--out {out}")
    keep()


def _floor_runs(root: Path) -> Path:
    """The smallest runs folder a report renders: a bicubic floor evaluated on one set."""
    folder = root / "bicubic-x4" / "eval"
    folder.mkdir(parents=True)
    (folder / "Set5-x4.json").write_text('{"dataset": "Set5", "scale": 4, "n_images": 5, "psnr_y": 28.4}')
    return root


@pytest.mark.parametrize("case", DIR_CASES)
def test_report_refuses_an_unwritable_out(case: str, tmp_path: Path, keep, capsys) -> None:
    out = _bad_dir(case, tmp_path)
    _refused(["report", "--runs", str(_floor_runs(tmp_path / "runs")), "--out", str(out), "--only", "table2"],
             capsys, f"--out {out}")
    keep()


@pytest.mark.parametrize("case", CASES)
def test_import_refuses_an_unwritable_out(case: str, tmp_path: Path, keep, capsys) -> None:
    out = _bad_file(case, tmp_path)
    _refused(["import", "imdn-ntire2022", "--offline", "--out", str(out)], capsys, f"--out {out}")
    keep()


@pytest.mark.parametrize("case", DIR_CASES)
def test_import_refuses_an_unwritable_run_dir(case: str, tmp_path: Path, keep, capsys) -> None:
    run_dir = _bad_dir(case, tmp_path)
    _refused(["import", "imdn-ntire2022", "--offline", "--run-dir", str(run_dir)], capsys, f"--run-dir {run_dir}")
    keep()


@pytest.mark.parametrize("case", DIR_CASES)
def test_bn_diagnose_refuses_an_unwritable_out(case: str, tmp_path: Path, keep, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    methods.save(methods.build("edsr", "R1C4", scale=2, colors=3, bn=True), run / "final.pt")
    out = _bad_dir(case, tmp_path)
    _refused(["bn-diagnose", str(run), "--dataset", "skimage-test", "--out", str(out)], capsys, f"--out {out}")
    keep()
    assert sorted(p.name for p in run.iterdir()) == ["final.pt"]


@pytest.fixture
def read_only_folder(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Make a folder behave as on a read-only file system: creating a file or folder in it fails
    with EROFS (as root, chmod would not stop the writes; a read-only mount needs privileges)."""
    real_open, real_mkdir = os.open, os.mkdir
    folders: list[str] = []

    def inside(path: object) -> bool:
        text = os.path.abspath(os.fspath(path))  # type: ignore[arg-type]
        return any(text.startswith(f + os.sep) for f in folders)

    def fake_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if flags & os.O_CREAT and inside(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if inside(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    return lambda folder: folders.append(os.path.abspath(folder))


@pytest.mark.parametrize("case", ["read-only", "onnx-is-a-folder", "deployed-is-a-folder"])
def test_merge_refuses_unwritable_destinations(case: str, tmp_path: Path, read_only_folder, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    methods.save(methods.build("plain", "M1C4", scale=2, colors=1), run / "final.pt")
    final = (run / "final.pt").read_bytes()
    if case == "read-only":
        read_only_folder(run)
        expected = "Read-only file system"
    elif case == "onnx-is-a-folder":
        (run / "deployed.onnx").mkdir()
        expected = f"{run / 'deployed.onnx'} is a folder"
    else:
        (run / "deployed.pt").mkdir()
        expected = f"{run / 'deployed.pt'} is a folder"
    _refused(["merge", "--model", str(run)], capsys, expected)
    assert (run / "final.pt").read_bytes() == final
    assert not (run / "deployed.pt").is_file()  # no half-done merge left behind


def test_merge_of_a_loose_file_checks_its_destinations(tmp_path: Path, capsys) -> None:
    model = methods.save(methods.build("plain", "M1C4", scale=2, colors=1), tmp_path / "m.pt")
    (tmp_path / "m-deployed.onnx").mkdir()
    _refused(["merge", "--model", str(model)], capsys, f"{tmp_path / 'm-deployed.onnx'} is a folder")
    assert not (tmp_path / "m-deployed.pt").exists()


# ----------------------------------------------------------------------------- the helpers themselves


def test_checks_leave_nothing_behind(tmp_path: Path) -> None:
    # The probe file goes where the first missing folder would be created; neither stays.
    assert outputs.check_output_file(tmp_path / "a" / "b" / "out.json") == tmp_path / "a" / "b" / "out.json"
    assert outputs.check_output_dir(tmp_path / "results") == tmp_path / "results"
    (tmp_path / "there").mkdir()
    outputs.check_output_file(tmp_path / "there" / "out.json")
    outputs.check_output_dir(tmp_path / "there")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["there"]


@pytest.mark.parametrize("case", CASES)
def test_atomic_writers_turn_an_oserror_into_one_line(case: str, tmp_path: Path) -> None:
    path = _bad_file(case, tmp_path)
    with pytest.raises(RepbenchError, match=f"cannot write {path}: .*; choose another output path") as err:
        atomic.write_json(path, {"a": 1})
    assert "\n" not in str(err.value)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]  # no temp file left behind
