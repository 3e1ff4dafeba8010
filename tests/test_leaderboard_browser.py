"""The leaderboard page in a real headless Chromium: rows, sorting, filtering, and no network.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); Playwright only drives
it (no browser download). Skips with the reason when either is missing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from repbench import report
from repbench.report import references

try:
    from test_report import BN_RUNS, PRESET, RUNS, write_runs
except ImportError:  # tests collected as a package
    from tests.test_report import BN_RUNS, PRESET, RUNS, write_runs

CHROMIUM = Path(os.environ.get("REPBENCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's with `apt-get install -y chromium` (or set REPBENCH_CHROMIUM)",
)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("leaderboard")
    runs = write_runs(base / "runs" / PRESET)  # its EDSR BN runs come with bn-diagnose results in bn/
    report.build_report(runs, base / "results", preset=PRESET, only=["leaderboard"])
    return (base / "results" / "leaderboard.html").as_uri()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any, page_url: str) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    requests: list[str] = []
    pg.on("request", lambda req: requests.append(req.url))
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    pg.goto(page_url)
    pg.wait_for_load_state("load")
    yield pg, requests
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _visible_values(pg: Any, key: str) -> list[str]:
    return pg.eval_on_selector_all(
        f'#leaderboard tbody tr:not([hidden]) td[data-key="{key}"]', "cells => cells.map(c => c.dataset.value)")


def test_rows_sort_filter_offline(page: tuple[Any, list[str]], tmp_path: Path) -> None:
    pg, requests = page
    n_paper = len(references.load_reference("repsr2022", "table2").rows)
    rows = pg.locator("table#leaderboard tbody tr")
    # every run, the two floors (bicubic and nearest-neighbour), every paper row
    assert rows.count() == len(RUNS) + 2 + n_paper
    assert pg.locator('tr[data-kind="paper"]').count() == n_paper
    assert pg.locator('tr[data-method="repsr"][data-kind="run"]').count() == 2
    assert pg.locator("#preset").inner_text() == PRESET
    assert pg.locator('tr.pareto .badge.pareto').count() >= 1
    assert pg.locator('tr[data-kind="paper"] .badge.paper').count() == n_paper

    # A numeric column: ascending on the first click, descending on the second; blanks stay last.
    header = pg.locator('th[data-key="psnr_set5"]')
    header.click()
    values = _visible_values(pg, "psnr_set5")
    numbers = [float(v) for v in values if v]
    assert numbers == sorted(numbers) and len(numbers) >= len(RUNS) + 1
    assert values[: len(numbers)] == [v for v in values if v]  # empty cells after all numbers
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    numbers_desc = [float(v) for v in _visible_values(pg, "psnr_set5") if v]
    assert numbers_desc == sorted(numbers, reverse=True)
    assert pg.locator("table#leaderboard tbody tr").first.locator('td[data-key="psnr_set5"]').get_attribute("data-value") == str(max(numbers))
    pg.locator('th[data-key="params_deployed"]').click()
    params = [float(v) for v in _visible_values(pg, "params_deployed") if v]
    assert params == sorted(params) and 11_840 in params

    # Text filter: only matching rows stay visible; the counter follows.
    pg.fill("input#filter", "repsr m4c16")
    visible = pg.locator("table#leaderboard tbody tr:not([hidden])")
    texts = [t.lower() for t in visible.all_inner_texts()]
    assert texts and all("repsr" in t and "m4c16" in t for t in texts)
    assert visible.count() == 2  # our RepSR-M4C16 and the paper's row B3
    assert pg.locator("#row-count").inner_text().startswith("2 of ")
    pg.uncheck("#show-paper")  # reference rows can be hidden
    assert visible.count() == 1 and visible.first.get_attribute("data-kind") == "run"
    pg.check("#show-paper")
    pg.fill("input#filter", "")
    pg.select_option("#method-filter", "ecbsr")
    methods = pg.eval_on_selector_all("#leaderboard tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.method)")
    assert methods and set(methods) == {"ecbsr"}
    pg.select_option("#method-filter", "")
    assert pg.locator("table#leaderboard tbody tr:not([hidden])").count() == rows.count()

    # Per-run detail: the link opens its <details> with the config and inline curves.
    link = pg.locator('tr[data-run="repsr-M4C16-x4"] a.detail-link')
    link.click()
    detail = pg.locator("details#run-repsr-M4C16-x4")
    assert detail.evaluate("d => d.open") is True
    assert detail.locator("svg.curve polyline").count() == 2

    shot = tmp_path / "leaderboard.png"
    pg.evaluate("window.scrollTo(0, 0)")
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    out = os.environ.get("REPBENCH_SCREENSHOT")
    if out:  # keep a copy to look at
        Path(out).write_bytes(shot.read_bytes())

    assert requests, "the page load itself should be recorded"
    offline = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not offline, f"the page requested non-local URLs: {offline}"


def test_bn_artifact_section(page: tuple[Any, list[str]]) -> None:
    pg, requests = page
    section = pg.locator("section#bn-artifacts")
    assert section.is_visible()
    rows = section.locator("table#artifacts tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.artifactRun)")) == sorted(BN_RUNS)
    never = section.locator('tr[data-artifact-run="edsr-R1C4-x2-rgb-bn"]')
    assert "with BN (never frozen)" in never.inner_text() and "-0.421" in never.inner_text()
    assert section.locator("tr.has-artifacts").count() == 1  # only the never-frozen run has BN artifacts
    assert "frozen BN" in section.locator('tr[data-artifact-run="edsr-R1C4-x2-rgb-frozenbn"]').inner_text()

    # Figure 5 is drawn inline, at a readable size.
    plot = section.locator("figure#fig5 svg")
    assert plot.count() == 1
    box = plot.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100

    # The section leaves the leaderboard alone: its rows are not counted, sorted or filtered.
    assert pg.locator("#row-count").inner_text().startswith(f"{pg.locator('table#leaderboard tbody tr').count()} of ")
    pg.fill("input#filter", "no such model")
    assert rows.count() == len(BN_RUNS) and all(not r.get_attribute("hidden") for r in rows.all())
    pg.fill("input#filter", "")

    # A run's link opens its detail panel.
    never.locator("a.detail-link").click()
    assert pg.locator("details#run-edsr-R1C4-x2-rgb-bn").evaluate("d => d.open") is True

    offline = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not offline, f"the page requested non-local URLs: {offline}"
