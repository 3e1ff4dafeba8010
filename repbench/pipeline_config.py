"""Presets of the pipeline: loading, checking, and expanding them into runs.

A preset (workflow/presets/NAME.yaml) names its data, a base training recipe,
per-size recipe overrides, what to measure, and experiments (one per paper
table), each a list of methods x sizes with options. `plan()` turns that into
run ids; the Snakefile only wires those runs to `repbench` commands.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The RepSR paper's Tables 1-7 and the NTIRE 2022 companion paper's Tables 2, 3 and 5.
TABLES = ("table1", "table2", "table3", "table4", "table5", "table6", "table7", "ntire_table2", "ntire_table3", "ntire_table5")


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    method: str
    size: str
    scale: int
    colors: int
    options: dict[str, Any]
    recipe: dict[str, Any]
    experiments: tuple[str, ...]
    seed: int = 0  # seed k >= 1: run id `<id>-seed<k>`, trained with `--set seed=k`


@dataclass
class Plan:
    runs: dict[str, RunSpec] = field(default_factory=dict)
    experiments: dict[str, list[str]] = field(default_factory=dict)
    train_data: list[str] = field(default_factory=list)
    test_data: list[str] = field(default_factory=list)
    val_data: str = ""
    data_mode: str = ""


def preset_dir(basedir: Path) -> Path:
    return Path(basedir) / "workflow" / "presets"


def available_presets(basedir: Path) -> list[str]:
    return sorted(p.stem for p in preset_dir(basedir).glob("*.yaml"))


def load_preset(config: dict[str, Any], basedir: Path) -> dict[str, Any]:
    """The preset named by config['preset'] with any other top-level config keys laid over it.

    A config that already has `experiments` (a user's own --configfile) is a preset itself.
    """
    config = copy.deepcopy(dict(config))
    if "experiments" in config:
        return config
    name = str(config.pop("preset", "cpu"))
    path = preset_dir(basedir) / f"{name}.yaml"
    if not path.is_file():
        valid = ", ".join(available_presets(basedir))
        raise ValueError(f"unknown preset {name!r}; valid presets: {valid} (files in {preset_dir(basedir)})")
    preset = yaml.safe_load(path.read_text())
    if preset.get("preset") != name:
        raise ValueError(f"{path} must say `preset: {name}` (it names the runs folder)")
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(preset.get(key), dict):
            preset[key] = {**preset[key], **value}
        else:
            preset[key] = value
    return preset


def _resolve_data(data: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """Registered real datasets when all are present, else the preset's fallback (embedded) sets."""
    from repbench import data as registry

    known = list(registry.load_registry()[0])
    for key in ("train", "test", "fallback_train", "fallback_test"):
        for name in data.get(key, []):
            if name not in known:
                raise ValueError(f"unknown dataset {name!r} in data.{key}; registered datasets: {', '.join(known)}")
    def pick(key: str) -> list[str]:
        # Without a fallback the named sets are used as they are: `repbench data prepare`
        # downloads them (or says where to put them) when the pipeline runs.
        wanted, fallback = list(data.get(key, [])), list(data.get(f"fallback_{key}", []))
        if wanted and (not fallback or all(registry.available(n) for n in wanted)):
            return wanted
        return fallback

    train, test = pick("train"), pick("test")
    if not train or not test:
        raise ValueError("the preset's data section resolves to no training or no test set; "
                         "list available datasets (see `repbench data list`) or fallbacks")
    mode = "real" if train == list(data.get("train", [])) else "embedded"
    return train, test, mode


# Options that change how a block trains but not the function it computes: not part of a run's name.
_SILENT_OPTIONS = frozenset({"collapsed"})


def _tag(options: dict[str, Any]) -> str:
    return "-".join(f"{k}{v}" for k, v in sorted(options.items()) if k not in _SILENT_OPTIONS)


def run_id(method: str, size: str, scale: int, colors: int, tag: str = "") -> str:
    rid = f"{method}-{size}-x{scale}" + ("-rgb" if colors == 3 else "")
    return f"{rid}-{tag}" if tag else rid


def n_seeds(preset: dict[str, Any], exp: dict[str, Any], entry: dict[str, Any], where: str) -> int:
    """How many seeds a run entry trains: its own `seeds`, else its experiment's, else the preset's (1)."""
    value = entry.get("seeds", exp.get("seeds", preset.get("seeds", 1)))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"seeds must be a whole number >= 1 (experiment {where}: got {value!r})")
    return value


def seed_run(base_rid: str, recipe: dict[str, Any], seed: int) -> tuple[str, dict[str, Any]]:
    """(run id, recipe) of one seed: seed 0 is the run as it always was; seed k >= 1 is `<id>-seed<k>`
    and trains with seed k, so the report can fold the seeds back into one row with a spread."""
    if seed == 0:
        return base_rid, recipe
    return f"{base_rid}-seed{seed}", {**recipe, "seed": seed}


