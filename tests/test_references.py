"""The papers' published numbers (repbench/references/*.yaml): structure, the values of docs/conventions.md, the paper text."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import methods

REFERENCES = Path(__file__).resolve().parents[1] / "repbench" / "references"
PAPERS = Path(__file__).resolve().parents[2] / "shared" / "papers"
FILES = ("repsr2022", "ntire2022")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((REFERENCES / f"{name}.yaml").read_text(encoding="utf-8"))


def rows(name: str, table: str) -> list[dict[str, Any]]:
    return load(name)["tables"][table]["rows"]


def row(name: str, table: str, **match: Any) -> dict[str, Any]:
    found = [r for r in rows(name, table) if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{name} {table}: {len(found)} rows match {match}"
    return found[0]


@pytest.mark.parametrize("name", FILES)
def test_every_table_is_regular(name: str) -> None:
    data = load(name)
    assert data["paper"]["title"]
    for key, table in data["tables"].items():
        assert table["caption"], key
        assert all("key" in c and "unit" in c for c in table["columns"]), key
        assert table["rows"], key
        for r in table["rows"]:
            assert r.get("label"), (key, r)
            assert "size" in r, (key, r)


@pytest.mark.parametrize("name", FILES)
def test_methods_sizes_and_options_are_ours_or_marked_external(name: str) -> None:
    for key, table in load(name)["tables"].items():
        for r in table["rows"]:
            where = (name, key, r["label"])
            if r.get("external"):
                # An external name must not shadow a registered method (that would be a wrong mapping).
                assert r["method"] not in methods.METHODS, where
                continue
            assert r["method"] in methods.METHODS or r["method"] == "bicubic", where
            if r["method"] == "bicubic":
                continue
            if r["size"] is not None:
                methods.parse_size(r["method"], r["size"])  # raises on a malformed size
            assert set(r.get("options", {})) <= set(methods.options_of(r["method"])), where


def test_bicubic_row_matches_spec() -> None:
    a0 = row("repsr2022", "table2", id="A0")
    assert a0["method"] == "bicubic"
    assert a0["psnr"] == {"set5": 28.43, "set14": 26.00, "b100": 25.96, "urban100": 23.14, "div2k_val": 28.10}
    assert a0["ssim"] == {"set5": 0.8113, "set14": 0.7025, "b100": 0.6682, "urban100": 0.6577, "div2k_val": 0.7745}


# docs/conventions.md section 3: the paper's convention for the Mx-Cy rows (K params / G FLOPs), same for ECBSR and RepSR.
CONVENTIONS_TABLE2_COST = {"M4C8": (3.7, 0.21), "M4C16": (11.9, 0.69), "M10C16": (26.0, 1.50), "M10C32": (98.1, 5.65), "M16C64": (602.9, 34.73)}


@pytest.mark.parametrize("size", sorted(CONVENTIONS_TABLE2_COST))
@pytest.mark.parametrize("method", ["ecbsr", "repsr"])
def test_mxcy_rows_match_spec_costs(method: str, size: str) -> None:
    r = row("repsr2022", "table2", method=method, size=size)
    assert (r["params_k"], r["flops_g"]) == CONVENTIONS_TABLE2_COST[size]
    # FLOPs = params x 57,600 LR pixels (x4 to 1280x720), to the printed rounding.
    assert r["params_k"] * 57_600 / 1e6 == pytest.approx(r["flops_g"], abs=0.006)


def test_repsr_m4c16_row() -> None:
    r = row("repsr2022", "table2", id="B3")
    assert (r["method"], r["size"], r["n_conv"]) == ("repsr", "M4C16", 6)
    assert r["psnr"]["set5"] == 31.02 and r["ssim"]["set5"] == 0.8817
    assert r["psnr"]["urban100"] == 24.82 and r["psnr"]["div2k_val"] == 29.66


def test_sesr_and_edsr_counts_match_spec() -> None:
    # SESR: conv weights only, truncated to 0.01K (docs/conventions.md section 2).
    for size, exact in {"M5C16": 18_320, "M11C16": 32_144, "M11C32": 114_976}.items():
        assert row("repsr2022", "table2", method="sesr", size=size)["params_k"] == int(exact / 10) / 100
    d1 = row("repsr2022", "table2", method="edsr", size="R5C32")
    assert (d1["params_k"], d1["flops_g"]) == (241.8, 14.15)


def test_training_time_reductions_are_consistent() -> None:
    table = rows("repsr2022", "table3")
    ecbsr = {r["size"]: r["train_minutes"] for r in table if r["method"] == "ecbsr"}
    for r in (r for r in table if r["method"] == "repsr"):
        h, m = map(int, re.fullmatch(r"(\d+)h(\d+)m", r["train_time"]).groups())
        assert r["train_minutes"] == 60 * h + m
        assert round(100 * (1 - r["train_minutes"] / ecbsr[r["size"]])) == r["reduction_pct"]


def test_table1_deltas_agree_with_the_psnr_values() -> None:
    base = row("repsr2022", "table1", label="w/o BN")["psnr"]
    for label in ("w/ BN", "Proposed"):
        r = row("repsr2022", "table1", label=label)
        for ds, delta in r["delta_vs_no_bn"].items():
            assert r["psnr"][ds] - base[ds] == pytest.approx(delta, abs=0.011), (label, ds)


def test_ablation_defaults_agree_across_tables_5_to_7() -> None:
    default = row("repsr2022", "table5", variant_no=1)["psnr"]
    assert row("repsr2022", "table6", label="width multiplier 2")["psnr"] == default
    assert row("repsr2022", "table7", label="# branch 2")["psnr"] == default


def test_imdn_table3_matches_our_parameter_counts() -> None:
    assert row("ntire2022", "table3", size="B8")["params_m"] == 0.8939
    for r in rows("ntire2022", "table3"):
        n = methods.count_params(methods.build(r["method"], r["size"], scale=4, colors=3))
        assert round(n / 1e6, 4) == r["params_m"], r["size"]


def test_imdn_table2_pipeline() -> None:
    labels = [(r["method"], r["size"], r["val_psnr_db"]) for r in rows("ntire2022", "table2")]
    assert labels == [("imdn", "B8", 29.13), ("imdn", "B7", 28.97), ("imdn-clb", "B7", 29.00), ("imdn-clb", "B7", 29.05)]
    assert load("ntire2022")["tables"]["table2"]["target"]["params_m"] == {"op": "<=", "value": 0.8939}


# --- against the paper text itself (skipped where the papers are not checked out beside the repo) ---

def _numbers(text: str) -> list[float | None]:
    """The numbers of a table line, '-' (a printed empty cell) as None."""
    return [None if tok == "-" else float(tok) for tok in re.findall(r"-(?![\d.])|-?\d+(?:\.\d+)?", text)]


def _line_after(paper: str, prefix: str, start: str = "") -> str:
    """The rest of the one line that starts with `prefix` (searching after the text `start`)."""
    lines = [ln for ln in paper[paper.index(start):].splitlines() if ln.startswith(prefix)]
    assert len(lines) == 1, f"{len(lines)} lines start with {prefix!r}"
    return lines[0][len(prefix):]


def _paper(name: str) -> str:
    path = PAPERS / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path.read_text(encoding="utf-8").replace("\u00a0", " ")  # the text keeps no-break spaces


DATASETS = ("set5", "set14", "b100", "urban100", "div2k_val")


def test_repsr_table2_and_table4_agree_with_the_paper_text() -> None:
    paper = _paper("repsr-paper.txt")
    for r in rows("repsr2022", "table2"):
        printed = _numbers(_line_after(paper, f"{r['id']} {r['label']} "))
        costs = [r["params_k"], r["flops_g"], r["n_conv"]] if r["params_k"] is not None else []
        quality = [v for ds in DATASETS for v in (r["psnr"][ds], r["ssim"][ds])]
        assert printed == costs + quality, r["id"]
    for r in rows("repsr2022", "table4"):
        # Table 3's lines start with the same method labels: look below its caption only.
        printed = _numbers(_line_after(paper, f"{r['label']} ", start="Table 3. "))
        assert printed == [r["psnr"][ds] for ds in DATASETS], r["label"]


def test_ntire_tables_agree_with_the_paper_text() -> None:
    paper = _paper("imdn-collapsible-linear-blocks-ntire2022.txt")
    keys = ("val_psnr_db", "test_psnr_db", "avg_psnr_db", "val_time_ms", "test_time_ms")
    for r in rows("ntire2022", "table1"):
        assert _numbers(_line_after(paper, f"{r['label']}\t")) == [r[k] for k in keys], r["label"]
    for r in rows("ntire2022", "table2"):
        printed = _numbers(_line_after(paper, f"{r['label']}\t"))
        assert printed == [r["val_psnr_db"], r["params_m"], r["val_time_ms"]], r["label"]
    for r in rows("ntire2022", "table4"):
        printed = _numbers(_line_after(paper, f"{r['label']}\t"))
        assert printed == [r[k] for k in ("val_psnr_db", "params_m", "flops_g", "n_conv", "val_time_ms")], r["label"]
    for r in rows("ntire2022", "table3"):
        assert f"IMDN\t{r['blocks']}\t{r['params_m']:.4f}\t{r['val_psnr_db']:.2f}" in paper
