"""Presets of the pipeline: loading, checking, and expanding them into runs.

A preset (workflow/presets/NAME.yaml) names its data, base training options (`train`, whose
`profile` picks a recipe profile), per-size overrides (`size_train`), what to measure, and
experiments (one per paper table), each a list of methods x sizes with options. `plan()` turns
that into runs, each with its resolved and validated training config; `train_cli_args` hands
that config to `repbench train --config-json` as one object, so it is layered once, here.
"""
from __future__ import annotations

import copy
import re
import dataclasses
import difflib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import methods
from methods import registry
from repbench.atomic import write_json
from repbench.errors import RepbenchError
from repbench.training.patch_fit import patch_problems
from repbench.pipeline.targets import EXPERIMENTS, PUBLISHED_TABLE, TABLES
from repbench.training.config import TrainConfig, config_dict, config_json, layered, pipeline_set, resolve_config

__all__ = ["EXPERIMENTS", "PLAN_FILE", "TABLES", "Plan", "RunSpec", "available_presets", "data_warning",
           "load_preset", "measure_cli_args", "plan", "preset_schema", "train_cli_args", "validate_preset", "write_plan"]


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    method: str
    size: str
    scale: int
    colors: int
    options: dict[str, Any]
    config: dict[str, Any]  # the resolved, validated training config (TrainConfig fields)
    experiments: tuple[str, ...]
    seed: int = 0  # seed k >= 1: run id `<id>-seed<k>`, trained with seed k


@dataclass
class Plan:
    runs: dict[str, RunSpec] = field(default_factory=dict)
    experiments: dict[str, list[str]] = field(default_factory=dict)
    train_data: list[str] = field(default_factory=list)
    test_data: list[str] = field(default_factory=list)
    val_data: str = ""
    data_mode: str = ""  # "real": the preset's own train sets; "fallback": its fallback_train stands in
    published: list[str] = field(default_factory=list)  # registered released checkpoints, imported not trained
    unfit: list[str] = field(default_factory=list)  # runs whose patch fits no image of the fallback data
    published_specs: dict[str, RunSpec] = field(default_factory=dict)  # each published model as a run (no config)

    def spec(self, run_id: str) -> RunSpec:
        """A run of the plan: trained (`runs`) or a published model imported into a run folder of its own."""
        return self.runs[run_id] if run_id in self.runs else self.published_specs[run_id]


# A preset names results/runs/<preset>/ and a tag ends a run folder's name: each must be one plain
# path component. "." or ".." would put the runs into results/ itself (beside the rendered tables)
# or above it, a leading "." hides the folder, and a leading "-" reads as an option on a command line.
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def check_name(value: Any, where: str) -> str:
    """`value` as a safe single path component, or a ValueError naming the field `where`."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        raise ValueError(f"{where} {value!r} is not a plain folder name: use letters, digits, '_', '-' and '.', "
                         "starting with a letter, digit or '_' (it names a folder under results/runs/)")
    return value


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
        check_name(config.get("preset"), "preset")
        return config
    name = check_name(str(config.pop("preset", "cpu")), "preset")
    path = preset_dir(basedir) / f"{name}.yaml"
    if not path.is_file():
        valid = ", ".join(available_presets(basedir))
        raise ValueError(f"unknown preset {name!r}; valid presets: {valid} (files in {preset_dir(basedir)})")
    preset = yaml.safe_load(path.read_text())
    if preset.get("preset") != name:
        raise ValueError(f"{path} must say `preset: {name}` (it names the runs folder)")
    return layered(preset, config)


def _resolve_data(data: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """Registered real datasets when all are present, else the preset's fallback (embedded) sets."""
    from repbench import data as registry

    registered = registry.load_registry()[0]
    known = list(registered)
    # An alias (an old spelling, e.g. DIV2K-val) stands for its dataset's name: file names and
    # targets use the registered name, which is what `repbench eval` writes.
    renamed = {alias: name for name, ds in registered.items() for alias in ds.aliases}
    data = {**data}
    for key in ("train", "test", "fallback_train", "fallback_test"):
        data[key] = [renamed.get(name, name) for name in data.get(key, [])]
        for name in data[key]:
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
    mode = "real" if train == list(data.get("train", [])) else "fallback"
    return train, test, mode