def plan(preset: dict[str, Any]) -> Plan:
    """Expand experiments into runs; the same run shared by two tables is trained once."""
    import methods

    out = Plan()
    out.train_data, out.test_data, out.data_mode = _resolve_data(preset["data"])
    # Validation never uses a test set: images held out of the training data (fewer for the small embedded set).
    data = preset["data"]
    out.val_data = str(data.get("val", "holdout:10") if out.data_mode == "real" else data.get("fallback_val", "holdout:2"))
    base = preset.get("recipe", {})
    by_size = preset.get("size_recipe", {})
    check_recipe_keys(base, "recipe")
    for size, over in by_size.items():
        check_recipe_keys(over, f"size_recipe.{size}")
    for exp_name, exp in preset.get("experiments", {}).items():
        if exp_name not in TABLES:
            raise ValueError(f"unknown experiment {exp_name!r}; valid: {', '.join(TABLES)}")
        check_recipe_keys(exp.get("recipe", {}), f"experiments.{exp_name}.recipe")
        out.experiments[exp_name] = []
        for entry in exp.get("runs", []):
            method = entry["method"]
            if method not in methods.METHODS:
                raise ValueError(f"unknown method {method!r} in experiment {exp_name}; valid methods: {', '.join(methods.METHODS)}")
            scale = int(entry.get("scale", exp.get("scale", 4)))
            colors = int(entry.get("colors", exp.get("colors", 1)))
            options = dict(entry.get("options", {}))
            for size in entry["sizes"]:
                try:
                    methods.build(method, size, scale=scale, colors=colors, **options)
                except ValueError as err:
                    raise ValueError(f"experiment {exp_name}, method {method}: {err}") from None
                check_recipe_keys(entry.get("recipe", {}), f"experiments.{exp_name}.runs[{method} {size}].recipe")
                recipe = {**base, **by_size.get(size, {}), **exp.get("recipe", {}), **entry.get("recipe", {})}
                base_rid = run_id(method, size, scale, colors, entry.get("tag", _tag(options)))
                check_run_config(base_rid, method, size, scale, colors, options, recipe)
                for seed in range(n_seeds(preset, exp, entry, exp_name)):
                    rid, seeded = seed_run(base_rid, recipe, seed)
                    spec = RunSpec(rid, method, size, scale, colors, options, seeded, (exp_name,), seed)
                    if rid in out.runs:
                        prev = out.runs[rid]
                        if (prev.options, prev.recipe) != (options, seeded):
                            raise ValueError(f"run {rid} appears in {prev.experiments} and {exp_name} with different "
                                             "options or recipe; give one of them a distinct `tag`")
                        spec = RunSpec(**{**prev.__dict__, "experiments": prev.experiments + (exp_name,)})
                    out.runs[rid] = spec
                    if rid not in out.experiments[exp_name]:
                        out.experiments[exp_name].append(rid)
    return out


# Training-config fields the pipeline sets itself (from the run entry or the preset), never from a recipe.
_PIPELINE_FIELDS = {
    "method": "the run entry", "size": "the run entry's sizes", "scale": "the experiment or run entry",
    "colors": "the experiment or run entry", "options": "the run entry", "train_data": "the data section",
    "val_data": "the data section", "device": "the preset's device", "threads": "the preset's threads",
    "progress": "the pipeline (off in logs)",
}


def check_recipe_keys(recipe: Any, where: str) -> None:
    """A recipe section names training-config fields only (repbench/train.py TrainConfig), checked
    when the plan is built so that a typo fails `snakemake -n` instead of a training job."""
    import difflib

    from repbench.train import TrainConfig

    if not isinstance(recipe, dict):
        raise ValueError(f"{where} must be a mapping of training-config fields, e.g. {{iterations: 2000}}")
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    valid = [f for f in fields if f not in _PIPELINE_FIELDS]
    for key in recipe:
        if key in _PIPELINE_FIELDS:
            raise ValueError(f"{where}: {key!r} is set by {_PIPELINE_FIELDS[key]}, not by a recipe")
        if key not in fields:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: unknown training-config field {key!r}{hint}; valid fields: {', '.join(valid)}")


def check_run_config(rid: str, method: str, size: str, scale: int, colors: int, options: dict[str, Any],
                     recipe: dict[str, Any]) -> None:
    """The values and types of a run's merged recipe, checked as `repbench train` will check them."""
    from repbench.errors import RepbenchError
    from repbench.train import resolve_config

    try:
        resolve_config({"method": method, "size": size, "scale": scale, "colors": colors, "options": options}, recipe)
    except RepbenchError as err:
        raise ValueError(f"run {rid}: bad training config from the preset's recipe sections: {err}") from None


def _cli_value(value: Any) -> str:
    """A --set value the train CLI parses back to the same thing (lists as YAML flow)."""
    import shlex

    text = yaml.safe_dump(value, default_flow_style=True).strip()
    text = text.removesuffix("\n...").strip()
    return shlex.quote(text)


def train_cli_args(spec: RunSpec, plan_: Plan, preset: dict[str, Any]) -> str:
    """`repbench train` flags for one run (the run folder and threads are added by the rule)."""
    args = [
        f"--method {spec.method}", f"--size {spec.size}", f"--scale {spec.scale}", f"--colors {spec.colors}",
        f"--train-data {','.join(plan_.train_data)}", f"--val-data {plan_.val_data}",
        f"--set device={preset['device']}", "--set progress=false",
    ]
    args += [f"--set options.{k}={_cli_value(v)}" for k, v in sorted(spec.options.items())]
    args += [f"--set {k}={_cli_value(v)}" for k, v in sorted(spec.recipe.items())]
    return " ".join(args)


def measure_cli_args(preset: dict[str, Any]) -> str:
    """`repbench measure` flags from the preset's measure section."""
    m = preset.get("measure", {})
    args = [f"--device {preset['device']}"]
    if m.get("throughput", True):
        args.append("--throughput")
        for key, flag in (("batch", "--batch"), ("lr_size", "--lr-size"), ("repeats", "--repeats"), ("warmup", "--warmup")):
            if key in m:
                args.append(f"{flag} {m[key]}")
    if m.get("train_speed", False):
        args.append("--train-speed")
        for key, flag in (("train_batch", "--train-batch"), ("train_patch", "--train-patch"), ("train_iters", "--train-iters")):
            if key in m:
                args.append(f"{flag} {m[key]}")
    return " ".join(args)
