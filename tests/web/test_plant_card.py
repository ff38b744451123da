"""Plant markers, facility card, permalink, filters and search on the fixture release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SHOUGANG = "gem:P100000120001"
SHOUGANG_AT = (118.45, 39.00)
TAIYUAN = "csv:1"
START = "#q=2018Q4&z=8&lon=118.45&lat=39.00"
CARD_READY = "#card-body[aria-busy='false'] .card-section"
RENDERED_IDS = (
    "[...new Set(window.lantian.map.queryRenderedFeatures({layers: "
    "['enterprises-halo', 'enterprises', 'cited-halo', 'cited']})"
    ".map(f => f.properties.id))].sort()"
)


def _open(page: Page, url: str) -> None:
    page.goto("about:blank")
    page.goto(url, wait_until="load")
    page.wait_for_function(
        "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()",
        timeout=20_000,
    )


def _watch(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture(scope="module")
def desktop(browser: Browser, live_server: str) -> Iterator[tuple[Page, list[str]]]:
    page = browser.new_page(viewport={"width": 1100, "height": 750})
    errors = _watch(page)
    _open(page, f"{live_server}/{START}")
    yield page, errors
    page.close()


def _wait_beside_card(page: Page, lon: float, lat: float) -> None:
    """Wait until the map rests with (lon, lat) on screen and not under the card."""
    page.wait_for_function(
        """([lon, lat]) => {
          const m = window.lantian.map;
          if (m.isMoving()) return false;
          const p = m.project([lon, lat]);
          const r = m.getCanvas().getBoundingClientRect();
          const c = document.querySelector('#card').getBoundingClientRect();
          const x = p.x + r.left, y = p.y + r.top;
          const under = x >= c.left && x <= c.right && y >= c.top && y <= c.bottom;
          return !under && x > r.left && x < r.right && y > r.top && y < r.bottom;
        }""",
        arg=[lon, lat],
        timeout=10_000,
    )


def _wait_rendered(page: Page, plant_id: str) -> None:
    page.wait_for_function(
        f"window.lantian.map.areTilesLoaded() && {RENDERED_IDS}.includes({plant_id!r})",
        timeout=20_000,
    )


def test_quarter_without_grid_keeps_plants(desktop) -> None:
    page, errors = desktop
    assert page.locator("#quarter-label").inner_text() == "2018 Q4"
    assert page.evaluate("window.lantian.state.timeline") == ["2018Q4", "2019Q1", "2019Q2"]
    assert page.locator("#grid-note").inner_text() == "No PM2.5 grid for 2018 Q4"
    assert page.evaluate("window.lantian.map.getLayer('pm25-raster')") is None
    _wait_rendered(page, SHOUGANG)
    assert "2018 Q4" in page.locator("#plant-legend").inner_text()
    page.locator("#quarter").fill("1")
    page.wait_for_function("location.hash.includes('period=2019Q1')", timeout=5_000)
    assert page.locator("#grid-note").is_hidden()
    assert page.evaluate("!!window.lantian.map.getLayer('pm25-raster')")
    page.locator("#quarter").fill("0")
    page.wait_for_function("location.hash.includes('period=2018Q4')", timeout=5_000)
    assert errors == []


def test_click_opens_facility_card(desktop, click_at, tmp_path: Path) -> None:
    page, errors = desktop
    page.evaluate(f"window.lantian.map.jumpTo({{center: {list(SHOUGANG_AT)}, zoom: 8}})")
    _wait_rendered(page, SHOUGANG)
    click_at(page, *SHOUGANG_AT)
    page.wait_for_selector(CARD_READY, timeout=10_000)
    card = page.locator("#card")
    assert page.locator("#card-title").inner_text() == "Shougang Jingtang Iron and Steel"
    assert page.locator("#card-subtitle").inner_text() == "首钢京唐钢铁"  # the other language
    assert page.evaluate("document.activeElement.id") == "card-title"
    dates = page.locator("#card .timeline time")
    assert [dates.nth(i).get_attribute("datetime") for i in range(dates.count())] == [
        "2019-02-01", "2018-12", "2018-10-16",
    ]  # fmt: skip
    assert dates.nth(1).inner_text() == "December 2018"
    link = card.locator(".timeline a[href='https://example.org/hebei-epb/2018-10']")
    assert link.count() == 1
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("target") == "_blank"
    assert card.locator("svg.bars .value").first.text_content() == "+12.5 %"
    assert card.locator("svg.bars .label").first.text_content() == "2018-Q4 vs 2017-Q4"
    no_grid = card.locator("table.pm25 tr", has_text="2018 Q4")
    assert no_grid.locator("td").nth(0).inner_text() == "no grid"
    assert no_grid.get_attribute("aria-current") == "true"
    assert "Cited and output up" in card.inner_text()
    feed = card.locator("a[type='application/atom+xml']")
    assert feed.get_attribute("href") == f"/feeds/plants/{quote(SHOUGANG, safe='')}.atom?lang=en"
    assert page.request.get(page.url.split("#")[0].split("?")[0].rstrip("/")
                            + feed.get_attribute("href")).status == 200
    assert f"plant={SHOUGANG}" in page.evaluate("location.hash")
    page.screenshot(path=str(tmp_path / "desktop-card.png"))

    page.get_by_role("button", name="Link to this plant").click()
    permalink = page.locator("#link-field").input_value()
    assert permalink.endswith(f"plant={SHOUGANG}") and "period=2018Q4" in permalink

    page.keyboard.press("Escape")
    assert card.is_hidden()
    assert "plant=" not in page.evaluate("location.hash")
    assert errors == []


def test_several_plants_at_one_spot_offer_a_chooser(desktop, click_at) -> None:
    page, errors = desktop
    page.evaluate(f"window.lantian.map.jumpTo({{center: {list(SHOUGANG_AT)}, zoom: 3}})")
    _wait_rendered(page, SHOUGANG)  # 河钢唐钢 and 天津大港 are drawn a few pixels away at zoom 3
    click_at(page, *SHOUGANG_AT)
    choices = page.locator("#card .choices button")
    choices.first.wait_for(timeout=10_000)
    assert choices.count() == 3  # and 天津大港 (1° west): every plant is drawn at every zoom
    choices.filter(has_text="首钢京唐钢铁").click()
    page.wait_for_selector(CARD_READY, timeout=10_000)
    assert page.locator("#card-title").inner_text() == "Shougang Jingtang Iron and Steel"
    page.locator("#card-close").click()
    assert page.locator("#card").is_hidden()
    assert errors == []


def test_permalink_opens_card_and_escapes_findings(desktop, live_server: str) -> None:
    page, errors = desktop
    _open(page, f"{live_server}/#plant={TAIYUAN}")
    page.wait_for_selector(CARD_READY, timeout=10_000)
    card = page.locator("#card")
    assert page.locator("#card-title").inner_text() == "Taiyuan Coking & Co"
    assert page.locator("#card-subtitle").inner_text() == "太原焦化<script>"
    finding = card.locator(".timeline .finding").first.inner_text()
    assert '<img src=x onerror="window.__xss=1">' in finding
    assert card.locator("img, script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert card.locator(".badge.cems").inner_text() == "computed from CEMS"
    assert "Approximate location" in card.locator(".warn").first.inner_text()
    lon, lat = page.evaluate("window.lantian.map.getCenter().toArray()")
    assert abs(lon - 112.55) < 1e-3 and abs(lat - 37.87) < 1e-3
    assert f"plant={TAIYUAN}" in page.evaluate("location.hash")
    page.keyboard.press("Escape")
    assert errors == []


def test_filters_restrict_markers_and_count(desktop, live_server: str) -> None:
    page, errors = desktop
    _open(page, f"{live_server}/{START}")
    page.wait_for_function(f"{RENDERED_IDS}.length > 1", timeout=20_000)
    page.locator("#filters summary").click()
    page.wait_for_function("document.querySelectorAll('#f-industry option').length > 1")
    page.locator("#f-violations").check()
    page.wait_for_function(
        f"window.lantian.map.areTilesLoaded() && {RENDERED_IDS}.join() === {SHOUGANG!r}",
        timeout=10_000,
    )
    page.wait_for_function(
        "document.querySelector('#filter-count').textContent === '1 matching plant'"
    )
    page.evaluate("window.lantian.map.jumpTo({center: [116, 38.5], zoom: 2.5})")
    page.wait_for_function(  # no clusters: zoomed out, the filter still holds plant by plant
        f"window.lantian.map.areTilesLoaded() && {RENDERED_IDS}.join() === {SHOUGANG!r}",
        timeout=10_000,
    )

    page.locator("#f-violations").uncheck()
    page.locator("#f-industry").select_option("coal_power")
    page.evaluate("window.lantian.map.jumpTo({center: [117.5, 39.3], zoom: 7})")
    page.wait_for_function(
        f"window.lantian.map.areTilesLoaded() && {RENDERED_IDS}.join() === "
        "'wri:1000453,wri:1000454'",
        timeout=10_000,
    )
    page.locator("#f-industry").select_option("")
    page.locator("#f-province").select_option("河北省")
    page.wait_for_function(
        f"window.lantian.map.areTilesLoaded() && {RENDERED_IDS}.join() === "
        "'gem:P100000120001,gem:P100000120002'",
        timeout=10_000,
    )
    page.locator("#f-clear").click()
    page.wait_for_function("document.querySelector('#filter-count').textContent === '6 plants'")
    assert errors == []


def test_search_finds_plant_by_pinyin(desktop) -> None:
    page, errors = desktop
    page.locator("#search").fill("shougang")
    result = page.locator("#search-results button").first
    result.wait_for(timeout=5_000)
    assert "首钢京唐钢铁" in result.inner_text()
    result.click()
    page.wait_for_selector(CARD_READY, timeout=10_000)
    assert page.locator("#card-title").inner_text() == "Shougang Jingtang Iron and Steel"
    _wait_beside_card(page, *SHOUGANG_AT)
    assert page.evaluate("window.lantian.map.getZoom()") >= 10
    page.keyboard.press("Escape")
    assert errors == []


def test_phone_layout_bottom_sheet(browser: Browser, live_server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    errors = _watch(page)
    _open(page, f"{live_server}/#q=2018Q4&plant={SHOUGANG}")
    page.wait_for_selector(CARD_READY, timeout=10_000)
    _wait_beside_card(page, *SHOUGANG_AT)
    page.wait_for_function("window.lantian.map.areTilesLoaded()", timeout=20_000)
    page.screenshot(path=str(tmp_path / "phone-card.png"))
    sheet: Any = page.locator("#card").bounding_box()
    assert sheet["x"] == 0 and sheet["width"] == 390
    assert sheet["y"] + sheet["height"] == pytest.approx(844, abs=1)
    assert sheet["y"] > 844 * 0.35  # the map stays visible above the sheet
    assert page.locator("#panel").is_hidden()

    toggle = page.locator("#panel-toggle")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(tmp_path / "phone-panel.png"))
    panel: Any = page.locator("#panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390
    print(f"screenshots: {tmp_path}")
    page.close()
    assert errors == []
