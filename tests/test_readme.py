"""Every shell command in the README works as written, checked without running the pipeline.

Each command of the README's ```bash blocks is one test case:
- `snakemake ...` runs as a dry run (`-n` added) from the repository root;
- `repbench ...` is parsed by the real `repbench` argument parser (nothing runs);
- `python benchmarks/X.py ...` runs with `--help`, which must list every option the README uses;
- `pip install` / `python -m pip install` name this checkout and extras it defines; `dvc repro` has
  its stages in dvc.yaml; `python -m pytest` is taken as it is (this is it).
A command of any other kind fails, so a new kind of README command needs a check here first.

A results file the README tells the reader to open must be an output of the command it goes with:
the command on the same line (`# ... then open results/X`), or, in the prose, a command of the code
block just before it.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from repbench.pipeline import config as pipeline_config
from repbench.pipeline import targets
from repbench.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SHELL_LANGUAGES = {"bash", "sh", "shell"}
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
# Files the README names as the reader's own: the check substitutes a real file of that kind.
STAND_INS = {"my-preset.yaml": REPO / "workflow" / "presets" / "smoke.yaml"}
# "open `results/a`, or `results/b`" in the prose; "open results/a" in a command's comment.
OPEN_PROSE = re.compile(r"\bopen\s+((?:`[^`]+`(?:,?\s*(?:or|and)\s+)?)+)")
OPEN_COMMENT = re.compile(r"\bopen\s+(results/\S+)")


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    comment: str  # the text after `#` on its line
    block: int  # which code block (0-based, shell blocks and others alike)

    def __str__(self) -> str:
        return shlex.join(self.argv)


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """(end offset, language, body) of every fenced code block."""
    return [(m.end(), m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment): a `#` starting a word outside quotes starts the comment, as in the shell."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i], line[i + 1:].strip()
    return line, ""


def readme_commands(text: str) -> list[Command]:
    commands = []
    for index, (_, language, body) in enumerate(code_blocks(text)):
        if language not in SHELL_LANGUAGES:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            code, comment = split_comment(line)
            tokens = shlex.split(code)
            start = 0
            for i, token in enumerate(tokens + ["&&"]):  # `a && b`: two commands
                if token in ("&&", ";", "||"):
                    if tokens[start:i]:
                        commands.append(Command(tuple(tokens[start:i]), comment, index))
                    start = i + 1
    return commands


TEXT = README.read_text()
COMMANDS = readme_commands(TEXT)


def snakemake_outputs(argv: tuple[str, ...]) -> set[str]:
    """The report files a snakemake command builds: its results/ targets with the other files of
    the same report target (the leaderboard's .html and .csv), or every target when none is named."""
    named = [a for a in argv if a.startswith("results/")]
    if not named:
        return {f"results/{f}" for t in targets.TARGETS for f in targets.target_files(t)}
    out = set(named)
    for target in targets.TARGETS:
        files = [f"results/{f}" for f in targets.target_files(target)]
        if out & set(files):
            out |= set(files)
    return out


def test_the_readme_has_the_commands_this_file_checks() -> None:
    kinds = {c.argv[0] for c in COMMANDS}
    assert {"snakemake", "repbench", "python"} <= kinds, kinds
    assert any("results/table2.md" in c.argv for c in COMMANDS if c.argv[0] == "snakemake")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c)[:90])
def test_readme_command_works_as_written(command: Command, tmp_path: Path) -> None:
    check = CHECKS.get(command.argv[0])
    if command.argv[:3] == ("python", "-m", "pip"):
        check = check_pip
    assert check is not None, (
        f"README command `{command}` is of a kind tests/test_readme.py does not check; add a check for it"
    )
    check(command.argv, tmp_path)


def check_snakemake(argv: tuple[str, ...], tmp_path: Path) -> None:
    args = list(argv[1:])
    for i, arg in enumerate(args):
        if arg in STAND_INS:
            args[i] = str(shutil.copy(STAND_INS[arg], tmp_path / arg))
    if "workflow/profiles/slurm" in args:
        pytest.importorskip("snakemake_executor_plugin_slurm", reason="the slurm extra is not installed")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", *args], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"`{shlex.join(argv)} -n` failed:\n{(result.stdout + result.stderr)[-3000:]}"


