"""The pipeline: presets, config validation, dry runs, and the smoke preset end to end through DVC."""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from repbench import cli
from repbench.pipeline import config as pipeline_config
from repbench.pipeline import timing_groups

REPO = Path(__file__).resolve().parent.parent
PRESETS = ("cpu", "gpu-hour", "paper", "smoke", "sweep")


def _snakemake(*args: str, cwd: Path = REPO, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake dry run."""
    lines = output.split("Job stats:", 1)[1].splitlines()
    counts = {}
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_every_preset_file_is_listed_and_plans() -> None:
    assert pipeline_config.available_presets(REPO) == sorted(PRESETS)
    for name in PRESETS:
        preset = pipeline_config.load_preset({"preset": name}, REPO)
        plan = pipeline_config.plan(preset)
        assert plan.experiments.keys() <= set(pipeline_config.EXPERIMENTS)
        assert plan.runs and plan.test_data and plan.val_data.startswith("holdout:")  # never a test set
        assert plan.val_data not in plan.test_data


def test_cpu_preset_covers_every_table2_method_and_size() -> None:
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "cpu"}, REPO))
    table2 = {(plan.runs[r].method, plan.runs[r].size) for r in plan.experiments["table2"]}
    for method in ("plain", "repvgg", "ecbsr", "repsr"):
        for size in ("M4C8", "M4C16", "M10C16", "M10C32", "M16C64"):
            assert (method, size) in table2
    assert {s for m, s in table2 if m == "sesr"} == {"M5C16", "M11C16", "M11C32"}
    assert ("edsr", "R5C32") in table2
    # A run shared by Table 2 and Table 3 is trained once; Table 3 adds only ECBSR trained branched (the paper's form).
    extra = set(plan.experiments["table3"]) - set(plan.experiments["table2"])
    assert extra == {f"ecbsr-{s}-x4-branched" for s in ("M4C16", "M10C16", "M10C32", "M16C64")}
    assert all(not plan.runs[r].options.get("collapsed") for r in extra)


def test_runs_of_different_presets_never_share_a_folder() -> None:
    roots = {pipeline_config.load_preset({"preset": n}, REPO)["preset"] for n in PRESETS}
    assert roots == set(PRESETS)  # runs go to results/runs/<preset>/


@pytest.mark.parametrize(
    "change,match",
    [
        ({"preset": "fast"}, "valid presets: cpu, gpu-hour, paper, smoke, sweep"),
        ({"experiments": {"table2": {"runs": [{"method": "vdsr", "sizes": ["M4C8"]}]}}}, "valid methods: plain, repvgg"),
        ({"experiments": {"table2": {"runs": [{"method": "repsr", "sizes": ["R5C32"]}]}}}, r"expected M\{m\}C\{c\}"),
        ({"experiments": {"table9": {"runs": []}}}, "valid: table1, table2"),
        ({"data": {"train": ["DIV3K"], "test": ["Set5"]}}, "registered datasets: Set5, Set14"),
    ],
)
def test_bad_config_names_what_is_valid(change: dict, match: str) -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    if "preset" in change:
        with pytest.raises(ValueError, match=match):
            pipeline_config.load_preset(change, REPO)
        return
    preset.update(change)
    with pytest.raises(ValueError, match=match):
        pipeline_config.plan(preset)


def test_conflicting_runs_need_a_tag() -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    preset["experiments"]["table3"]["train"] = {"iterations": 99}
    with pytest.raises(ValueError, match="distinct `tag`"):
        pipeline_config.plan(preset)


def test_missing_real_data_falls_back_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPBENCH_SHARED_DATASETS", str(tmp_path / "shared"))  # nothing there
    monkeypatch.setenv("REPBENCH_DATA_CACHE", str(tmp_path / "cache"))
    preset = pipeline_config.load_preset({"preset": "cpu"}, REPO)
    plan = pipeline_config.plan(preset)
    assert plan.data_mode == "fallback" and plan.train_data == ["skimage-train"]
    warning = pipeline_config.data_warning(preset, plan)
    assert warning.startswith("WARNING: preset 'cpu' falls back")
    assert "train: skimage-train instead of T91, BSD200" in warning and "cannot match docs/results-cpu/" in warning
    # It says where each missing set goes.
    assert f"{tmp_path / 'shared' / 'T91' / 'HR'} or set REPBENCH_DATA_T91=" in warning
    assert "`repbench data prepare Set5`" in warning
    # The real sets in place: no fallback, no warning.
    for name in ("T91", "BSD200", "Set5", "Set14"):
        (tmp_path / "shared" / name / "HR").mkdir(parents=True)
    plan = pipeline_config.plan(preset)
    assert plan.data_mode == "real" and plan.train_data == ["T91", "BSD200"]
    assert pipeline_config.data_warning(preset, plan) is None
    # A preset that only ever uses the embedded photos (smoke) is not warned about either.
    smoke = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    assert pipeline_config.data_warning(smoke, pipeline_config.plan(smoke)) is None


def test_the_pipeline_prints_the_fallback_warning_at_start(tmp_path: Path) -> None:
    env = {**os.environ, "REPBENCH_SHARED_DATASETS": str(tmp_path / "shared"), "REPBENCH_DATA_CACHE": str(tmp_path / "c")}
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "results/table3.md"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    out = result.stdout  # both streams, in the order they were written
    assert result.returncode == 0, out[-2000:]
    assert "WARNING: preset 'cpu' falls back" in out and "skimage-train instead of T91, BSD200" in out
    assert out.index("WARNING") < out.index("Building DAG")  # before anything runs


def test_snakemake_rejects_an_unknown_method_at_once(tmp_path: Path) -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    preset["experiments"]["table2"]["runs"][0]["method"] = "vdsr"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(preset))
    result = _snakemake("-n", "--cores", "1", "--configfile", str(bad), timeout=120)
    assert result.returncode != 0
    assert "vdsr" in result.stderr + result.stdout and "repsr" in result.stderr + result.stdout


def test_paper_preset_dry_run_lists_all_its_jobs() -> None:
    # --forceall: list every job even where this checkout already has results.
    result = _snakemake("-n", "--forceall", "--cores", "1", "--config", "preset=paper", "--directory", str(REPO))
    assert result.returncode == 0, result.stderr[-2000:]
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "paper"}, REPO))
    counts = _job_counts(result.stdout)
    n_runs = len(plan.runs)
    assert n_runs >= 45
    assert counts["train"] == n_runs
    # counts and clocks are measured once per architecture: on seed 0, not on its seed copies; the released
    # checkpoints of the published experiment are imported (never trained), timed (their table shows clocks:
    # measure.json, no separate count job) and scored the same way
    assert counts["import_published"] == len(plan.published) == 3
    n_architectures = sum(1 for r in plan.runs.values() if r.seed == 0)
    assert counts["count"] == n_architectures and counts["measure"] == n_architectures + 3
    # each deployed network is timed once, whatever trained it (every Mx-Cy method of one size: one job)
    _, timed = timing_groups.timing_groups([plan.spec(r) for r in [*plan.runs, *plan.published]])
    assert counts["time_deployed"] == len(timed) < n_architectures
    assert counts["evaluate"] == n_runs + 3  # every test set of a run in one job
    assert counts["table"] == len(pipeline_config.TABLES)
    assert '"device":"cuda"' in result.stdout and "gpu=1" in result.stdout


def test_table2_needs_counts_but_no_timing_job() -> None:
    # Table 2 shows counts, not clocks: its target must not queue the every-core timing jobs.
    result = _snakemake("-n", "--forceall", "--cores", "1", "--config", "preset=smoke", "--directory", str(REPO),
                        "results/table2.md")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = _job_counts(result.stdout)
    n_runs = len(pipeline_config.plan(pipeline_config.load_preset({"preset": "smoke"}, REPO)).experiments["table2"])
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "smoke"}, REPO))
    assert counts["train"] == n_runs
    assert counts["count"] == sum(1 for r in plan.experiments["table2"] if plan.runs[r].seed == 0)
    assert counts["evaluate"] == n_runs  # every test set of a run in one job
    assert "measure" not in counts


def _job_resources(output: str) -> list[tuple[str, str]]:
    """(rule, its `resources:` line) of every job of a Snakemake dry run."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S|\Z)", output, re.M | re.S)
    return [(rule, (re.findall(r"^\s+resources: (.*)$", body, re.M) or [""])[0]) for rule, body in jobs]