def _where_to_get(name: str) -> str:
    """Where a missing dataset goes (its registered folder, or its override variable), or how to download it."""
    from repbench import data as registry

    ds = registry.get_dataset(name)
    folders = [str(s.path).replace("{datasets_root}", str(registry.datasets_root())) for s in ds.sources if s.kind == "local"]
    where = f"set {registry.override_env_var(name)}=/path/to/HR"
    if folders:
        where = f"put its HR images in {folders[0]} or {where}"
    if any(s.kind == "download" for s in ds.sources):
        where += f", or download it: `repbench data prepare {name}`"
    return f"{name}: {where}"


def data_warning(preset: dict[str, Any], plan_: Plan) -> str | None:
    """The loud note for a run whose preset names real data that is not on this machine, so that its
    fallback stands in: numbers from the fallback cannot match the committed snapshot or the papers."""
    data = preset["data"]
    swaps = [(role, list(data.get(role, [])), got) for role, got in (("train", plan_.train_data), ("test", plan_.test_data))
             if data.get(role) and list(data[role]) != got]
    if not swaps:
        return None
    from repbench import data as registry

    missing = [n for _, wanted, _ in swaps for n in wanted if not registry.available(n)]
    lines = [f"WARNING: preset {preset['preset']!r} falls back to other data: the datasets it names are not on this machine."]
    lines += [f"  {role}: {', '.join(got)} instead of {', '.join(wanted)}" for role, wanted, got in swaps]
    lines += ["  These numbers cannot match docs/results-cpu/ or the papers; every table's header says so.",
              "  To use the real sets (README, \"Data\"):"]
    lines += [f"    {_where_to_get(n)}" for n in missing]
    lines += ["  These runs cannot train on the fallback data (their jobs stop at start):"] if plan_.unfit else []
    return "\n".join(lines + [f"    {problem}" for problem in plan_.unfit])


def _tag(options: dict[str, Any]) -> str:
    return "-".join(f"{k}{v}" for k, v in sorted(options.items()) if k not in registry.TRAINING_ONLY_OPTIONS)


def run_id(method: str, size: str, scale: int, colors: int, tag: str = "") -> str:
    rid = f"{method}-{size}-x{scale}" + ("-rgb" if colors == 3 else "")
    return f"{rid}-{tag}" if tag else rid


def n_seeds(preset: dict[str, Any], exp: dict[str, Any], entry: dict[str, Any], where: str) -> int:
    """How many seeds a run entry trains: its own `seeds`, else its experiment's, else the preset's (1)."""
    value = entry.get("seeds", exp.get("seeds", preset.get("seeds", 1)))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"seeds must be a whole number >= 1 (experiment {where}: got {value!r})")
    return value


def seed_run(base_rid: str, options: dict[str, Any], seed: int) -> tuple[str, dict[str, Any]]:
    """(run id, training options) of one seed: seed 0 is the run as it always was; seed k >= 1 is
    `<id>-seed<k>` and trains with seed k, so the report can fold the seeds back into one row with a spread."""
    if seed == 0:
        return base_rid, options
    return f"{base_rid}-seed{seed}", {**options, "seed": seed}


def plan(preset: dict[str, Any]) -> Plan:
    """Expand experiments into runs; the same run shared by two tables is trained once."""
    out = Plan()
    check_name(preset.get("preset"), "preset")
    out.train_data, out.test_data, out.data_mode = _resolve_data(preset["data"])
    # Validation never uses a test set: images held out of the training data (fewer for the small embedded set).
    data = preset["data"]
    out.val_data = str(data.get("val", "holdout:10") if out.data_mode == "real" else data.get("fallback_val", "holdout:2"))
    check_train_keys(preset.get("train", {}), "train")
    for size, over in preset.get("size_train", {}).items():
        check_train_keys(over, f"size_train.{size}")
    for exp_name, exp in preset.get("experiments", {}).items():
        if exp_name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {exp_name!r}; valid: {', '.join(EXPERIMENTS)}")
        if exp_name == PUBLISHED_TABLE:
            out.published_specs = _published_models(exp)
            out.published = out.experiments[exp_name] = list(out.published_specs)
            continue
        check_train_keys(exp.get("train", {}), f"experiments.{exp_name}.train")
        out.experiments[exp_name] = []
        for entry in exp.get("runs", []):
            for spec in _entry_runs(preset, out, exp_name, exp, entry):
                _add_run(out, spec)
    # A patch no training image holds fails here, not in a training job; where a fallback stands in for
    # missing data the preset was not written for it, so its runs that cannot train on it are named in
    # the loud fallback warning instead (and refused when their job starts).
    out.unfit = patch_problems(out.runs.values())
    if out.unfit and not (out.data_mode == "fallback" and preset["data"].get("train")):
        raise ValueError(out.unfit[0])
    return out


