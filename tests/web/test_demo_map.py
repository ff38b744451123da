"""The real 2019 demo release in headless Chromium: tiles render, the slider changes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHIJIAZHUANG = (114.50, 38.04)  # 2019Q1 ≈ 105 µg/m³ (class 75–115), 2019Q3 ≈ 33 (15–35)


@pytest.fixture(scope="module")
def demo_page(demo_server: str) -> Iterator[tuple[Page, list[str], list[str]]]:
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{demo_server}/#q=2019Q1&z=7&lon={SHIJIAZHUANG[0]}&lat={SHIJIAZHUANG[1]}")
        page.wait_for_function(
            "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()",
            timeout=30_000,
        )
        for overlay in ("#toggle-enterprises", "#toggle-boundaries"):  # only PM2.5 under the pixel
            page.locator(overlay).uncheck()
        _settle(page)
        yield page, errors, requests
        browser.close()


def _settle(page: Page) -> None:
    page.wait_for_function("window.lantian.map.areTilesLoaded()", timeout=30_000)
    page.wait_for_timeout(500)


def test_real_pm25_tiles_render_and_slider_changes_them(
    demo_page: tuple[Page, list[str], list[str]], tmp_path: Path, pixel_at
) -> None:
    page, errors, requests = demo_page
    assert any("/pmtiles/pm25_2019Q1.pmtiles" in u for u in requests)
    winter = pixel_at(page, *SHIJIAZHUANG)
    page.screenshot(path=str(tmp_path / "demo-2019Q1.png"))
    summer_at = page.evaluate("window.lantian.state.timeline.indexOf('2019Q3')")
    page.locator("#quarter").fill(str(summer_at))  # summer air is much cleaner
    page.wait_for_function("location.hash.includes('period=2019Q3')", timeout=5_000)
    _settle(page)
    summer = pixel_at(page, *SHIJIAZHUANG)
    assert any("/pmtiles/pm25_2019Q3.pmtiles" in u for u in requests)
    assert winter != summer
    page.locator("#toggle-pm25").uncheck()
    _settle(page)
    background = pixel_at(page, *SHIJIAZHUANG)
    assert background not in (winter, summer)
    assert errors == []


def test_quarter_labels_are_the_real_2019_quarters(
    demo_page: tuple[Page, list[str], list[str]],
) -> None:
    page, _, _ = demo_page
    labels = []
    for position in range(len(page.evaluate("window.lantian.state.timeline"))):
        page.locator("#quarter").fill(str(position))
        labels.append(page.locator("#quarter-label").inner_text())
    # the slider runs over the plant timeline: the grid quarters, after any earlier record quarters
    assert labels[-4:] == ["2019 Q1", "2019 Q2", "2019 Q3", "2019 Q4"]
    assert labels == sorted(labels)
    assert not page.locator("#banner").is_visible()  # the demo is real data, not synthetic