def test_slurm_profile_dry_run() -> None:
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="install the slurm extra: pip install -e '.[slurm]'")
    # Table 3 (timing jobs) and Table 1 (BN diagnoses): every kind of job, in a smaller graph than the whole preset's.
    result = _snakemake("-n", "--forceall", "--workflow-profile", "workflow/profiles/slurm", "--config", "preset=paper",
                        "slurm_partition=gpuq", "slurm_account=proj42", "--", "results/table3.md", "results/table1.md")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout + result.stderr
    assert "workflow/profiles/slurm" in out
    jobs = _job_resources(result.stdout)
    rules = {rule for rule, _ in jobs}
    assert {"train", "time_deployed", "measure", "count", "evaluate", "evaluate_floor", "bn_diagnose", "table"} <= rules
    for rule, resources in jobs:
        if rule in ("table", "membership"):  # written where Snakemake runs (localrules)
            continue
        # Partition and account from the config, on every job; nothing hard-coded in the profile.
        assert "slurm_partition=gpuq" in resources and "slurm_account=proj42" in resources, (rule, resources)
        # One GPU per GPU job, asked for once (the plugin refuses gpu and gres together).
        assert ("gpu=1" in resources) == (rule in ("train", "measure", "time_deployed", "evaluate", "bn_diagnose")), (rule, resources)
        assert "gres=" not in resources
        # Timing jobs, and only they, take a node of their own.
        assert ("slurm_extra=--exclusive" in resources) == (rule in ("measure", "time_deployed")), (rule, resources)
        if rule == "time_deployed":
            assert "runtime=60" in resources
        if rule == "train":
            assert "runtime=4320" in resources


