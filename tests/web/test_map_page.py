"""The public map page in headless Chromium against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CARD_READY = "#card-body[aria-busy='false'] .card-section"


@pytest.fixture(scope="module")
def browser_page(browser: Browser, live_server: str) -> Iterator[tuple[Page, dict[str, Any]]]:
    seen: dict[str, Any] = {"errors": [], "responses": [], "external": []}
    page = browser.new_page(viewport={"width": 1100, "height": 750})
    page.on(
        "console",
        lambda m: seen["errors"].append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("response", lambda r: seen["responses"].append((r.url, r.status)))
    page.on(
        "request",
        lambda r: (
            seen["external"].append(r.url)
            if not r.url.startswith((live_server, "blob:", "data:"))
            else None
        ),
    )
    page.goto(f"{live_server}/", wait_until="load")
    page.wait_for_function(
        "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()",
        timeout=20_000,
    )
    page.wait_for_selector("#legend .item")
    yield page, seen
    page.close()


def _archive_responses(seen: dict[str, Any], name: str) -> list[int]:
    return [status for url, status in seen["responses"] if f"/pmtiles/{name}.pmtiles" in url]


def test_page_loads_map_without_errors(browser_page, tmp_path_factory) -> None:
    page, seen = browser_page
    assert page.locator("#map canvas.maplibregl-canvas").count() == 1
    assert page.locator("#banner").is_visible()
    attribution = page.locator(".maplibregl-ctrl-attrib").inner_text()
    assert "Global Energy Monitor <GEM>" in attribution
    assert "CNEMC via quotsoft.net" in attribution
    statuses = _archive_responses(seen, "pm25_2019Q1")
    assert statuses and set(statuses) <= {200, 206}
    assert _archive_responses(seen, "enterprises")
    assert seen["external"] == []
    shot = tmp_path_factory.mktemp("shots") / "map.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    assert seen["errors"] == []


def test_legend_shows_scale_classes(browser_page) -> None:
    page, _ = browser_page
    items = page.locator("#legend .item")
    assert items.count() == 7
    assert "15–35" in items.nth(1).inner_text()


def test_enterprise_click_opens_card(browser_page, click_at) -> None:
    page, seen = browser_page
    page.evaluate("window.lantian.map.jumpTo({center: [118.45, 39.0], zoom: 7})")
    page.wait_for_function(
        "window.lantian.map.areTilesLoaded() && "
        "window.lantian.map.queryRenderedFeatures({layers: ['enterprises', 'cited']})"
        ".some(f => f.properties.id === 'gem:P100000120001')",
        timeout=20_000,
    )
    click_at(page, 118.45, 39.0)
    page.wait_for_selector(CARD_READY, timeout=10_000)
    text = page.locator("#card").inner_text()
    assert "首钢京唐钢铁" in text
    assert "Shougang Jingtang Iron and Steel" in text
    assert "steel" in text and "9,700" in text
    assert "µg/m³" in text  # PM2.5 near the plant
    page.keyboard.press("Escape")
    assert page.locator("#card").is_hidden()
    assert seen["errors"] == []


def test_card_escapes_html(browser_page, click_at) -> None:
    page, _ = browser_page
    page.evaluate("window.lantian.map.jumpTo({center: [112.55, 37.87], zoom: 7})")
    page.wait_for_function(
        "window.lantian.map.areTilesLoaded() && window.lantian.map.queryRenderedFeatures("
        "{layers: ['enterprises', 'cited']}).some(f => f.properties.id === 'csv:1')",
        timeout=20_000,
    )
    click_at(page, 112.55, 37.87)
    page.wait_for_function(
        "document.querySelector('#card-title')?.textContent.includes('<script>')",
        timeout=10_000,
    )
    assert page.locator("#card script").count() == 0
    page.keyboard.press("Escape")


def test_slider_switches_quarter_archive(browser_page) -> None:
    page, seen = browser_page
    assert not _archive_responses(seen, "pm25_2019Q2")
    page.evaluate("window.lantian.map.jumpTo({center: [116, 38.5], zoom: 5})")
    position = page.evaluate("window.lantian.state.timeline.indexOf('2019Q2')")
    page.locator("#quarter").fill(str(position))
    page.wait_for_function("location.hash.includes('period=2019Q2')", timeout=5_000)
    page.wait_for_function("window.lantian.map.areTilesLoaded()", timeout=20_000)
    statuses = _archive_responses(seen, "pm25_2019Q2")
    assert statuses and set(statuses) <= {200, 206}
    assert page.locator("#quarter-label").inner_text() == "2019 Q2"
    page.locator("#toggle-cb").check()
    page.wait_for_function("window.lantian.map.areTilesLoaded()", timeout=20_000)
    page.wait_for_timeout(300)
    assert _archive_responses(seen, "pm25-cb_2019Q2")
    assert "colour-blind" in page.locator("#legend h2").inner_text()
    shot = Path("/tmp") / "lantian-map-q2-cb.png"
    page.screenshot(path=str(shot))
    assert seen["errors"] == []


def test_credits_fold_away_on_a_phone(browser: Browser, live_server: str) -> None:
    """Shown in full on arrival, folded into the (i) button once the map is dragged, and back
    with a tap: the sources stay one tap away without covering a fifth of a phone's map."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                            has_touch=True)
    page.goto(f"{live_server}/", wait_until="load")
    page.wait_for_function("window.lantian && window.lantian.map.loaded()", timeout=20_000)
    credits = page.locator(".maplibregl-ctrl-attrib")
    assert "Global Energy Monitor <GEM>" in credits.inner_text()
    shown = credits.bounding_box()
    page.evaluate("window.lantian.map.fire('drag')")  # what a finger's pan fires
    folded = credits.bounding_box()
    assert shown and shown["width"] > 300  # the credits across the map's foot
    assert folded and folded["width"] <= 32 and folded["height"] <= 32  # only the button
    page.locator(".maplibregl-ctrl-attrib-button").click()
    assert "Global Energy Monitor <GEM>" in credits.inner_text()
    page.close()