def check_repbench(argv: tuple[str, ...], tmp_path: Path) -> None:
    try:
        args = build_parser().parse_args(list(argv[1:]))
    except SystemExit as err:
        pytest.fail(f"`{shlex.join(argv)}`: the repbench parser rejects it (exit {err.code})")
    assert getattr(args, "func", None), f"`{shlex.join(argv)}` names no repbench subcommand"


def check_python(argv: tuple[str, ...], tmp_path: Path) -> None:
    if argv[1:3] == ("-m", "pytest"):
        return  # the test suite itself: this very run
    script = REPO / argv[1]
    assert script.is_file() and script.suffix == ".py", f"`{shlex.join(argv)}`: no script {argv[1]}"
    result = subprocess.run([sys.executable, str(script), "--help"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{argv[1]} --help failed:\n{result.stderr[-2000:]}"
    unknown = [a.split("=")[0] for a in argv[2:] if a.startswith("--") and a.split("=")[0] not in result.stdout]
    assert not unknown, f"`{shlex.join(argv)}`: {argv[1]} has no option {', '.join(unknown)}"


def check_pip(argv: tuple[str, ...], tmp_path: Path) -> None:
    words = list(argv[3:] if argv[0] == "python" else argv[1:])
    assert words[:1] == ["install"], f"`{shlex.join(argv)}`: only `pip install` is checked"
    extras_defined = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    specs = [w for w in words[1:] if not w.startswith("-")]
    assert specs, f"`{shlex.join(argv)}` installs nothing"
    for spec in specs:
        path, _, extras = spec.partition("[")
        assert (REPO / path / "pyproject.toml").is_file(), f"`{shlex.join(argv)}`: {path} is not this checkout"
        for extra in filter(None, extras.rstrip("]").split(",")):
            assert extra in extras_defined, f"`{shlex.join(argv)}`: pyproject.toml defines no extra {extra!r}"


def check_dvc(argv: tuple[str, ...], tmp_path: Path) -> None:
    assert argv[1:2] == ("repro",), f"`{shlex.join(argv)}`: only `dvc repro` is checked"
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name in argv[2:]:
        assert name.startswith("-") or name in stages, f"`{shlex.join(argv)}`: dvc.yaml has no stage {name!r}"
    preset = yaml.safe_load((REPO / "params.yaml").read_text())["preset"]
    assert preset in pipeline_config.available_presets(REPO)
    for stage in stages.values():
        assert stage["cmd"].split()[0] == "snakemake"


CHECKS = {"snakemake": check_snakemake, "repbench": check_repbench, "python": check_python, "pip": check_pip,
          "dvc": check_dvc}


def test_every_file_the_readme_says_to_open_is_built_by_its_command() -> None:
    blocks = code_blocks(TEXT)
    pairs = []  # (path, the commands it goes with, where)
    for command in COMMANDS:
        for path in OPEN_COMMENT.findall(command.comment):
            pairs.append((path, [command], f"the comment of `{command}`"))
    for match in OPEN_PROSE.finditer(TEXT):
        before = [i for i, (end, _, _) in enumerate(blocks) if end <= match.start()]
        near = [c for c in COMMANDS if before and c.block == before[-1]]
        for path in re.findall(r"`(results/[^`]+)`", match.group(1)):
            pairs.append((path, near, f"the prose at {match.group(0)!r}"))
    assert pairs, "the README tells the reader to open nothing: this test's patterns are out of date"
    for path, commands, where in pairs:
        built = set().union(*(snakemake_outputs(c.argv) for c in commands if c.argv[0] == "snakemake"))
        assert path in built, f"{where} says to open {path}, which its command does not build ({sorted(built)})"


def test_the_paper_presets_cost_is_in_the_readme() -> None:
    preset_text = (REPO / "workflow" / "presets" / "paper.yaml").read_text()
    per_model = re.search(r"(\d+-\d+ GPU-days)", preset_text)
    assert per_model, "workflow/presets/paper.yaml states no GPU-days estimate any more"
    runs = len(pipeline_config.plan(pipeline_config.load_preset({"preset": "paper"}, REPO)).runs)
    assert per_model.group(1) in TEXT, f"the README does not give the paper preset's {per_model.group(1)}"
    assert f"{runs} training runs" in TEXT, f"the README's count of the paper preset's runs is not {runs}"
