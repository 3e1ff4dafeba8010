"""Which paper tables a run belongs to: named in its train.json, else by the preset's experiments
(the pipeline's `experiments.json` in the runs folder), else from what the run is."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable


from methods import registry
from repbench.errors import RepbenchError
from repbench.report.values import default_options, REFERENCE_METHODS, is_blank, as_float, relevant_options

from repbench.pipeline.targets import EXPERIMENTS, PAPER_TABLES  # EXPERIMENTS: the NTIRE tables, later and the sweeps too


TABLES: tuple[str, ...] = PAPER_TABLES


def large_methods() -> tuple[str, ...]:
    """The methods of the paper's Table 4 (its large RGB networks), as the registry marks them."""
    return tuple(m for m in registry.methods() if registry.info(m).large)


def option_value(row: dict[str, Any], name: str) -> Any:
    options = row.get("options_dict") or {}
    return options.get(name, default_options(row.get("method", "")).get(name))


def bn_strategy(row: dict[str, Any]) -> str:
    """Table 1's three rows: 'no_bn', 'bn' or 'frozen_bn' (BN switched to population stats late in training)."""
    if not option_value(row, "bn"):
        return "no_bn"
    options = row.get("options_dict") or {}
    frozen = (
        not is_blank(row.get("bn_frozen_at"))
        or (as_float(options.get("frozen_bn_fraction")) or 0) > 0
        or (as_float(row.get("frozen_bn_fraction")) or 0) > 0
        or "frozen" in str(row.get("tag") or "")
    )
    return "frozen_bn" if frozen else "bn"


def _default_except(row: dict[str, Any], *keep: str) -> bool:
    return all(k in keep for k in relevant_options(row["method"], row.get("options_dict")))


_MEMBERSHIP: dict[str, Callable[[dict[str, Any]], bool]] = {
    "table1": lambda r: r["method"] == "edsr" and r["scale"] == 2,
    "table2": lambda r: r["scale"] == 4 and r["colors"] == 1,
    "table3": lambda r: r["method"] in ("ecbsr", "repsr") and r["scale"] == 4 and r["colors"] == 1,
    "table4": lambda r: r["method"] in large_methods() and r["scale"] == 4 and r["colors"] == 3 and _default_except(r),
    "table5": lambda r: r["method"] == "repsr" and r["scale"] == 4 and r["colors"] == 3 and _default_except(r, "variant"),
    "table6": lambda r: r["method"] == "repsr" and r["scale"] == 4 and r["colors"] == 3 and _default_except(r, "expand"),
    "table7": lambda r: r["method"] == "repsr" and r["scale"] == 4 and r["colors"] == 3 and _default_except(r, "branches"),
}


def declared_experiments(train: dict[str, Any]) -> list[str] | None:
    declared = train.get("experiments", train.get("experiment"))
    if declared is None or declared == "":
        return None
    return [str(declared)] if isinstance(declared, str) else [str(d) for d in declared]


def tables_of(row: dict[str, Any]) -> list[str]:
    """The paper tables a run fills: as its train.json declares, else as inferred from the run itself."""
    if row["method"] in REFERENCE_METHODS:
        return []
    declared = row.get("declared_experiments")
    if declared:
        return [t for t in TABLES if t in declared]
    return [t for t in TABLES if _MEMBERSHIP[t](row)]


def in_experiment(row: dict[str, Any], name: str, infer: Callable[[dict[str, Any]], bool]) -> bool:
    """Whether a run belongs to experiment `name` (one beyond the paper's tables: `later`, a sweep): as its
    train.json or the preset's plan declares, else as `infer` tells from what the run is (like tables_of)."""
    if row.get("method") in REFERENCE_METHODS:
        return False
    declared = row.get("declared_experiments")
    if isinstance(declared, (list, tuple)) and declared:
        return name in declared
    return bool(infer(row))


def planned_tables(data: dict[str, Any], path: Path) -> dict[str, tuple[str, ...]]:
    """run id -> the tables its preset names it in, from the pipeline's plan file (`data`, read from `path`)."""
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