def _published_models(exp: dict[str, Any]) -> dict[str, RunSpec]:
    """The `published` experiment's registered models (data/published.yaml), each a run of its own."""
    from repbench.published.registry import load_registry

    registered = load_registry()
    names = [str(n) for n in exp.get("models", [])]
    unknown = [n for n in names if n not in registered]
    if unknown:
        raise ValueError(f"experiment published: unknown model(s) {', '.join(unknown)}; registered in "
                         f"data/published.yaml: {', '.join(registered)}")
    missing = sorted({registered[n].method for n in names} - set(registry.methods()))
    if missing:
        raise ValueError(f"experiment published: method(s) {', '.join(missing)} are not registered")
    return {n: RunSpec(n, registered[n].method, registered[n].size, registered[n].scale, registered[n].colors,
                       dict(registered[n].options), {}, (PUBLISHED_TABLE,)) for n in dict.fromkeys(names)}


# Written into a preset's runs folder for the report: each experiment (table) with the run ids the
# preset gives it. Without it a run fills every table whose rows it matches, so a preset that trains
# one model twice, at two budgets for two tables, would see both runs in both tables.
PLAN_FILE = "experiments.json"


def write_plan(path: str | Path, preset: str, experiments: dict[str, list[str]]) -> Path:
    """The preset's table -> run ids (`Plan.experiments`), as repbench.results.membership reads it."""
    return write_json(path, {"preset": preset, "experiments": {t: list(ids) for t, ids in experiments.items()}})


def _entry_runs(preset: dict[str, Any], out: Plan, exp_name: str, exp: dict[str, Any], entry: dict[str, Any]) -> list[RunSpec]:
    """Every run (sizes x seeds) of one run entry of an experiment, with its resolved config."""
    method = entry["method"]
    if method not in registry.methods():
        raise ValueError(f"unknown method {method!r} in experiment {exp_name}; valid methods: {', '.join(registry.methods())}")
    scale = int(entry.get("scale", exp.get("scale", 4)))
    colors = int(entry.get("colors", exp.get("colors", 1)))
    options = dict(entry.get("options", {}))
    specs = []
    for size in entry["sizes"]:
        try:
            methods.build(method, size, scale=scale, colors=colors, **options)
        except ValueError as err:
            raise ValueError(f"experiment {exp_name}, method {method}: {err}") from None
        check_train_keys(entry.get("train", {}), f"experiments.{exp_name}.runs[{method} {size}].train")
        train = layered(preset.get("train", {}), preset.get("size_train", {}).get(size, {}), exp.get("train", {}),
                        entry.get("train", {}))
        tag = entry.get("tag", _tag(options))
        if "tag" in entry and entry["tag"] != "":
            check_name(tag, f"experiments.{exp_name}.runs[{method} {size}].tag")
        base_rid = check_name(run_id(method, size, scale, colors, tag), f"experiment {exp_name}: run id")
        run_fields = {"method": method, "size": size, "scale": scale, "colors": colors, "options": options,
                      "train_data": ",".join(out.train_data), "val_data": out.val_data,
                      "device": preset["device"], "progress": False}
        for seed in range(n_seeds(preset, exp, entry, exp_name)):
            rid, seeded = seed_run(base_rid, train, seed)
            config = run_config(rid, run_fields, seeded)
            specs.append(RunSpec(rid, method, size, scale, colors, options, config, (exp_name,), seed))
    return specs


def _add_run(out: Plan, spec: RunSpec) -> None:
    exp_name = spec.experiments[0]
    if spec.run_id in out.runs:
        prev = out.runs[spec.run_id]
        if prev.config != spec.config:
            raise ValueError(f"run {spec.run_id} appears in {prev.experiments} and {exp_name} with different "
                             "options or training config; give one of them a distinct `tag`")
        spec = dataclasses.replace(prev, experiments=prev.experiments + (exp_name,))
    out.runs[spec.run_id] = spec
    if spec.run_id not in out.experiments[exp_name]:
        out.experiments[exp_name].append(spec.run_id)


