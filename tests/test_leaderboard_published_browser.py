"""Published models on the leaderboard page, in a real headless Chromium: in their (scale, channels)
group beside the runs trained here, badged as published with their training budget, never on the front.
Skips, like the other browser tests, without Debian's chromium or playwright."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from repbench import report

try:
    from test_leaderboard_browser import _cell, _open, _shown_rows, browser, pytestmark  # noqa: F401 (fixture, marks)
    from test_report import PRESET, write_runs
    from test_report_published import NAME, write_published_run
except ImportError:  # tests collected as a package
    from tests.test_leaderboard_browser import _cell, _open, _shown_rows, browser, pytestmark  # noqa: F401
    from tests.test_report import PRESET, write_runs
    from tests.test_report_published import NAME, write_published_run


@pytest.fixture(scope="module")
def published_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("leaderboard-published")
    runs = write_runs(base / "runs" / PRESET)
    write_published_run(runs, images_per_s=1e6)  # faster and better than every run: still not on the front
    report.build_report(runs, base / "results", preset=PRESET, only=["leaderboard"])
    return (base / "results" / "leaderboard.html").as_uri()


@pytest.fixture()
def page(browser: Any, published_url: str) -> Iterator[tuple[Any, list[str]]]:
    yield from _open(browser, published_url, 1600)


def test_a_published_model_sits_in_its_group_marked_published(page: tuple[Any, list[str]], tmp_path: Path) -> None:
    pg, requests = page
    pg.select_option("#group-filter", "x4-y")
    assert NAME not in _shown_rows(pg, "data-run")  # an RGB model: not in the Y group
    pg.select_option("#group-filter", "x4-rgb")
    shown = _shown_rows(pg, "data-run")
    assert NAME in shown and "repsr-M1C4-x4-rgb-expand1" in shown  # beside the runs trained here
    row = pg.locator(f'#leaderboard tr[data-run="{NAME}"]')
    assert row.get_attribute("data-kind") == "published"
    badge = row.locator(".badge.published")
    assert badge.inner_text().lower() == "published" and badge.is_visible()  # the badge style capitalises
    assert "trained by its authors" in badge.get_attribute("title")
    assert row.locator(".badge.pareto").count() == 0
    assert _cell(pg, NAME, "psnr_rgb_set5").inner_text() == "30.33"
    pg.screenshot(path=str(tmp_path / "published.png"))
    assert "1 released checkpoint marked" in pg.locator(".preset-note").inner_text().replace("PUBLISHED", "published")
    assert all(not r.startswith(("http://", "https://")) for r in requests)  # the page needs no network
