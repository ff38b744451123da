"""Months, quarters and years on the map; the city panel; the rankings — in headless Chromium
against the fixture release with month and year archives and statistics (all synthetic)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
CITY_READY = "#city-body[aria-busy='false'] .city-series"
CARD_READY = "#card-body[aria-busy='false'] .card-section"
SHIJIAZHUANG = (114.0, 37.7)  # inside its polygon, away from its station and labels
SHOUGANG = "gem:P100000120001"


def _open(
    browser: Browser, url: str, ready: str = "#legend .item", **options: Any
) -> tuple[Page, dict[str, list[Any]]]:
    seen: dict[str, list[Any]] = {"errors": [], "responses": []}
    page = browser.new_page(**({"viewport": {"width": 1280, "height": 800}} | options))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("response", lambda r: seen["responses"].append((r.url, r.status)))
    page.goto(url, wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_selector(ready)
    return page, seen


def _archive(seen: dict[str, list[Any]], name: str) -> list[int]:
    return [status for url, status in seen["responses"] if f"/pmtiles/{name}.pmtiles" in url]


def _raster_url(page: Page) -> str:
    return str(page.evaluate("window.lantian.map.getSource('pm25').url"))


@pytest.fixture()
def month_page(browser: Browser, period_server: str) -> Iterator[tuple[Page, dict[str, list[Any]]]]:
    page, seen = _open(browser, f"{period_server}/#period=2019-01&z=6&lon=115.5&lat=38.5")
    yield page, seen
    page.close()


def test_granularity_switch_changes_the_raster_archive(
    browser: Browser, period_server: str
) -> None:
    page, seen = _open(browser, f"{period_server}/#z=5&lon=116&lat=38.5")
    assert page.locator("input[name='period-type'][value='quarter']").is_checked()
    assert page.locator("#quarter-label").inner_text() == "2019 Q1"
    assert not _archive(seen, "pm25_2019-01")

    page.locator("label:has(input[value='month'])").click()
    page.wait_for_function("location.hash.includes('period=2019-01')", timeout=5_000)
    page.wait_for_function(READY, timeout=20_000)
    assert "pm25_2019-01.pmtiles" in _raster_url(page)
    assert set(_archive(seen, "pm25_2019-01")) <= {200, 206} and _archive(seen, "pm25_2019-01")
    assert page.locator("#quarter-label").inner_text() == "January 2019"
    assert page.locator("#quarter").get_attribute("max") == "11"  # twelve months
    # a month shows the plant facts of its quarter, and says so
    page.locator("#quarter").fill("4")  # May 2019
    page.wait_for_function("location.hash.includes('period=2019-05')", timeout=5_000)
    assert page.evaluate("window.lantian.state.quarter") == "2019Q2"
    assert "2019 Q2" in page.locator("#plant-legend h3").inner_text()

    page.locator("label:has(input[value='year'])").click()
    page.wait_for_function("location.hash.includes('period=2019&')", timeout=5_000)
    page.wait_for_function(READY, timeout=20_000)
    assert "pm25_2019.pmtiles" in _raster_url(page)
    assert page.locator("#quarter-label").inner_text() == "2019"
    assert page.evaluate("window.lantian.state.quarter") == "2019Q2"  # the year's last quarter

    page.locator("label:has(input[value='quarter'])").click()  # back where it was: May's quarter
    page.wait_for_function("location.hash.includes('period=2019Q2')", timeout=5_000)
    assert "pm25_2019Q2.pmtiles" in _raster_url(page)

    page.locator("#lang-toggle").click()
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.locator("#quarter-label").inner_text() == "2019年第二季度"
    page.locator("label:has(input[value='month'])").click()
    page.wait_for_function("location.hash.includes('period=2019-05')", timeout=5_000)  # remembered
    assert page.locator("#quarter-label").inner_text() == "2019年5月"
    page.locator("label:has(input[value='year'])").click()
    page.wait_for_function("location.hash.includes('period=2019&')", timeout=5_000)
    assert page.locator("#quarter-label").inner_text() == "2019年"
    assert seen["errors"] == []
    page.close()


def test_quarter_only_links_keep_working(browser: Browser, period_server: str) -> None:
    page, seen = _open(browser, f"{period_server}/#q=2019Q2&z=5&lon=116&lat=38.5")
    assert page.locator("#quarter-label").inner_text() == "2019 Q2"
    assert "pm25_2019Q2.pmtiles" in _raster_url(page)
    assert "period=2019Q2" in page.evaluate("location.hash")
    assert seen["errors"] == []
    page.close()


def test_clicking_a_city_opens_its_panel(month_page, click_at: Callable[..., None]) -> None:
    page, seen = month_page
    click_at(page, *SHIJIAZHUANG)
    page.wait_for_selector(CITY_READY, timeout=10_000)
    assert page.locator("#city-title").inner_text() == "Shijiazhuang"
    assert "Hebei" in page.locator("#city-subtitle").inner_text()
    text = page.locator("#city-body").inner_text()
    assert "January 2019" in text and "112.0 µg/m³" in text
    assert "1 of 6 cities nationally" in text and "1 of 4 in 2+26 cities" in text
    assert page.locator("#city svg.series circle.point").count() == 12  # the months of 2019
    assert page.locator("#city svg.series line.limit").count() == 2  # 35 and 75
    # the table alternative: one row a month, reachable without the chart
    assert page.locator("#city .series-table tbody tr").count() == 12
    assert page.locator("#city .stations tbody tr").count() == 1
    assert "1001A" in page.locator("#city .stations").inner_text()
    hrefs = [a.get_attribute("href") or "" for a in page.locator("#city-body a").all()]
    assert any("/chart.svg" in h and "lang=en" in h for h in hrefs)
    assert any("/chart.png" in h for h in hrefs)
    assert any(h.endswith("/feeds/cities/130100.atom") for h in hrefs)
    assert "city=130100" in page.evaluate("location.hash")
    assert "130100" in str(page.evaluate("window.lantian.map.getFilter('city-selected')"))
    # the panel follows the slider
    page.locator("#quarter").fill("6")  # July 2019
    page.wait_for_function(
        "document.querySelector('#city-body').textContent.includes('July 2019')", timeout=10_000
    )
    page.keyboard.press("Escape")
    assert page.locator("#city").is_hidden()
    assert "city=" not in page.evaluate("location.hash")
    assert seen["errors"] == []


def test_plants_and_stations_win_over_the_city(month_page, click_at: Callable[..., None]) -> None:
    page, seen = month_page
    page.evaluate("window.lantian.map.jumpTo({center: [118.45, 39.0], zoom: 7})")
    page.wait_for_function(
        "window.lantian.map.areTilesLoaded() && window.lantian.map.queryRenderedFeatures("
        f"{{layers: ['enterprises', 'cited']}}).some(f => f.properties.id === '{SHOUGANG}')",
        timeout=20_000,
    )
    click_at(page, 118.45, 39.0)  # a plant inside Tangshan's polygon
    page.wait_for_selector(CARD_READY, timeout=10_000)
    assert page.locator("#city").is_hidden()
    page.keyboard.press("Escape")
    page.evaluate("window.lantian.map.jumpTo({center: [114.53, 38.02], zoom: 7})")
    page.wait_for_function(READY, timeout=20_000)
    click_at(page, 114.53, 38.02)  # station 1001A inside Shijiazhuang
    page.wait_for_selector(".maplibregl-popup .station-popup")
    assert page.locator("#city").is_hidden()
    assert seen["errors"] == []


def test_a_plant_of_the_city_opens_its_card_over_the_panel(month_page) -> None:
    page, seen = month_page
    page.evaluate("window.lantian.openCity('130200')")
    page.wait_for_selector(CITY_READY, timeout=10_000)
    assert page.locator("#city-title").inner_text() == "Tangshan"
    plants = page.locator("#city .city-plants button.choice")
    assert plants.count() == 2
    page.locator("#city .city-plants button.choice", has_text="Shougang").click()
    page.wait_for_selector(CARD_READY, timeout=10_000)
    assert page.locator("#card-title").inner_text() == "Shougang Jingtang Iron and Steel"
    assert page.locator("#city").is_hidden()  # covered by the card
    page.keyboard.press("Escape")
    assert page.locator("#city").is_visible()
    page.wait_for_function("document.activeElement.closest('#city') !== null")
    assert seen["errors"] == []


def test_city_permalink_restores_the_panel_in_chinese(browser: Browser, period_server: str) -> None:
    page, seen = _open(browser, f"{period_server}/?city=130200&period=2019-07&lang=zh")
    page.wait_for_selector(CITY_READY, timeout=10_000)
    assert page.locator("#city-title").inner_text() == "唐山"
    assert page.locator("#quarter-label").inner_text() == "2019年7月"
    assert page.locator("input[name='period-type'][value='month']").is_checked()
    text = page.locator("#city-body").inner_text()
    assert "2019年7月" in text and "数据不完整" in text  # July has too few valid days
    invalid = page.locator("#city svg.series circle.point.invalid")
    assert invalid.count() == 1 and invalid.get_attribute("data-period") == "2019-07"
    assert "全国 6 个城市中第" in text
    # the permalink moved into the hash; the link the panel gives is the short form again
    assert "city" not in parse_qs(urlsplit(page.url).query)
    assert "city=130200" in page.evaluate("location.hash")
    page.locator("#city-link-button").click()
    link = page.locator("#city-link-field").input_value()
    query = parse_qs(urlsplit(link).query)
    assert query["city"] == ["130200"] and query["period"] == ["2019-07"]
    assert query["lang"] == ["zh"]
    assert seen["errors"] == []
    page.close()


def test_search_finds_a_city(month_page) -> None:
    page, seen = month_page
    page.locator("#search").fill("Shijia")
    choice = page.locator("#search-results .city-choice")
    choice.first.wait_for(timeout=5_000)
    assert "Shijiazhuang" in choice.first.inner_text()
    choice.first.click()
    page.wait_for_selector(CITY_READY, timeout=10_000)
    assert page.locator("#city-title").inner_text() == "Shijiazhuang"
    assert seen["errors"] == []


def _rank_rows(page: Page) -> list[str]:
    return [row.get_attribute("data-adcode") or "" for row in page.locator("#rank-body tr").all()]


def test_rankings_sort_link_csv_and_open_a_city(month_page, period_server: str) -> None:
    page, seen = month_page
    page.locator("#rank-open").click()
    page.wait_for_function("document.querySelector('#rank-dialog').open")
    page.wait_for_selector("#rank-body tr")
    assert page.locator("#rank-period").input_value() == "2019-01"
    assert page.locator("#rank-group").input_value() == "national"
    assert _rank_rows(page)[:2] == ["130100", "130200"]  # highest PM2.5 first
    level = page.locator("#rank-head th[aria-sort='descending']")
    assert level.count() == 1 and "PM2.5" in level.inner_text()
    rizhao = page.locator("#rank-body tr[data-adcode='371100']")
    assert "not available" in rizhao.inner_text()  # no 2018-01 for Rizhao: never 0 or blank

    page.locator("#rank-head button[data-sort='change_year']").click()
    year = page.locator("#rank-head button[data-sort='change_year']").locator("xpath=..")
    assert year.get_attribute("aria-sort") == "descending"
    assert page.locator("#rank-head th[aria-sort='none']").count() == 2
    rows = _rank_rows(page)
    assert rows[-1] == "371100"  # "not available" last
    page.locator("#rank-head button[data-sort='change_year']").click()
    assert year.get_attribute("aria-sort") == "ascending"
    assert _rank_rows(page)[-1] == "371100"
    assert _rank_rows(page)[:-1] == list(reversed(rows[:-1]))
    csv = page.locator("#rank-csv").get_attribute("href") or ""
    query = parse_qs(urlsplit(csv).query)
    assert query["format"] == ["csv"] and query["sort"] == ["change_year"]
    assert query["order"] == ["asc"] and query["period"] == ["2019-01"]
    body = page.request.get(f"{period_server}{csv}")
    assert body.ok and "not available" in body.text()

    page.locator("#rank-group").select_option("2+26")
    page.wait_for_function("document.querySelectorAll('#rank-body tr').length === 4")
    page.locator("#rank-period").select_option("2019Q1")
    page.wait_for_function("document.querySelector('#rank-status').textContent.includes('2019 Q1')")
    page.locator("#rank-body tr[data-adcode='120100'] button.city-link").click()
    assert not page.evaluate("document.querySelector('#rank-dialog').open")
    page.wait_for_selector(CITY_READY, timeout=10_000)
    assert page.locator("#city-title").inner_text() == "Tianjin"
    assert page.evaluate("location.hash").startswith("#period=2019Q1")  # the map follows
    assert seen["errors"] == []


def test_rankings_in_chinese(browser: Browser, period_server: str) -> None:
    page, seen = _open(browser, f"{period_server}/?lang=zh#period=2019-01&z=6&lon=115.5&lat=38.5")
    page.locator("#rank-open").click()
    page.wait_for_selector("#rank-body tr")
    assert page.locator("#rank-heading").inner_text() == "城市排名"
    assert "无可比数据" in page.locator("#rank-body tr[data-adcode='371100']").inner_text()
    assert "石家庄" in page.locator("#rank-body tr").first.inner_text()
    assert "2019年1月" in page.locator("#rank-status").inner_text()
    page.keyboard.press("Escape")
    assert not page.evaluate("document.querySelector('#rank-dialog').open")
    assert page.evaluate("document.activeElement.id") == "rank-open"  # focus back on the opener
    assert seen["errors"] == []
    page.close()


def test_a_phone_shows_the_period_and_scale_over_the_map(
    browser: Browser, period_server: str
) -> None:
    """The panel (with the legend and the slider) is folded on a phone: a key on the map names
    the period shown over the scale's classes, follows the slider and the language, and hides
    while the panel is open."""
    page, seen = _open(browser, f"{period_server}/#period=2019-01&z=5&lon=116&lat=38.5",
                       viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                       ready="#map-key-scale span")  # fmt: skip
    key = page.locator("#map-key")
    assert key.is_visible()
    assert page.locator("#map-key-title").inner_text() == "PM2.5, January 2019 (µg/m³)"
    scale = page.request.get(f"{period_server}/api/colormaps/pm25").json()
    steps = page.locator("#map-key-scale span")
    assert steps.all_inner_texts() == [f"{c['lower']:g}" for c in scale["classes"]]
    colours = steps.evaluate_all("spans => spans.map(s => getComputedStyle(s).borderTopColor)")
    assert colours == [
        "rgb({}, {}, {})".format(*(int(c["color"][i:i + 2], 16) for i in (1, 3, 5)))
        for c in scale["classes"]
    ]
    page.locator("#panel-toggle").click()
    assert not key.is_visible()  # the panel holds the full legend
    page.locator("label:has(input[value='quarter'])").click()
    page.locator("#panel-toggle").click()
    assert key.is_visible()
    assert page.locator("#map-key-title").inner_text() == "PM2.5, 2019 Q1 (µg/m³)"
    page.locator("#lang-toggle").click()
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.locator("#map-key-title").inner_text() == "2019年第一季度 PM2.5（µg/m³）"
    page.locator("#panel-toggle").click()
    page.locator("#toggle-pm25").uncheck()  # no PM2.5 drawn: no scale for it
    page.locator("#panel-toggle").click()
    assert key.is_visible() and not page.locator("#map-key-scale").is_visible()
    page.close()
    desktop, _ = _open(browser, f"{period_server}/#period=2019-01")
    assert not desktop.locator("#map-key").is_visible()  # the legend is in the open panel
    desktop.close()
    assert seen["errors"] == []


def test_download_what_i_see_of_a_month_gives_the_months_grid_and_plants(
    month_page, period_server: str
) -> None:
    page, seen = month_page
    page.locator("#download-open").click()
    page.wait_for_function("document.querySelector('#download-dialog').open")
    grid = page.locator("#download-pm25")
    assert grid.is_visible()
    query = parse_qs(urlsplit(grid.get_attribute("href") or "").query)
    assert query["period"] == ["2019-01"] and "quarter" not in query
    assert "January 2019" in page.locator("#download-pm25-note").inner_text()
    zip_url = page.locator("#download-zip a").first.get_attribute("href") or ""
    zip_query = parse_qs(urlsplit(zip_url).query)
    assert zip_query["period"] == ["2019-01"] and zip_query["quarter"] == ["2019Q1"]
    response = page.request.get(f"{period_server}{grid.get_attribute('href')}")
    assert response.ok and 'pm25-2019-01.tif"' in response.headers["content-disposition"]
    summary = page.locator("#download-summary").inner_text()
    assert "January 2019" in summary and "2019 Q1" in summary  # the period and the facts' quarter
    assert seen["errors"] == []
