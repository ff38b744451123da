"""The basemap, stations, sparse-area hatch, plants at every zoom and their names on the map
page, on the fixture release (tests/server/fixture_release.py, map_layers=True)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from .conftest import builder, running_server

pytestmark = pytest.mark.browser

READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
FLAGGED_AT = (119.60, 37.03)  # 3132A 秦皇岛 文明里, listed far south of Qinhuangdao
SJZ_STATION = (114.53, 38.02)  # 1001A: 105.3 µg/m³ in 2019Q1 (class 75–115), 48.0 in 2019Q2
STATIONS = "window.lantian.map.queryRenderedFeatures({layers: ['stations']})"
TEXTS = (
    "(layers) => window.lantian.map.queryRenderedFeatures({layers})"
    ".map(f => f.layer.layout['text-field'].sections.map(s => s.text).join(''))"
)


@pytest.fixture(scope="module")
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    errors: list[str] = []
    external: list[str] = []
    page = browser.new_page(viewport={"width": 1100, "height": 750}, locale="en-US")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None
        if r.url.startswith((live_server, "blob:", "data:"))
        else external.append(r.url),
    )
    page.goto(f"{live_server}/#q=2019Q1&z=7&lon=117&lat=38.5", wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    yield page
    assert errors == [] and external == []
    page.close()


def _go(page: Page, lon: float, lat: float, zoom: float) -> None:
    page.evaluate(f"window.lantian.map.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_timeout(300)


def _quarter(page: Page, quarter: str) -> None:
    position = page.evaluate(f"window.lantian.state.timeline.indexOf({quarter!r})")
    page.locator("#quarter").fill(str(position))
    page.wait_for_function(f"location.hash.includes('period={quarter}')")
    page.wait_for_timeout(300)


def _station_colour(page: Page, code: str) -> list[float]:
    colour = page.evaluate(
        "(code) => { const f = window.lantian.map.queryRenderedFeatures({layers: ['stations']})"
        ".find(f => f.properties.code === code); const c = f.layer.paint['icon-color'];"
        " return [c.r, c.g, c.b].map(v => Math.round(v * 255)); }",
        code,
    )
    return list(colour)


def test_layers_draw_in_order_under_and_over_the_raster(page: Page) -> None:
    order = page.evaluate("window.lantian.map.getStyle().layers.map(l => l.id)")
    assert order.index("land-fill") < order.index("pm25-raster") < order.index("sparse-hatch")
    assert order.index("pm25-raster") < order.index("province-line") < order.index("stations")
    assert order.index("enterprises") < order.index("enterprises-label")
    assert order.index("enterprises-label") < order.index("place-capital")  # labels on top
    for toggle in ("#toggle-boundaries", "#toggle-stations", "#toggle-sparse"):
        assert page.locator(toggle).is_visible()


def test_stations_take_the_raster_colours_of_the_quarter(page: Page) -> None:
    _go(page, *SJZ_STATION, 8)
    assert _station_colour(page, "1001A") == [255, 126, 0]  # 75–115
    _quarter(page, "2019Q2")
    assert _station_colour(page, "1001A") == [255, 255, 0]  # 35–75
    assert "Monitoring stations" in page.locator("#station-legend").inner_text()
    page.locator("#toggle-stations").uncheck()
    page.wait_for_function(f"{STATIONS}.length === 0", timeout=5_000)
    page.locator("#toggle-stations").check()
    _quarter(page, "2019Q1")


def test_flagged_station_is_drawn_apart_with_its_reason(page: Page, click_at) -> None:
    _go(page, *FLAGGED_AT, 8)
    flagged = page.evaluate(
        "window.lantian.map.queryRenderedFeatures({layers: ['stations-flagged']})"
        ".map(f => f.properties.code)"
    )
    assert flagged == ["3132A"]
    assert page.evaluate(f"{STATIONS}.length") == 0
    click_at(page, *FLAGGED_AT)
    popup = page.locator(".maplibregl-popup .station-popup")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "秦皇岛 文明里" in text and "3132A" in text and "秦皇岛, Hebei" in text
    assert "flagged: outside its province" in text
    assert "(119.6000, 37.0300) lies in 青岛 (山东省), not in 秦皇岛 (河北省)" in text
    assert "70.2 µg/m³" in text and "80 days" in text
    page.locator("#lang-toggle").click()
    page.wait_for_function("document.querySelector('.station-popup').innerText.includes('站点编号')")
    text = popup.inner_text()
    assert "存疑：不在所属省份内" in text and "河北省秦皇岛" in text
    assert "登记坐标（119.6000, 37.0300）位于山东省青岛，不在河北省秦皇岛" in text
    assert "80 天" in text
    page.locator("#lang-toggle").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.keyboard.press("Escape")
    assert popup.count() == 0


def test_ok_station_popup(page: Page, click_at) -> None:
    _go(page, *SJZ_STATION, 9)
    click_at(page, *SJZ_STATION)
    popup = page.locator(".maplibregl-popup .station-popup")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "石家庄 世纪公园" in text and "1001A" in text and "Hebei" in text
    assert "Mean PM2.5, 2019 Q1" in text and "105.3 µg/m³" in text and "88 days" in text
    assert "in its city, used" in text and "Reason" not in text
    page.keyboard.press("Escape")


def test_sparse_hatch_follows_the_quarter(page: Page) -> None:
    _go(page, 111.2, 41.5, 6)
    hatched = (
        "window.lantian.map.queryRenderedFeatures({layers: ['sparse-hatch']})"
        ".map(f => f.properties.quarter)"
    )
    assert set(page.evaluate(hatched)) == {"2019Q1"}
    legend = page.locator("#station-legend").inner_text()
    assert "Interpolated far from stations (> 150 km)" in legend
    page.locator("#toggle-sparse").uncheck()
    page.wait_for_function(f"{hatched}.length === 0", timeout=5_000)
    page.locator("#toggle-sparse").check()


def test_labels_come_in_by_zoom(page: Page) -> None:
    places = ["place-country", "place-county", "place-city", "place-capital", "place-province"]
    _go(page, 115.5, 39.5, 3.5)
    national = page.evaluate(TEXTS, places)
    assert "Hebei" in national and "Tangshan" not in national and "Caofeidian" not in national
    _go(page, 116.5, 39.0, 7)
    regional = page.evaluate(TEXTS, places)
    assert {"Shijiazhuang", "Beijing", "Tangshan"} <= set(regional) and "Caofeidian" not in regional
    _go(page, 118.5, 39.15, 9)
    assert "Caofeidian" in page.evaluate(TEXTS, places)
    page.locator("#toggle-boundaries").uncheck()
    page.wait_for_function(f"({TEXTS})({places!r}).length === 0", timeout=5_000)
    page.locator("#toggle-boundaries").check()


def test_every_plant_at_every_zoom(page: Page) -> None:
    _go(page, 116.5, 37.5, 2)
    ids = page.evaluate(
        "[...new Set(window.lantian.map.queryRenderedFeatures({layers: ['enterprises', 'cited']})"
        ".map(f => f.properties.id))]"
    )
    assert len(ids) == 6  # no clusters: each plant its own symbol
    layers = page.evaluate("window.lantian.map.getStyle().layers.map(l => l.id)")
    assert not [layer for layer in layers if "cluster" in layer]


def test_plant_names_at_high_zoom(page: Page) -> None:
    names = "['enterprises-label', 'cited-label']"
    _go(page, 118.45, 39.0, 10)
    assert page.evaluate(f"({TEXTS})({names})") == []
    _go(page, 118.45, 39.0, 11.5)
    assert "Shougang Jingtang Iron and Steel" in page.evaluate(f"({TEXTS})({names})")
    page.locator("#lang-toggle").click()
    page.wait_for_function(f"({TEXTS})({names}).includes('首钢京唐钢铁')", timeout=10_000)
    page.locator("#lang-toggle").click()
    page.wait_for_function("document.documentElement.lang === 'en'")


def test_release_without_map_layers(browser: Browser, tmp_path_factory) -> None:
    """An older release (no basemap, stations or sparse layers) still opens, without them."""
    data_dir = tmp_path_factory.mktemp("plain")
    builder.build_release(data_dir)
    with running_server(data_dir) as url:
        page = browser.new_page(locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/#z=6&lon=116&lat=38.5")
        page.wait_for_function(READY, timeout=20_000)
        layers = page.evaluate("window.lantian.map.getStyle().layers.map(l => l.id)")
        assert "stations" not in layers and "sparse-hatch" not in layers
        assert "place-city" not in layers and "province-line" in layers  # old boundaries: lines
        assert page.locator("#toggle-stations").is_hidden()
        assert page.locator("#station-legend").inner_text() == ""
        assert errors == []
        page.close()
