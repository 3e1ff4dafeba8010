"""`repbench import`: a released checkpoint -> a repbench model file or a run folder every command takes.

A registered model (data/published.yaml) brings its own facts: network, size, scale, colors, form,
and its authors' figures. A loose file names its network on the command line, or is matched against
every registered architecture. What is written:

    --out FILE.pt     a model file (methods.save), like `repbench train` / `merge` write
    --run-dir RUN     final.pt (the network as released), deployed.pt (merged), and train.json with
                      status "complete", the source, its sha256 and the published figures, so eval,
                      count/measure, merge and the report treat it like a finished run of its own

train.json is written last: a folder without it is an unfinished import, done again by the next call.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from torch import nn

import methods
from methods import registry as method_registry
from repbench import atomic, provenance
from repbench.inference.deploy import deployable
from repbench.errors import RepbenchError
from repbench.published.convert import MERGE_TOLERANCE, Architecture, load_into, merge_error, read_state_dict
from repbench.published.files import fetch, sha256_of
from repbench.published.registry import PublishedModel, get


def import_registered(name: str, offline: bool = False, progress: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """The registered model `name` as a zoo network, and the facts its train.json records."""
    entry = get(name)
    options = dict(entry.options)
    # The pixel range the released convs were trained on: a method that can take it scales [0, 1] inside.
    if "img_range" in method_registry.options_of(entry.method):
        options["img_range"] = entry.input_range
    elif entry.input_range != 1.0:
        raise RepbenchError(f"published model {name!r} takes inputs in [0, {entry.input_range:g}], but method "
                            f"{entry.method!r} has no img_range option to scale the [0, 1] images it is given")
    path = fetch(entry, offline=offline, progress=progress)
    arch = Architecture(entry.method, entry.size, entry.scale, entry.colors, entry.form, tuple(sorted(options.items())))
    model = load_into(read_state_dict(path), arch, f"{path} (published model {name!r})")
    return model, _facts(model, path, entry)


def import_file(path: str | os.PathLike, arch: Architecture | None) -> tuple[nn.Module, dict[str, Any]]:
    """A loose released file, into `arch`, or into the one registered architecture it fits."""
    from repbench.published.convert import fitting

    path, state = _read_file(path)
    if arch is None:
        fits = fitting(state)
        if len(fits) != 1:
            found = f"it fits {', '.join(map(str, fits))}" if fits else "it fits no registered architecture" + _external_hint(state)
            raise RepbenchError(f"{path}: {found}; name the network with --method, --size, --scale and --colors "
                                "(and --form deployed for a re-parameterized file)")
        arch = fits[0]
    model = load_into(state, arch, str(path))
    return model, _facts(model, path, None)


def import_external(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """A file of an architecture outside the zoo, rebuilt by spandrel: measured and evaluated, never merged."""
    from methods.external import detect

    path, state = _read_file(path)
    try:
        model, _ = detect(state)
    except ValueError as err:
        raise RepbenchError(f"{path}: {err}") from err
    return model, _facts(model, path, None)


def _read_file(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise RepbenchError(f"--file {path} does not exist")
    return path, read_state_dict(path)


def _external_hint(state: dict[str, Any]) -> str:
    """What spandrel makes of a file the zoo does not fit, when spandrel is installed."""
    from methods.external import detect

    try:
        model, args = detect(state)
    except ValueError:
        return ""
    return f" (spandrel recognises a {args['external']['architecture']} x{args['scale']}: add --external to import it)"


def _facts(model: nn.Module, path: Path, entry: PublishedModel | None) -> dict[str, Any]:
    error = merge_error(model)
    if error is not None and error > MERGE_TOLERANCE:
        raise RepbenchError(f"{path}: the merged network differs from the released one by {error:.3g} "
                            f"(> {MERGE_TOLERANCE:g}, float64); this method's merge is wrong for these weights")
    args = model.build_args
    facts: dict[str, Any] = {
        "method": args["method"], "size": args["size"], "scale": args["scale"], "colors": args["colors"],
        "options": dict(args.get("options", {})),
        # a registered file was verified against its sha256 on the way in: no second pass over it
        "source": {"file": str(path), "sha256": entry.sha256 if entry is not None else sha256_of(path)},
        "released_form": "deployed" if args.get("merged") else "training",
        "merge_max_abs_err_float64": error,
    }
    if entry is not None:
        facts["published"] = {
            "name": entry.name, "label": entry.label, "url": entry.url, "licence": entry.licence,
            "citation": entry.citation, "training": entry.training, "figures": entry.published,
        }
        facts["source"]["url"] = entry.url
    return facts


def write_run(run_dir: str | os.PathLike, model: nn.Module, facts: dict[str, Any],
              log: Callable[[str], None] = print) -> Path:
    """final.pt, deployed.pt, then train.json (the mark of a finished import) into `run_dir`."""
    run_dir = Path(run_dir)
    methods.save(model, run_dir / "final.pt")
    deployed = deployable(model)
    methods.save(deployed, run_dir / "deployed.pt")
    published = facts.get("published") or {}
    record = {
        **facts, "status": "complete", "imported": True,
        "iterations": (published.get("training") or {}).get("iterations"),
        "params_train": methods.count_params(model), "params_deployed": methods.count_params(deployed),
        "mergeable": bool(deployed.build_args.get("merged")),
        **provenance.run_provenance(),
    }
    atomic.write_json(run_dir / "train.json", record, strict=True)
    log(f"wrote {run_dir}/final.pt, deployed.pt and train.json")
    return run_dir
