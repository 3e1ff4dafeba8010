"""The leaderboard's first screen and its address, in a real headless Chromium: the page opens on the x4 Y
group (Table 2's) although another group sorts first and holds more runs, marks the best run of each
size, shows the iterations beside the PSNRs and the group's mixed budgets; the group, filters and sort
live in the URL's query string, so a copied or reloaded address restores the view, and an unknown
group or sort key falls back to the default. Skips, like the other browser tests, without Debian's
chromium or playwright."""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from repbench import report

try:
    from test_leaderboard_browser import (  # noqa: F401 (fixture, marks)
        _open, _shown_columns, _shown_rows, _visible_values, browser, pytestmark,
    )
    from test_leaderboard_marks import BEST, X2_PLAIN, write_marked_runs
    from test_report import PRESET
except ImportError:  # tests collected as a package
    from tests.test_leaderboard_browser import (  # noqa: F401
        _open, _shown_columns, _shown_rows, _visible_values, browser, pytestmark,
    )
    from tests.test_leaderboard_marks import BEST, X2_PLAIN, write_marked_runs
    from tests.test_report import PRESET


@pytest.fixture(scope="module")
def marked_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("leaderboard-marks")
    runs = write_marked_runs(base / "runs" / PRESET)
    report.build_report(runs, base / "results", preset=PRESET, only=["leaderboard"])
    return (base / "results" / "leaderboard.html").as_uri()


def _view(browser: Any, url: str) -> Iterator[tuple[Any, list[str]]]:
    yield from _open(browser, url, 1600)


def _state(pg: Any) -> dict[str, Any]:
    """What the reader sees: the chosen group and filters, the sorted column and its direction."""
    return pg.evaluate("""() => ({
        group: document.getElementById("group-filter").value,
        q: document.getElementById("filter").value,
        method: document.getElementById("method-filter").value,
        paper: document.getElementById("show-paper").checked,
        sort: Array.from(document.querySelectorAll("#leaderboard th[aria-sort]"))
                   .map(h => h.dataset.key + " " + h.getAttribute("aria-sort")),
    })""")


def _query(pg: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(pg.url).query)


def test_opens_on_x4_y_with_best_marks_iterations_and_budgets(browser: Any, marked_url: str) -> None:
    for pg, _ in _view(browser, marked_url):
        options = pg.eval_on_selector_all("#group-filter option", "os => os.map(o => o.value)")
        assert options[0] == "x2-rgb"  # sorts first, and holds the most runs here
        assert _state(pg) == {"group": "x4-y", "q": "", "method": "", "paper": True, "sort": []}
        assert set(_shown_rows(pg, "data-scale")) == {"4"} and set(_shown_rows(pg, "data-colors")) == {"Y", ""}
        assert _query(pg) == {"group": ["x4-y"]}  # the address names the view from the start
        # the best run of each size, badged with what it means; ties both marked
        badged = pg.eval_on_selector_all("#leaderboard tbody tr:not([hidden]):has(.badge.best)",
                                         "rs => rs.map(r => r.dataset.run)")
        assert set(badged) == {r for r in BEST if r.endswith("-x4")}
        badge = pg.locator('#leaderboard tr[data-run="plain-M4C16-x4"] .badge.best')
        assert badge.is_visible() and "tied with 1 other run" in badge.get_attribute("title")
        # Iters right after the last PSNR column, and the group says its front spans budgets
        shown = _shown_columns(pg)
        last_psnr = max(i for i, k in enumerate(shown) if k.startswith("psnr_"))
        assert shown[last_psnr + 1] == "iterations"
        assert pg.locator('#leaderboard tr[data-run="plain-M4C8-x4"] td[data-key="iterations"]').inner_text() == "400"
        note = pg.locator("#budget-note")
        assert note.is_visible() and "400-800 iterations (400, 500, 800)" in note.inner_text()
        pg.select_option("#group-filter", "x2-rgb")  # one budget: no note
        assert note.is_hidden()


def test_the_url_restores_group_filter_and_sort(browser: Any, marked_url: str) -> None:
    url = marked_url + "?group=x2-rgb&q=plain&sort=psnr_set5&dir=desc"
    expected = sorted(X2_PLAIN, key=X2_PLAIN.get, reverse=True)
    for pg, _ in _view(browser, url):
        assert _state(pg) == {"group": "x2-rgb", "q": "plain", "method": "", "paper": True, "sort": ["psnr_set5 descending"]}
        assert _shown_rows(pg, "data-run") == expected  # filtered to the plain x2 runs, best first
        assert pg.locator("#row-count").inner_text().startswith(f"{len(expected)} of ")

        # every change is written back to the address ...
        pg.select_option("#group-filter", "x4-y")
        pg.fill("input#filter", "m4c16")
        pg.uncheck("#show-paper")
        pg.locator('th[data-key="params_deployed"]').click()
        pg.locator('th[data-key="psnr_set5"]').click()
        assert _query(pg) == {"group": ["x4-y"], "q": ["m4c16"], "paper": ["0"], "sort": ["psnr_set5"], "dir": ["asc"]}
        state, rows = _state(pg), _shown_rows(pg, "data-run")
        assert rows[0] == "ecbsr-M4C16-x4" and set(rows[1:]) == {"repsr-M4C16-x4", "plain-M4C16-x4"}  # ascending; a tie
        copied = pg.url
        # ... so that a reload, or the copied address in a fresh tab, shows the same view
        pg.reload()
        assert _state(pg) == state and _shown_rows(pg, "data-run") == rows
    for pg, _ in _view(browser, copied):
        assert _state(pg) == state and _shown_rows(pg, "data-run") == rows
        values = [float(v) for v in _visible_values(pg, "psnr_set5")]
        assert values == sorted(values)


def test_unknown_group_or_sort_in_the_url_falls_back(browser: Any, marked_url: str) -> None:
    for pg, _ in _view(browser, marked_url + "?group=x9-cmyk&sort=no_such_column&dir=sideways&method=nope"):
        assert _state(pg) == {"group": "x4-y", "q": "", "method": "", "paper": True, "sort": []}
        note = pg.locator("#url-note")
        assert note.is_visible() and "x9-cmyk" in note.inner_text() and "no_such_column" in note.inner_text()
        assert _query(pg) == {"group": ["x4-y"]}  # the address now says what is shown
        assert pg.locator("#leaderboard tbody tr:not([hidden])").count() > 0
    # "all" is every group; a run's details hash sits beside the query and still opens its panel
    for pg, _ in _view(browser, marked_url + "?group=all&method=edsr#run-edsr-R1C4-x2-rgb-bn"):
        assert _state(pg)["group"] == "" and set(_shown_rows(pg, "data-method")) == {"edsr"}
        assert pg.locator("details#run-edsr-R1C4-x2-rgb-bn").evaluate("d => d.open") is True
        assert pg.url.endswith("#run-edsr-R1C4-x2-rgb-bn") and _query(pg)["group"] == ["all"]
