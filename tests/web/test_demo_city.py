"""The real 2019 demo in headless Chromium, in Chinese and in English: the January 2019 monthly
map, Shijiazhuang's panel (twelve monthly points and its rank) opened by a click on its polygon,
and the rankings table of January 2019. Screenshots (desktop and phone) go to /tmp."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
CITY_READY = "#city-body[aria-busy='false'] .city-series"
SHIJIAZHUANG = "130100"
VIEW = "#period=2019-01&z=7&lon=114.6&lat=38.2"
# Inside Shijiazhuang's polygon, west of the city: no plant, station or cluster drawn there at z7.
CLICK = (113.85, 38.45)
TEXT = {
    "en": {"month": "January 2019", "city": "Shijiazhuang", "rank": r"\d+ of \d+ cities nationally",
           "rankings": "City rankings", "none": "not available"},
    "zh": {"month": "2019年1月", "city": "石家庄", "rank": r"全国 \d+ 个城市中第 \d+ 位",
           "rankings": "城市排名", "none": "无可比数据"},
}  # fmt: skip
SIZES: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 800},
                                  "phone": {"width": 390, "height": 844}}


def _open(browser: Browser, url: str, size: str) -> tuple[Page, list[str]]:
    errors: list[str] = []
    phone = size == "phone"
    page = browser.new_page(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.wait_for_function(READY, timeout=30_000)
    page.wait_for_selector("#legend .item", state="attached")  # in the folded panel on a phone
    return page, errors


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_january_map_shijiazhuang_panel_and_rankings(
    browser: Browser, demo_server: str, click_at: Callable[..., None], lang: str, size: str
) -> None:
    text = TEXT[lang]
    page, errors = _open(browser, f"{demo_server}/?lang={lang}{VIEW}", size)
    assert page.locator("input[name='period-type'][value='month']").is_checked()
    assert page.locator("#quarter-label").inner_text() == text["month"]
    assert "/pm25_2019-01.pmtiles" in page.evaluate("window.lantian.map.getSource('pm25').url")
    page.screenshot(path=f"/tmp/lantian-demo-month-{lang}-{size}.png")

    click_at(page, *CLICK)
    page.wait_for_selector(CITY_READY, timeout=15_000)
    assert page.locator("#city-title").inner_text() == text["city"]
    assert f"city={SHIJIAZHUANG}" in page.evaluate("location.hash")
    points = page.locator("#city svg.series circle.point")
    assert points.count() == 12
    assert [points.nth(i).get_attribute("data-period") for i in (0, 11)] == ["2019-01", "2019-12"]
    body = page.locator("#city-body").inner_text()
    assert re.search(text["rank"], body), body
    assert text["none"] in body  # the demo has one year: no change on a year before
    page.wait_for_timeout(500)
    page.screenshot(path=f"/tmp/lantian-demo-city-{lang}-{size}.png")

    page.keyboard.press("Escape")
    if size == "phone":
        page.locator("#panel-toggle").click()
    page.locator("#rank-open").click()
    page.wait_for_selector("#rank-body tr")
    assert page.locator("#rank-heading").inner_text() == text["rankings"]
    assert page.locator("#rank-period").input_value() == "2019-01"
    rows = page.locator("#rank-body tr")
    assert rows.count() > 100
    assert text["month"] in page.locator("#rank-status").inner_text()
    row = page.locator(f"#rank-body tr[data-adcode='{SHIJIAZHUANG}']")
    assert text["city"] in row.inner_text() and text["none"] in row.inner_text()
    first = [float(rows.nth(i).locator("td").nth(1).inner_text().split()[0]) for i in range(5)]
    assert first == sorted(first, reverse=True)
    page.screenshot(path=f"/tmp/lantian-demo-rankings-{lang}-{size}.png")
    assert errors == []
    page.close()
