"""The atomic writer every output goes through."""
from __future__ import annotations

import os

import pytest

from repbench import atomic


def test_write_replaces_whole_file_with_ordinary_permissions(tmp_path) -> None:
    path = tmp_path / "sub" / "out.json"
    atomic.write_json(path, {"psnr": 28.43})
    assert path.read_text() == '{\n  "psnr": 28.43\n}\n'
    assert path.stat().st_mode & 0o777 == atomic.default_mode()
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path) -> None:
    path = tmp_path / "table.md"
    atomic.write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(path) as fh:
            fh.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["table.md"]