def check_train_keys(section: Any, where: str) -> None:
    """A `train` section names training-config fields only (repbench/training/config.py TrainConfig),
    checked when the plan is built so that a typo fails `snakemake -n` instead of a training job."""
    if not isinstance(section, dict):
        raise ValueError(f"{where} must be a mapping of training-config fields, e.g. {{iterations: 2000}}")
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    set_by = pipeline_set()
    valid = [f for f in fields if f not in set_by]
    for key in section:
        if key in set_by:
            raise ValueError(f"{where}: {key!r} is set by {set_by[key]}, not by a train section")
        if key not in fields:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: unknown training-config field {key!r}{hint}; valid fields: {', '.join(valid)}")


def run_config(rid: str, run_fields: dict[str, Any], train: dict[str, Any]) -> dict[str, Any]:
    """The run's training config, resolved and checked as `repbench train` would check it."""
    try:
        return config_dict(resolve_config(run_fields, train))
    except RepbenchError as err:
        raise ValueError(f"run {rid}: bad training config from the preset's train sections: {err}") from None


def train_cli_args(spec: RunSpec, plan_: Plan, preset: dict[str, Any]) -> str:
    """`repbench train` flags for one run: its whole config as one JSON object (the run folder and
    threads are added by the rule)."""
    return f"--config-json {shlex.quote(config_json(TrainConfig(**spec.config)))}"


def train_priority(spec: RunSpec) -> int:
    """A run's scheduling priority: a rough cost, so the longest runs start first and no single long
    run is left alone at the end on one core. Cost ~ iterations x batch x patch^2 x depth x width^2
    (the size's two numbers; a size with one number, e.g. IMDN's B7, counts width 64)."""
    numbers = [int(n) for n in re.findall(r"\d+", spec.size)] or [1]
    depth, width = (numbers + [64])[:2]
    cfg = spec.config
    cost = cfg["iterations"] * cfg["batch_size"] * cfg["patch_size"] ** 2 * depth * width**2
    return max(1, round(cost / 1e9))


def preset_schema(basedir: Path) -> dict[str, Any]:
    """workflow/schemas/preset.schema.yaml with the names it checks filled in from their one source:
    the experiments from repbench.pipeline.targets, the methods and size formats from the method registry."""
    schema = yaml.safe_load((Path(basedir) / "workflow" / "schemas" / "preset.schema.yaml").read_text())
    experiments = schema["properties"]["experiments"]
    experiments["propertyNames"] = {"enum": list(EXPERIMENTS)}
    # The published experiment lists registered checkpoints (data/published.yaml), not methods x sizes.
    from repbench.published.registry import names

    experiments.setdefault("properties", {})[PUBLISHED_TABLE]["properties"]["models"]["items"] = {"enum": list(names())}
    entry = experiments["additionalProperties"]["properties"]["runs"]["items"]["properties"]
    entry["method"] = {"enum": list(registry.methods())}
    entry["sizes"]["items"] = {"type": "string", "pattern": registry.size_pattern()}
    return schema


def validate_preset(preset: dict[str, Any], basedir: Path) -> None:
    """Check a preset against `preset_schema`; a ValueError names the first place that does not fit."""
    import jsonschema

    try:
        jsonschema.validate(preset, preset_schema(basedir), cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "the top level"
        raise ValueError(f"preset {preset.get('preset')!r} does not fit workflow/schemas/preset.schema.yaml at {where}: "
                         f"{err.message}") from None


def measure_cli_args(preset: dict[str, Any], timing_only: bool = False) -> str:
    """`repbench measure` flags from the preset's measure section (timing_only: the throughput flags)."""
    m = preset.get("measure", {})
    args = [f"--device {preset['device']}"]
    if m.get("throughput", True):
        args.append("--throughput")
        for key, flag in (("batch", "--batch"), ("lr_size", "--lr-size"), ("repeats", "--repeats"), ("warmup", "--warmup"),
                          ("processes", "--processes")):
            if key in m:
                args.append(f"{flag} {m[key]}")
    if m.get("train_speed", False) and not timing_only:
        args.append("--train-speed")
        for key, flag in (("train_batch", "--train-batch"), ("train_patch", "--train-patch"), ("train_iters", "--train-iters")):
            if key in m:
                args.append(f"{flag} {m[key]}")
        args.append(f"--train-threads {preset.get('threads', 1)}")  # as the training jobs run
    return " ".join(args)
