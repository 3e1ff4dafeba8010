"""The leaderboard page in a real headless Chromium: rows, sorting, filtering, the comparison groups,
hidden empty columns, the sticky Model column, the CSV link, run dates and commits, and no network.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); Playwright only drives
it (no browser download). Skips with the reason when either is missing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from repbench import report
from repbench.report import references

try:
    from test_report import BN_RUNS, COMMIT, PRESET, PROVENANCE, RUNS, write_runs
except ImportError:  # tests collected as a package
    from tests.test_report import BN_RUNS, COMMIT, PRESET, PROVENANCE, RUNS, write_runs

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


def _open(browser: Any, page_url: str, width: int) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(viewport={"width": width, "height": 1000})
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


@pytest.fixture()
def page(browser: Any, page_url: str) -> Iterator[tuple[Any, list[str]]]:
    yield from _open(browser, page_url, 1600)


@pytest.fixture()
def page_1500(browser: Any, page_url: str) -> Iterator[tuple[Any, list[str]]]:
    """The width the complaint was made at: the timing columns used to sit off-screen there."""
    yield from _open(browser, page_url, 1500)


@pytest.fixture()
def narrow_page(browser: Any, page_url: str) -> Iterator[tuple[Any, list[str]]]:
    """Narrow enough that the table must scroll sideways."""
    yield from _open(browser, page_url, 900)


def _visible_values(pg: Any, key: str) -> list[str]:
    return pg.eval_on_selector_all(
        f'#leaderboard tbody tr:not([hidden]) td[data-key="{key}"]', "cells => cells.map(c => c.dataset.value)")


def _shown_rows(pg: Any, attribute: str) -> list[str]:
    """An attribute (data-run, data-scale, ...) of every shown row, in table order."""
    return pg.eval_on_selector_all("#leaderboard tbody tr:not([hidden])", f"rs => rs.map(r => r.getAttribute('{attribute}'))")


def _shown_columns(pg: Any) -> list[str]:
    return pg.eval_on_selector_all("#leaderboard thead th:not([hidden])", "hs => hs.map(h => h.dataset.key)")


def _cell(pg: Any, run: str, key: str) -> Any:
    return pg.locator(f'#leaderboard tr[data-run="{run}"] td[data-key="{key}"]')


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
    first_shown = pg.locator("table#leaderboard tbody tr:not([hidden])").first
    assert first_shown.locator('td[data-key="psnr_set5"]').get_attribute("data-value") == str(max(numbers))
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
    pg.select_option("#group-filter", "")  # all groups: every row
    assert pg.locator("table#leaderboard tbody tr:not([hidden])").count() == rows.count()
    pg.select_option("#group-filter", "x4-y")

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
    shown, total = (pg.locator(f"table#leaderboard tbody tr{only}").count() for only in (":not([hidden])", ""))
    assert pg.locator("#row-count").inner_text() == f"{shown} of {total} rows"
    pg.fill("input#filter", "no such model")
    assert rows.count() == len(BN_RUNS) and all(not r.get_attribute("hidden") for r in rows.all())
    pg.fill("input#filter", "")

    # A run's link opens its detail panel.
    never.locator("a.detail-link").click()
    assert pg.locator("details#run-edsr-R1C4-x2-rgb-bn").evaluate("d => d.open") is True

    offline = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not offline, f"the page requested non-local URLs: {offline}"


# Our runs by comparison group; the floors (bicubic-x4, nearest-x4) join every x4 group.
X4_Y = {"repsr-M4C16-x4", "ecbsr-M4C16-x4", "plain-M4C8-x4"}
X4_RGB = {"repsr-M1C4-x4-rgb-expand1"}
X2_RGB = set(BN_RUNS)
FLOORS = {"bicubic-x4", "nearest-x4"}


def test_opens_on_the_largest_group_and_sorts_within_it(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    # every (scale, channels) group is listed, then "all"; x4 Y (Table 2's group, here also the largest) is shown
    # (test_leaderboard_url_browser.py: still x4 Y when another group holds more runs)
    options = pg.eval_on_selector_all("#group-filter option", "os => os.map(o => o.value)")
    assert options == ["x2-rgb", "x4-y", "x4-rgb", ""]
    assert pg.eval_on_selector("#group-filter", "s => s.value") == "x4-y"
    assert set(r for r in _shown_rows(pg, "data-run") if r) == X4_Y | FLOORS
    assert set(_shown_rows(pg, "data-scale")) == {"4"}
    assert set(_shown_rows(pg, "data-colors")) == {"Y", ""}  # "" for the floors, which have no channel count
    n_paper = len(references.load_reference("repsr2022", "table2").rows)
    assert pg.locator("#row-count").inner_text() == f"{len(X4_Y) + len(FLOORS) + n_paper} of {len(RUNS) + 2 + n_paper} rows"
    assert pg.locator("#convention").inner_text().startswith("x4, Y models")

    # Sorting by Set5 PSNR-Y, best first: the x2 EDSR runs (36.5 dB) stay out of the x4 comparison.
    header = pg.locator('th[data-key="psnr_set5"]')
    header.click()
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    values = [float(v) for v in _visible_values(pg, "psnr_set5") if v]
    x2_set5 = {RUNS[name]["scores"]["Set5"][0] for name in X2_RGB}
    assert values == sorted(values, reverse=True) and not x2_set5 & set(values)
    assert _shown_rows(pg, "data-scale")[0] == "4"
    # With every group shown the same sort puts x2 on top: what the default view prevents.
    pg.select_option("#group-filter", "")
    assert _shown_rows(pg, "data-run")[0] in X2_RGB
    assert "compares only within one scale and channel group" in pg.locator("#convention").inner_text()


def test_channel_groups_filter_rows_and_label_psnr(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    # Every PSNR/SSIM header names its channel.
    labels = pg.eval_on_selector_all("#leaderboard thead th[data-key^='psnr'], #leaderboard thead th[data-key^='ssim']",
                                     "hs => hs.map(h => h.dataset.label)")
    assert labels and all(label.endswith(("PSNR-Y", "SSIM-Y", "PSNR-RGB")) for label in labels)

    pg.select_option("#group-filter", "x4-rgb")
    assert set(r for r in _shown_rows(pg, "data-run") if r) == X4_RGB | FLOORS
    assert set(_shown_rows(pg, "data-colors")) == {"RGB", ""}
    assert set(_shown_rows(pg, "data-kind")) == {"run"}  # the paper's rows are Y models
    # An RGB group shows PSNR-RGB beside PSNR-Y and says why they differ.
    assert {"psnr_set5", "psnr_rgb_set5"} <= set(_shown_columns(pg))
    assert _cell(pg, "repsr-M1C4-x4-rgb-expand1", "psnr_rgb_set5").inner_text() == "28.70"
    assert _cell(pg, "repsr-M1C4-x4-rgb-expand1", "psnr_set5").inner_text() == "29.10"
    convention = pg.locator("#convention").inner_text()
    assert convention.startswith("x4, RGB models") and "PSNR-RGB" in convention and "NTIRE" in convention

    pg.select_option("#group-filter", "x2-rgb")
    assert set(_shown_rows(pg, "data-run")) == X2_RGB and set(_shown_rows(pg, "data-colors")) == {"RGB"}
    assert pg.locator("#convention").inner_text().startswith("x2, RGB models")

    pg.select_option("#group-filter", "x4-y")  # back to Y: no PSNR-RGB, and the reason is on the page
    assert not any(key.startswith("psnr_rgb_") for key in _shown_columns(pg))
    assert "No PSNR-RGB" in pg.locator("#convention").inner_text()
    assert "Hidden in Y groups: Set5 PSNR-RGB" in pg.locator("#hidden-columns").inner_text()


def test_model_column_stays_visible_when_scrolling(narrow_page: tuple[Any, list[str]]) -> None:
    pg, _ = narrow_page
    for selector in ('#leaderboard th[data-key="method"]', '#leaderboard tr[data-run="repsr-M4C16-x4"] td[data-key="method"]'):
        style = pg.eval_on_selector(selector, "el => [getComputedStyle(el).position, getComputedStyle(el).left]")
        assert style == ["sticky", "0px"], selector
    wrap = pg.locator("#leaderboard-wrap")
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth + 400")  # the table is much wider than the screen
    model, size = _cell(pg, "repsr-M4C16-x4", "method"), _cell(pg, "repsr-M4C16-x4", "size")
    model_x, size_x = model.bounding_box()["x"], size.bounding_box()["x"]
    wrap.evaluate("w => { w.scrollLeft = 400; }")
    assert size.bounding_box()["x"] == pytest.approx(size_x - 400, abs=2)  # the rest scrolled away ...
    assert model.bounding_box()["x"] == pytest.approx(model_x, abs=1)  # ... the Model column did not
    # and it is painted above the cells scrolling under it
    box = model.bounding_box()
    top = pg.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('td')?.dataset.key",
                      [box["x"] + box["width"] - 3, box["y"] + box["height"] / 2])
    assert top == "method"


def _columns_match_shown_rows(pg: Any) -> None:
    """A column is shown iff some shown row has a value in it (Model always; PSNR-RGB not in Y groups)."""
    y_group = pg.eval_on_selector("#group-filter", "s => s.selectedOptions[0].dataset.channel") == "y"
    shown = set(_shown_columns(pg))
    for key in pg.eval_on_selector_all("#leaderboard thead th", "hs => hs.map(h => h.dataset.key)"):
        filled = any(_visible_values(pg, key))
        expected = key == "method" or (filled and not (y_group and key.startswith("psnr_rgb_")))
        assert (key in shown) == expected, key
        cells_hidden = pg.eval_on_selector_all(f'#leaderboard tbody td[data-key="{key}"]', "cs => cs.map(c => c.hidden)")
        assert set(cells_hidden) == {key not in shown}, key  # the cells follow their header


def test_columns_empty_for_every_shown_row_are_hidden(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    # The paper's rows fill B100 and DIV2K-val; our x4 runs have only Set5 and Urban100.
    assert {"psnr_b100", "psnr_div2k_val", "ssim_b100"} <= set(_shown_columns(pg))
    _columns_match_shown_rows(pg)
    pg.uncheck("#show-paper")
    shown = set(_shown_columns(pg))
    assert not shown & {"psnr_b100", "psnr_set14", "psnr_div2k_val", "ssim_b100"}
    assert {"psnr_set5", "psnr_urban100", "throughput", "device", "train_seconds"} <= shown
    assert pg.locator('#leaderboard td[data-key="psnr_b100"]').first.is_hidden()
    assert "B100 PSNR-Y" in pg.locator("#hidden-columns").inner_text()
    _columns_match_shown_rows(pg)
    pg.select_option("#group-filter", "x2-rgb")  # recomputed on every filter change: EDSR has B100, no Urban100
    assert "psnr_b100" in _shown_columns(pg) and "psnr_urban100" not in _shown_columns(pg)
    _columns_match_shown_rows(pg)
    pg.select_option("#group-filter", "x4-y")
    pg.check("#show-paper")
    assert "psnr_b100" in _shown_columns(pg)
    # no row matches: nothing to judge by, the columns stay (and the Model column always does)
    before = _shown_columns(pg)
    pg.fill("input#filter", "no such model")
    assert _shown_columns(pg) == before and "method" in before


def test_timing_columns_fit_a_1500px_screen(page_1500: tuple[Any, list[str]]) -> None:
    pg, _ = page_1500
    right = pg.locator("#leaderboard-wrap").evaluate("w => w.getBoundingClientRect().left + w.clientWidth")
    for key in ("throughput", "device", "train_seconds"):
        box = pg.locator(f'#leaderboard th[data-key="{key}"]').bounding_box()
        assert box is not None and box["x"] + box["width"] <= right, key


def test_csv_link(page: tuple[Any, list[str]], page_url: str) -> None:
    pg, requests = page
    link = pg.locator("a#csv-link")
    assert link.is_visible() and link.get_attribute("href") == "leaderboard.csv"  # relative: the page can move
    target = link.evaluate("a => a.href")
    assert target == page_url.rsplit("/", 1)[0] + "/leaderboard.csv"
    csv_path = Path(url2pathname(urlparse(target).path))
    assert csv_path.is_file() and csv_path.read_text().startswith("kind,run,")
    assert not [u for u in requests if u.endswith(".csv")]  # linked, not loaded


def test_run_date_and_commit(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    assert {"finished_at", "git_commit"} <= set(_shown_columns(pg))
    date, commit = _cell(pg, "repsr-M4C16-x4", "finished_at"), _cell(pg, "repsr-M4C16-x4", "git_commit")
    assert date.inner_text() == "2025-03-04" and date.get_attribute("title") == "2025-03-04 10:15:00 UTC"
    assert commit.inner_text() == COMMIT[:7] and commit.get_attribute("title") == COMMIT
    assert _cell(pg, "ecbsr-M4C16-x4", "git_commit").inner_text() == COMMIT[:7] + "-dirty"
    assert _cell(pg, "plain-M4C8-x4", "finished_at").inner_text() == ""  # an older run without the record
    assert _cell(pg, "plain-M4C8-x4", "git_commit").inner_text() == ""
    pg.select_option("#group-filter", "x2-rgb")
    assert PROVENANCE["edsr-R1C4-x2-rgb-bn"][0].endswith("+02:00")
    assert _cell(pg, "edsr-R1C4-x2-rgb-bn", "finished_at").inner_text() == "2025-03-01"  # shown in UTC
    summary = pg.locator("#provenance").inner_text()
    assert "Runs finished 2025-03-01 to 2025-03-04 (UTC)" in summary
    assert f"{COMMIT[:7]} (3 runs)" in summary and f"{COMMIT[:7]}-dirty (1 run)" in summary
    assert "1 of 6 runs record neither" in summary
    # the detail panel has them in full
    detail = pg.locator("details#run-repsr-M4C16-x4")
    assert COMMIT in detail.text_content() and "2025-03-04T10:15:00+00:00" in detail.text_content()


def test_plot_points_have_hover_text(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    titles = pg.eval_on_selector_all("#tradeoff svg g[id^='hover-'] > title", "ts => ts.map(t => t.textContent)")
    points = {t.split(":")[0]: t for t in titles if "images/s" in t and not t.startswith("Pareto front")}
    assert set(points) >= X4_Y | X4_RGB  # every plotted run names itself
    assert "Urban100 PSNR-Y 24.70 dB" in points["repsr-M4C16-x4"] and "120.5 images/s" in points["repsr-M4C16-x4"]
    # one Pareto definition: the runs the hover text puts on the front are the rows with the badge
    on_front = {run for run, text in points.items() if "on the Pareto front" in text}
    badged = set(pg.eval_on_selector_all("#leaderboard tr:has(.badge.pareto)", "rs => rs.map(r => r.dataset.run)"))
    assert on_front == badged and {"repsr-M4C16-x4", "plain-M4C8-x4"} <= badged
    fronts = [t for t in titles if t.startswith("Pareto front")]
    assert fronts and all("as fast" in t for t in fronts)
    assert "as fast" in pg.locator("#pareto-definition").inner_text()