def _fresh_clone(dest: Path) -> Path:
    """The working tree as a fresh clone would have it: tracked + untracked-but-not-ignored files."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for rel in filter(None, files):
        src, dst = REPO / rel, dest / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-qm", "clone"], cwd=dest, check=True)
    return dest


@pytest.mark.slow
def test_smoke_preset_end_to_end_through_dvc(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    (clone / "params.yaml").write_text("preset: smoke\n")
    runs = clone / "results" / "runs" / "smoke"

    # An interrupted run: two iterations done and checkpointed; the pipeline must resume it.
    plan = pipeline_config.plan(pipeline_config.load_preset({"preset": "smoke"}, clone))
    spec = plan.runs["repsr-M1C4-x4"]
    args = pipeline_config.train_cli_args(spec, plan, pipeline_config.load_preset({"preset": "smoke"}, clone))
    partial = subprocess.run(
        f"repbench train --run-dir {runs / spec.run_id} {args} --stop-after 2", shell=True, cwd=clone,
        capture_output=True, text=True, timeout=300,
    )
    assert partial.returncode == 0, partial.stderr[-2000:]
    assert (runs / spec.run_id / "checkpoints" / "last.pt").is_file()
    assert not (runs / spec.run_id / "train.json").exists()

    result = subprocess.run(["dvc", "repro"], cwd=clone, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    results = clone / "results"
    for target in [f"{t}.md" for t in pipeline_config.TABLES] + [
        "fig1_tradeoff.png", "fig1_tradeoff.svg", "fig6_curves.png", "fig6_curves.svg",
        "fig5_bn_stats.png", "fig5_bn_stats.svg", "leaderboard.html", "leaderboard.csv",
    ]:
        assert (results / target).stat().st_size > 0, target
    for table in pipeline_config.TABLES:
        assert "smoke" in (results / f"{table}.md").read_text().split("\n\n", 2)[1], table
    with open(results / "leaderboard.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["run"] for r in rows} >= set(plan.runs)

    events = (runs / spec.run_id / "metrics.csv").read_text()
    assert "resumed" in events  # the interrupted run continued from its checkpoint

    # One deployed network, one timing: the four M1C4 methods deploy the same plain net and read the same
    # throughput (copied from results/timing/smoke/, signature-checked); plain's unmerged net is that net too.
    def records(run: str) -> dict[str, dict]:
        return {r["net"]: r for r in json.loads((runs / run / "measure.json").read_text())["throughput"]}

    merged = [records(f"{m}-M1C4-x4")["merged"] for m in ("plain", "repvgg", "ecbsr", "repsr")]
    assert len({(r["images_per_s"], r["images_per_s_min"], r["images_per_s_max"]) for r in merged}) == 1
    assert all(r["shared_from"].endswith("plain-M1C4-x4-c1.json") and r["processes"] == 2 for r in merged)
    assert records("plain-M1C4-x4")["unmerged"]["images_per_s"] == merged[0]["images_per_s"]
    assert records("repvgg-M1C4-x4")["unmerged"]["shared_from"] == ""  # its branched net is timed on its own

    # Everything is up to date now, and a second `dvc repro` keeps the finished runs.
    again = _snakemake("-n", "--cores", "1", "--config", "preset=smoke", cwd=clone)
    assert "Nothing to be done" in again.stdout + again.stderr
    mtime = (runs / spec.run_id / "final.pt").stat().st_mtime
    second = subprocess.run(["dvc", "repro"], cwd=clone, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert (runs / spec.run_id / "final.pt").stat().st_mtime == mtime


# ----------------------------------------------------------------------------- train-section checks, config changes, SIGTERM


def test_recipe_typo_fails_the_plan_naming_the_key(tmp_path: Path) -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    preset["experiments"]["table3"]["train"] = {"iteratons": 4}
    with pytest.raises(ValueError, match=r"experiments.table3.train: unknown training-config field 'iteratons' "
                                         r"\(did you mean 'iterations'\?\); valid fields: profile, iterations, batch_size"):
        pipeline_config.plan(preset)
    preset["experiments"]["table3"]["train"] = {"iterations": "many"}
    with pytest.raises(ValueError, match="run ecbsr-M1C4-x4: .*'iterations' must be of type int"):
        pipeline_config.plan(preset)
    preset["experiments"]["table3"]["train"] = {"scale": 2}
    with pytest.raises(ValueError, match="'scale' is set by the experiment or run entry"):
        pipeline_config.plan(preset)

    preset["experiments"]["table3"]["train"] = {"iteratons": 4}
    bad = tmp_path / "typo.yaml"
    bad.write_text(yaml.safe_dump(preset))
    result = _snakemake("-n", "--cores", "1", "--configfile", str(bad), timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unknown training-config field 'iteratons'" in out and "valid fields: profile, iterations" in out


def _one_run_preset(clone: Path, name: str, **recipe: object) -> Path:
    """The smoke preset cut down to one x2 run (a Table 2 row), with recipe overrides."""
    preset = pipeline_config.load_preset({"preset": "smoke"}, clone)
    preset["experiments"] = {"table2": {"scale": 2, "colors": 1, "runs": [{"method": "plain", "sizes": ["M1C4"]}]}}
    preset["train"] = {**preset["train"], **recipe}
    path = clone / name
    path.write_text(yaml.safe_dump(preset))
    return path


@pytest.mark.slow
def test_changed_recipe_reruns_a_finished_run_with_no_manual_step(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    run = clone / "results" / "runs" / "smoke" / "plain-M1C4-x2"
    target = str(run.relative_to(clone) / "train.json")  # the train rule is where an edited recipe got stuck
    first = _snakemake(target, "--cores", "1", "--configfile", str(_one_run_preset(clone, "a.yaml")), cwd=clone)
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    old_last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert old_last["iteration"] == 4

    edited = _one_run_preset(clone, "b.yaml", iterations=6)
    second = _snakemake(target, "--cores", "1", "--configfile", str(edited), cwd=clone)
    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    assert json.loads((run / "train.json").read_text())["iterations"] == 6
    assert "iterations: 6" in (run / "config.yaml").read_text()
    # The old run is kept aside, whole, and was not continued into the new one.
    (moved,) = (run / "superseded").iterdir()
    assert "iterations: 4" in (moved / "config.yaml").read_text()
    kept = torch.load(moved / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.equal(kept["model"][k], v) for k, v in old_last["model"].items())
    assert "resumed" not in (run / "metrics.csv").read_text()
    again = _snakemake(target, "-n", "--cores", "1", "--configfile", str(edited), cwd=clone)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_a_run_added_to_a_preset_trains_and_its_table_is_rendered_again(tmp_path: Path) -> None:
    # Snakemake keeps an existing output whose input list grew unless the profile reruns on `input`.
    clone = _fresh_clone(tmp_path / "clone")
    first = _snakemake("results/table2.md", "--cores", "1", "--configfile", str(_one_run_preset(clone, "a.yaml")),
                       cwd=clone)
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    assert (clone / "results" / "runs" / "smoke" / "plain-M1C4-x2" / "eval").is_dir()
    written = json.loads((clone / "results" / "runs" / "smoke" / pipeline_config.PLAN_FILE).read_text())
    assert written == {"preset": "smoke", "experiments": {"table2": ["plain-M1C4-x2"]}}  # what the report reads

    grown = yaml.safe_load((clone / "a.yaml").read_text())
    grown["experiments"]["table2"]["runs"].append({"method": "repvgg", "sizes": ["M1C4"]})
    (clone / "b.yaml").write_text(yaml.safe_dump(grown))
    plan = _snakemake("results/table2.md", "-n", "--cores", "1", "--configfile", str(clone / "b.yaml"), cwd=clone)
    out = plan.stdout + plan.stderr
    assert plan.returncode == 0, out[-3000:]
    assert "Nothing to be done" not in out
    assert "wildcards: run=repvgg-M1C4-x2" in out and "wildcards: run=plain-M1C4-x2" not in out
    assert "output: results/table2.md" in out
    assert f"output: results/runs/smoke/{pipeline_config.PLAN_FILE}" in out  # the membership grows with it


@pytest.mark.slow
def test_sigterm_to_a_training_job_then_rerun_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    preset_file = _one_run_preset(clone, "long.yaml", iterations=500, checkpoint_every=5, log_every=5, val_every=0)
    run = clone / "results" / "runs" / "smoke" / "plain-M1C4-x2"
    target = str(run.relative_to(clone) / "train.json")
    cmd = [sys.executable, "-m", "snakemake", target, "--cores", "1", "--configfile", str(preset_file)]
    pipeline = subprocess.Popen(cmd, cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while not (run / "checkpoints" / "last.pt").is_file():
            assert pipeline.poll() is None and time.time() < deadline, "the training job never checkpointed"
            time.sleep(0.05)
        trainer = int((run / ".lock").read_text())  # the run lock names the `repbench train` process
        os.kill(trainer, signal.SIGTERM)
        out, _ = pipeline.communicate(timeout=120)
    finally:
        if pipeline.poll() is None:
            pipeline.kill()
    assert pipeline.returncode != 0, out[-3000:]  # a stopped job is not a finished one
    log = (run / "train.log").read_text()
    assert "SIGTERM received" in log and "rerun the same command to resume" in log
    stopped = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"]
    assert 5 <= stopped < 500 and not (run / "train.json").exists()

    rerun = subprocess.run(cmd, cwd=clone, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
    assert f"resuming at iteration {stopped} of 500" in (run / "train.log").read_text()

    preset = pipeline_config.load_preset(yaml.safe_load(preset_file.read_text()), clone)
    plan = pipeline_config.plan(preset)
    args = pipeline_config.train_cli_args(plan.runs[run.name], plan, preset)
    ref = tmp_path / "uninterrupted"
    assert cli.main(["train", "--run-dir", str(ref), *shlex.split(args), "--set", "threads=1"]) == 0
    a = torch.load(run / "final.pt", weights_only=True)["state_dict"]
    b = torch.load(ref / "final.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- seeds


def test_seeds_expand_each_run_and_keep_seed0s_id() -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    single = pipeline_config.plan(preset)
    preset["seeds"] = 3
    preset["experiments"]["table3"]["seeds"] = 2  # an experiment's own count wins over the preset's ...
    preset["experiments"]["table2"]["runs"][0]["seeds"] = 1  # ... and a run entry's over its experiment's
    plan = pipeline_config.plan(preset)
    assert set(single.runs) <= set(plan.runs)  # seed 0 keeps today's id (and its config: the default seed)
    assert single.runs["repsr-M1C4-x4"].config == plan.runs["repsr-M1C4-x4"].config
    assert [r for r in plan.experiments["table3"] if r.startswith("repsr")] == ["repsr-M1C4-x4", "repsr-M1C4-x4-seed1"]
    assert "repsr-M1C4-x4-seed2" in plan.experiments["table2"]  # table2 asks for 3 seeds of the shared run
    assert [r for r in plan.experiments["table2"] if r.startswith("plain-")] == ["plain-M1C4-x4"]
    assert [r for r in plan.experiments["table6"] if "expand1" in r] == [
        "repsr-M1C4-x4-rgb-expand1", "repsr-M1C4-x4-rgb-expand1-seed1", "repsr-M1C4-x4-rgb-expand1-seed2"]
    spec = plan.runs["repsr-M1C4-x4-seed2"]
    assert spec.seed == 2 and '"seed":2' in pipeline_config.train_cli_args(spec, plan, preset)
    assert '"seed":0' in pipeline_config.train_cli_args(plan.runs["repsr-M1C4-x4"], plan, preset)


@pytest.mark.parametrize("value", [0, -1, "3", True])
def test_bad_seeds_are_refused(value: object) -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    preset["seeds"] = value
    with pytest.raises(ValueError, match="seeds must be a whole number >= 1"):
        pipeline_config.plan(preset)
    from snakemake.utils import validate

    with pytest.raises(Exception, match="seeds"):
        validate(preset, str(REPO / "workflow" / "schemas" / "preset.schema.yaml"))


def test_seeds_dry_run_trains_each_seed_and_evaluates_the_floors(tmp_path: Path) -> None:
    preset = pipeline_config.load_preset({"preset": "smoke"}, REPO)
    preset["seeds"] = 2
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(preset))
    result = _snakemake("-n", "--forceall", "--cores", "1", "--configfile", str(path), "--directory", str(REPO))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = _job_counts(result.stdout)
    plan = pipeline_config.plan(preset)
    assert counts["train"] == len(plan.runs) == 2 * len(pipeline_config.plan(
        pipeline_config.load_preset({"preset": "smoke"}, REPO)).runs)
    assert '"seed":1' in result.stdout and "-seed1/train.json" in result.stdout
    scales = {s.scale for s in plan.runs.values()}
    assert counts["evaluate_floor"] == 2 * len(scales)  # bicubic and nearest, every test set in one job
    assert "repbench eval --model nearest" in result.stdout
