"""A method from another installed package (entry point group `repbench.methods`): listed, merged
exactly, planned, trained by the pipeline's own jobs and shown in its table, with no file of the
repository touched. The package is a tiny one made here, made visible through PYTHONPATH (its
.dist-info carries the entry point, as `pip install` would leave it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from repbench.pipeline import config as pipeline_config

try:
    from test_pipeline import _fresh_clone, _snakemake
except ImportError:  # tests collected as a package
    from tests.test_pipeline import _fresh_clone, _snakemake

REGISTRY_LINE = '''from methods.registry import MethodInfo

INFO = MethodInfo("toyplug", "toyplugin.net", "ToyPlug", "M{m}C{c}", True, {"with_1x1": True}, closed_form="mxcy")
'''
NET = '''from functools import partial

from methods.blocks import ConvBranch, RepBlock
from methods.plain import PlainSR


def block(in_ch, out_ch, with_1x1):
    branches = [ConvBranch(in_ch, out_ch, 3)] + ([ConvBranch(in_ch, out_ch, 1)] if with_1x1 else [])
    return RepBlock(in_ch, out_ch, branches, k=3)


def build(m, c, scale, colors, *, with_1x1):
    return PlainSR(m, c, scale, colors, block=partial(block, with_1x1=with_1x1))
'''
MERGE_CHECK = '''
import torch, methods
net = methods.build("toyplug", "M2C8", 2, 1).double().eval()
x = torch.rand(1, 1, 9, 7, dtype=torch.float64)
with torch.no_grad():
    print(float((net(x) - methods.merge(net)(x)).abs().max()))
'''


def _install(site: Path, entry: str = "toyplug = toyplugin:INFO") -> dict[str, str]:
    (site / "toyplugin").mkdir(parents=True)
    (site / "toyplugin" / "__init__.py").write_text(REGISTRY_LINE)
    (site / "toyplugin" / "net.py").write_text(NET)
    info = site / "toyplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[repbench.methods]\n{entry}\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def test_an_installed_packages_method_is_listed_and_merges_exactly(tmp_path: Path) -> None:
    env = _install(tmp_path / "site")
    listed = subprocess.run([sys.executable, "-m", "repbench.cli", "methods"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "toyplug" in listed.stdout, listed.stdout + listed.stderr
    merged = subprocess.run([sys.executable, "-c", MERGE_CHECK], env=env, capture_output=True, text=True)
    assert merged.returncode == 0 and float(merged.stdout) < 1e-9, merged.stdout + merged.stderr


def test_a_broken_entry_point_names_itself(tmp_path: Path) -> None:
    env = _install(tmp_path / "site", entry="toyplug = toyplugin:NOT_THERE")
    done = subprocess.run([sys.executable, "-m", "repbench.cli", "methods"], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "entry point 'toyplug'" in done.stderr and "fix or uninstall" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_pipeline_trains_an_installed_packages_method_into_its_table(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    env = _install(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])  # the pipeline's jobs see the package like any command
    clone = _fresh_clone(tmp_path / "clone")
    preset = pipeline_config.load_preset({"preset": "smoke"}, clone)
    preset["experiments"] = {"table2": {"scale": 4, "colors": 1, "runs": [{"method": "toyplug", "sizes": ["M1C4"]}]}}
    (clone / "p.yaml").write_text(yaml.safe_dump(preset))
    done = _snakemake("results/table2.md", "--cores", "2", "--configfile", str(clone / "p.yaml"), cwd=clone)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "ToyPlug-M1C4" in (clone / "results" / "table2.md").read_text()
    assert (clone / "results" / "runs" / "smoke" / "toyplug-M1C4-x4" / "deployed.pt").is_file()
