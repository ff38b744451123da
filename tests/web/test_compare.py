"""Compare two periods in Chromium on the fixture release (synthetic): the swipe between 2019Q1
and 2019Q2 on two synced maps (@maplibre/maplibre-gl-compare, vendored), the difference layer
B − A with its legend, the URL state, a phone in Chinese, and the swipe in a linked embed.

The fixture's PM2.5 at SPOT (in Shanxi, away from lines and labels) is 130.8 µg/m³ in 2019Q1
(class 115–150, red) and 50.8 in 2019Q2 (35–75, yellow); B − A is −80 everywhere (the first,
darkest blue class)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("LANTIAN_SHOTS", "/tmp"))
SPOT = (113.2, 36.6)
DIFF_SPOT = (117.5, 37.6)  # clear of the legend, lines and labels
VIEW = "#z=5.5&lon=116&lat=38.5"
READY = (
    "(() => { const c = window.lantian && window.lantian.compare; const m = c && c.maps();"
    " return !!(m && c.state.open && m.a.loaded() && m.b.loaded() && m.a.areTilesLoaded()"
    " && m.b.areTilesLoaded()); })()"
)
DIFF_READY = (
    "(() => { const m = window.lantian.compare.maps(); return !!(m.b.getLayer('compare-diff')"
    " && m.b.isSourceLoaded('compare-diff') && m.b.loaded() && m.b.areTilesLoaded()); })()"
)


def _watch(page: Page, base: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"errors": [], "external": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((base, "blob:", "data:"))
            else seen["external"].append(r.url))  # fmt: skip
    return seen


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[tuple[Page, dict[str, list[str]]]]:
    page = browser.new_page(viewport={"width": 1100, "height": 750}, locale="en-US")
    seen = _watch(page, live_server)
    page.goto(f"{live_server}/?compare=2019Q1,2019Q2{VIEW}", wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    yield page, seen
    assert seen == {"errors": [], "external": []}
    page.close()


def _on_compare(page: Page, lon: float, lat: float) -> tuple[float, float]:
    x, y = page.evaluate(
        "([lon, lat]) => { const m = window.lantian.compare.maps().b;"
        " const p = m.project([lon, lat]); const r = m.getCanvas().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }",
        [lon, lat],
    )
    return float(x), float(y)


def _pixel(page: Page, x: float, y: float) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    r, g, b = image.getpixel((round(x), round(y)))  # type: ignore[misc]
    return int(r), int(g), int(b)


def _swipe_x(page: Page) -> float:
    return float(page.evaluate("window.lantian.compare.swipe().currentPosition"))


def _drag_swiper_to(page: Page, x: float) -> None:
    box = page.locator(".compare-swiper-vertical").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)


def test_swipe_shows_two_periods_on_two_maps_and_the_slider_moves(page) -> None:
    page, _ = page
    assert page.locator("#compare").is_visible()
    for side in ("a", "b"):
        assert page.locator(f"#compare-map-{side} canvas").is_visible()
    sources = page.evaluate("(() => { const m = window.lantian.compare.maps();"
                            " return [m.a.getSource('compare-pm25').url,"
                            " m.b.getSource('compare-pm25').url]; })()")  # fmt: skip
    assert "pm25_2019Q1" in sources[0] and "pm25_2019Q2" in sources[1]
    assert "compare=2019Q1,2019Q2" in page.evaluate("location.search")
    assert page.locator("#compare-a").input_value() == "2019Q1"
    assert page.locator("#compare-b").input_value() == "2019Q2"

    x, y = _on_compare(page, *SPOT)
    _drag_swiper_to(page, x + 120)  # the spot left of the divider: period A
    assert abs(_swipe_x(page) - (x + 120)) < 3
    clip = page.evaluate("document.getElementById('compare-map-a').style.clip")
    assert f"{round(_swipe_x(page))}px" in clip.replace(".5px", "px")
    red = _pixel(page, x, y)
    assert red[0] > 200 and red[1] < 110, red  # 115–150 over the land
    page.screenshot(path=str(SHOTS / "compare-swipe-a.png"))

    _drag_swiper_to(page, x - 120)  # now right of it: period B
    assert abs(_swipe_x(page) - (x - 120)) < 3
    yellow = _pixel(page, x, y)
    assert yellow[0] > 200 and yellow[1] > 200 and yellow[2] < 120, yellow  # 35–75

    # the two maps move together
    page.evaluate("window.lantian.compare.maps().b.jumpTo({center: [115, 38], zoom: 6})")
    centre = page.evaluate("(() => { const a = window.lantian.compare.maps().a;"
                           " const c = a.getCenter(); return [c.lng, c.lat, a.getZoom()]; })()")
    assert [round(v, 3) for v in centre] == [115, 38, 6]

    # the keyboard moves the swipe too, and says where it is
    handle = page.locator(".compare-swiper-vertical")
    before = _swipe_x(page)
    handle.focus()
    page.keyboard.press("ArrowRight")
    width = page.evaluate("document.getElementById('compare-map-b').getBoundingClientRect().width")
    assert abs(_swipe_x(page) - (before + 0.05 * width)) < 1
    assert handle.get_attribute("role") == "slider"
    assert "2019 Q1" in (handle.get_attribute("aria-valuetext") or "")


def test_difference_layer_has_its_own_legend_and_the_url_keeps_it(page) -> None:
    page, _ = page
    page.locator("#compare-diff").check()
    page.wait_for_function(DIFF_READY, timeout=20_000)
    page.wait_for_timeout(300)
    assert "diff=1" in page.evaluate("location.search")
    assert page.locator("#compare-map-a").is_hidden()
    tiles = page.evaluate("window.lantian.compare.maps().b.getSource('compare-diff').tiles[0]")
    assert "/tiles/pm25-diff/2019Q1/2019Q2/{z}/{x}/{y}.png" in tiles
    legend = page.locator("#compare-legend")
    assert legend.is_visible()
    assert legend.locator(".item").count() == 9
    assert "Change in PM2.5, 2019 Q2 − 2019 Q1" in legend.inner_text()
    x, y = _on_compare(page, *DIFF_SPOT)
    r, g, b = _pixel(page, x, y)
    assert b > r + 60 and b > 150, (r, g, b)  # −80: the darkest blue
    page.screenshot(path=str(SHOTS / "compare-diff-en.png"))

    # reload: the URL restores the difference
    page.reload(wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function(DIFF_READY, timeout=20_000)
    assert page.locator("#compare-diff").is_checked()

    page.locator("#compare-close").click()
    assert page.locator("#compare").is_hidden()
    assert "compare=" not in page.evaluate("location.search")
    assert page.locator("#compare-toggle").get_attribute("aria-pressed") == "false"


def test_compare_on_a_phone_in_chinese(browser: Browser, live_server: str) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN",
                            is_mobile=True, has_touch=True)  # fmt: skip
    seen = _watch(page, live_server)
    page.goto(f"{live_server}/?lang=zh&compare=2019Q1,2019Q2&diff=1{VIEW}", wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function(DIFF_READY, timeout=20_000)
    page.wait_for_timeout(300)
    bar = page.locator(".compare-bar").bounding_box()
    toggle = page.locator("#panel-toggle").bounding_box()
    legend = page.locator("#compare-legend").bounding_box()
    assert bar and toggle and legend
    assert bar["x"] >= 0 and bar["x"] + bar["width"] <= 390
    assert bar["y"] >= toggle["y"] + toggle["height"]  # under the panel's button
    assert legend["x"] + legend["width"] <= 390 and legend["y"] + legend["height"] <= 844
    assert page.locator("#compare-a option:checked").inner_text() == "2019年第一季度"
    assert "PM2.5变化" in page.locator("#compare-legend").inner_text()
    assert page.locator("#compare-diff + span").inner_text() == "差值 B − A"
    page.screenshot(path=str(SHOTS / "compare-diff-zh-phone.png"))
    page.locator("#compare-diff").uncheck()
    page.wait_for_function(READY, timeout=20_000)
    size = page.evaluate("(() => { const r = document.getElementById('compare-map-a')"
                         ".getBoundingClientRect(); return [r.width, r.height]; })()")  # fmt: skip
    assert size[0] == 390 and size[1] > 600
    page.screenshot(path=str(SHOTS / "compare-swipe-zh-phone.png"))
    assert seen == {"errors": [], "external": []}
    page.close()


def test_linked_embed_swipes_between_two_periods(browser: Browser, live_server: str) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 560})
    seen = _watch(page, live_server)
    page.goto(f"{live_server}/embed?bbox=113.4,36,119.9,42.6&compare=2019Q1,2019Q2&lang=en")
    page.wait_for_function("window.lantianEmbed && window.lantianEmbed.ready"
                           " && window.lantianEmbed.sides && window.lantianEmbed.sides[1]"
                           " && window.lantianEmbed.sides[1].getMaplibreMap()"
                           " && window.lantianEmbed.sides[1].getMaplibreMap().loaded()",
                           timeout=20_000)  # fmt: skip
    range_ = page.locator(".leaflet-sbs-range")
    assert range_.get_attribute("aria-label") == "Swipe between 2019 Q1 (left) and 2019 Q2 (right)"
    clip = "document.querySelector('.leaflet-lt-side-a-pane').style.clip"
    page.evaluate("(() => { const r = document.querySelector('.leaflet-sbs-range');"
                  " r.value = 0.25; r.dispatchEvent(new Event('input')); })()")  # fmt: skip
    quarter = page.evaluate(clip)
    page.evaluate("(() => { const r = document.querySelector('.leaflet-sbs-range');"
                  " r.value = 0.75; r.dispatchEvent(new Event('input')); })()")  # fmt: skip
    three_quarters = page.evaluate(clip)
    assert quarter.startswith("rect(") and quarter != three_quarters
    top, right, bottom, left = (float(v.strip().removesuffix("px"))
                                for v in quarter[5:-1].split(","))  # fmt: skip
    # the plugin's position: a quarter of the width, shifted by its thumb (42 px) towards the middle
    assert abs((right - left) - (0.25 * 800 + 0.25 * 42)) < 2 and bottom - top == 560
    page.screenshot(path=str(SHOTS / "compare-embed-linked.png"))
    assert seen == {"errors": [], "external": []}
    page.close()
