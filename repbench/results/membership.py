"""Which experiments (paper tables, the NTIRE tables, `published`, `later`, the sweeps) a run belongs to.

One source: the preset's plan, `experiments.json` in the runs folder, which the pipeline writes from
the preset (repbench.pipeline.config.write_plan): table -> run ids. A folder the plan does not name (a
hand-trained run, a folder without a plan, a checkpoint imported by hand) is placed by one named
fallback, `inferred_experiments`, from what the run is. Nothing else decides membership: train.json
never names its tables.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from methods import registry
from repbench.errors import RepbenchError
from repbench.pipeline.targets import EXPERIMENTS, LATER_TABLE, NTIRE_TABLES, PAPER_TABLES, PUBLISHED_TABLE, SWEEPS
from repbench.results.values import REFERENCE_METHODS, as_float, as_int, default_options, names_a_release, relevant_options

if TYPE_CHECKING:
    from repbench.results.record import Run

TABLES: tuple[str, ...] = PAPER_TABLES
LATER_METHODS: tuple[str, ...] = ("dbb", "orepa", "conv3xc")
LATER_BASELINES: tuple[str, ...] = ("plain", "ecbsr", "repsr")  # Table 2's runs, shown beside them
NTIRE_METHODS: tuple[str, ...] = ("imdn", "imdn-clb")
BUDGET_TAG = "i"  # a sweep run's tag names its budget: i100, i200, ...


def large_methods() -> tuple[str, ...]:
    """The methods of the paper's Table 4 (its large RGB networks), as the registry marks them."""
    return tuple(m for m in registry.methods() if registry.info(m).large)


def option_value(run: Run, name: str) -> Any:
    return run.options.get(name, default_options(run.method).get(name))


def bn_strategy(run: Run) -> str:
    """Table 1's three rows: 'no_bn', 'bn' or 'frozen_bn' (BN switched to population stats late in training)."""
    if not option_value(run, "bn"):
        return "no_bn"
    frozen = (
        as_int(run.train.get("bn_frozen_at")) is not None
        or (as_float(run.options.get("frozen_bn_fraction")) or 0) > 0
        or (as_float(run.train.get("frozen_bn_fraction")) or 0) > 0
        or "frozen" in str(run.tag or "")
    )
    return "frozen_bn" if frozen else "bn"


def is_budget_tag(tag: Any) -> bool:
    """`i100`, `i6400`: a sweep run's tag."""
    return isinstance(tag, str) and tag.startswith(BUDGET_TAG) and tag[len(BUDGET_TAG):].isdigit()


def _default_except(run: Run, *keep: str) -> bool:
    return all(k in keep for k in relevant_options(run.method, run.options))


def _rgb_repsr(run: Run) -> bool:
    return run.method == "repsr" and run.scale == 4 and run.colors == 3


# What each experiment holds, told from the run itself: the fallback for folders no plan names.
_INFERRED: dict[str, Callable[[Run], bool]] = {
    "table1": lambda r: r.method == "edsr" and r.scale == 2,
    "table2": lambda r: r.scale == 4 and r.colors == 1,
    "table3": lambda r: r.method in ("ecbsr", "repsr") and r.scale == 4 and r.colors == 1,
    "table4": lambda r: r.method in large_methods() and r.scale == 4 and r.colors == 3 and _default_except(r),
    "table5": lambda r: _rgb_repsr(r) and _default_except(r, "variant"),
    "table6": lambda r: _rgb_repsr(r) and _default_except(r, "expand"),
    "table7": lambda r: _rgb_repsr(r) and _default_except(r, "branches"),
    # IMDN and IMDN-CLB at x4 RGB as built by default: each NTIRE table picks its rows by their role
    **{t: (lambda r: r.method in NTIRE_METHODS and r.scale == 4 and r.colors == 3
           and not relevant_options(r.method, r.options)) for t in NTIRE_TABLES},
    # one of the six methods at a Table 2 size, x4 Y, default options, untagged
    LATER_TABLE: lambda r: (r.method in LATER_METHODS + LATER_BASELINES and str(r.size) in registry.TABLE2_SIZES
                            and r.scale == 4 and r.colors == 1 and not relevant_options(r.method, r.options)
                            and not r.tag),
    **{s: (lambda r: is_budget_tag(r.tag)) for s in SWEEPS},
}


def inferred_experiments(run: Run) -> tuple[str, ...]:
    """The fallback for a folder the plan does not name: the experiments it belongs to by what it is.
    A floor fills none; a checkpoint imported by hand fills `published` when it names a release, else
    none (it was not trained here, so no table of ours shows it)."""
    if run.method in REFERENCE_METHODS:
        return ()
    if run.train.get("imported"):
        return (PUBLISHED_TABLE,) if names_a_release(run.published_as) else ()
    return tuple(name for name, belongs in _INFERRED.items() if belongs(run))


def assign(run: Run, plan: dict[str, tuple[str, ...]] | None) -> None:
    """Set `run.experiments` and `run.planned`: the plan's, else the inferred ones."""
    named = plan.get(run.name) if plan is not None else None
    run.planned = named is not None
    run.experiments = named if named is not None else inferred_experiments(run)


def tables_of(run: Run) -> list[str]:
    """The paper tables (1-7) a run fills, in table order."""
    return [t for t in TABLES if t in run.experiments]


def planned_tables(data: dict[str, Any], path: Path) -> dict[str, tuple[str, ...]]:
    """run id -> the experiments its preset names it in, from the pipeline's plan file (`data`, read from `path`)."""
    fix = ("delete it (the pipeline writes it again on its next run; until then each run's table is "
           "inferred from what the run is)")
    experiments = data.get("experiments")
    if not isinstance(experiments, dict) or not all(
            isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in experiments.values()):
        raise RepbenchError(f"{path} must hold {{\"experiments\": {{table: [run ids]}}}}: {fix}")
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise RepbenchError(f"{path} names unknown tables {', '.join(unknown)} (valid: {', '.join(EXPERIMENTS)}): {fix}")
    out: dict[str, tuple[str, ...]] = {}
    for table in EXPERIMENTS:  # in table order, whatever the file's order
        for rid in experiments.get(table, []):
            out[rid] = out.get(rid, ()) + (table,)
    return out
