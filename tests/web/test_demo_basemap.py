"""The real demo release's basemap, clipped PM2.5 and stations in headless Chromium, in Chinese
and English (issue 12's browser checks), and the screenshots of its three views."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
PLACES = ["place-country", "place-china", "place-county", "place-city", "place-capital",
          "place-province"]  # fmt: skip
LABELS = (
    "(layers) => window.lantian.map.queryRenderedFeatures({layers}).map(f => ["
    "f.layer.layout['text-field'].sections.map(s => s.text).join(''), f.geometry.coordinates])"
)
HEBEI = (113.4, 36.0, 119.9, 42.7)  # lon/lat box around the province
SEA = (124.0, 29.0)  # the East China Sea, east of Zhejiang
MONGOLIA = (105.0, 45.0)
SHIJIAZHUANG = (114.5, 38.04)
VIEWS = {"china": (104.5, 35.5, 3.5), "hebei": (115.5, 38.5, 7.0), "handan": (114.5, 36.6, 10.0)}


def _open(browser: Browser, url: str, **options) -> tuple[Page, list[str], list[str]]:
    errors: list[str] = []
    external: list[str] = []
    origin = "/".join(url.split("/", 3)[:3])
    page = browser.new_page(**options)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((origin, "blob:", "data:")) else external.append(r.url),
    )
    page.goto(url, wait_until="load")
    _settle(page)
    return page, errors, external


def _settle(page: Page) -> None:
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_timeout(600)  # symbol placement and raster fade


@pytest.fixture(scope="module")
def demo_pages(browser: Browser, demo_server: str) -> Iterator[dict[str, Page]]:
    pages = {}
    seen = []
    for lang in ("zh", "en"):
        lon, lat, zoom = VIEWS["hebei"]
        page, errors, external = _open(
            browser, f"{demo_server}/?lang={lang}#q=2019Q1&z={zoom}&lon={lon}&lat={lat}",
            viewport={"width": 1280, "height": 800},
        )  # fmt: skip
        pages[lang] = page
        seen.append((errors, external))
    yield pages
    for page in pages.values():
        page.close()
    assert seen == [([], []), ([], [])]


@pytest.mark.parametrize(("lang", "name"), [("zh", "石家庄"), ("en", "Shijiazhuang")])
def test_shijiazhuang_is_labelled_over_hebei_at_zoom_7(demo_pages, lang: str, name: str) -> None:
    labels = demo_pages[lang].evaluate(LABELS, PLACES)
    found = [lonlat for text, lonlat in labels if text == name]
    assert found, sorted(text for text, _ in labels)
    west, south, east, north = HEBEI
    assert all(west < lon < east and south < lat < north for lon, lat in found)
    other = "Shijiazhuang" if lang == "zh" else "石家庄"
    assert other not in [text for text, _ in labels]


def test_no_pm25_colour_outside_china(demo_pages, pixel_at) -> None:
    """The sea east of Zhejiang and Mongolia look the same with the PM2.5 layer on and off;
    Shijiazhuang, in the same view, does not. One view at z4 holds all three points."""
    page = demo_pages["en"]
    points = {"sea-east-of-zhejiang": (SEA, True), "mongolia": (MONGOLIA, True),
              "shijiazhuang": (SHIJIAZHUANG, False)}
    for overlay in ("#toggle-enterprises", "#toggle-stations", "#toggle-sparse"):
        page.locator(overlay).uncheck()
    try:
        page.evaluate("window.lantian.map.jumpTo({center: [114.5, 37.0], zoom: 4})")
        _settle(page)
        with_pm25 = {name: pixel_at(page, *where) for name, (where, _) in points.items()}
        page.locator("#toggle-pm25").uncheck()
        _settle(page)
        without = {name: pixel_at(page, *where) for name, (where, _) in points.items()}
        page.locator("#toggle-pm25").check()
        for name, (_, same) in points.items():
            assert (with_pm25[name] == without[name]) is same, (name, with_pm25, without)
    finally:
        for overlay in ("#toggle-enterprises", "#toggle-stations", "#toggle-sparse"):
            page.locator(overlay).check()
        lon, lat, zoom = VIEWS["hebei"]
        page.evaluate(f"window.lantian.map.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
        _settle(page)


@pytest.mark.parametrize(
    ("lang", "reason"),
    [("en", "not in 秦皇岛 (河北省)"), ("zh", "不在河北省秦皇岛")],
)
def test_flagged_station_3132a_is_shown_with_its_reason(
    demo_pages, click_at, lang: str, reason: str
) -> None:
    page = demo_pages[lang]
    page.evaluate("window.lantian.map.jumpTo({center: [119.6, 37.03], zoom: 8})")
    _settle(page)
    at = page.evaluate(
        "window.lantian.map.queryRenderedFeatures({layers: ['stations-flagged']})"
        ".filter(f => f.properties.code === '3132A').map(f => f.geometry.coordinates)"
    )
    assert len(at) == 1
    assert abs(at[0][1] - 37.03) < 0.01  # drawn where it is listed, far south of Qinhuangdao
    click_at(page, *at[0])
    popup = page.locator(".maplibregl-popup .station-popup")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert "3132A" in text and "文明里" in text and reason in text
    page.keyboard.press("Escape")
    lon, lat, zoom = VIEWS["hebei"]
    page.evaluate(f"window.lantian.map.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    _settle(page)


@pytest.mark.parametrize(("locale", "size"), [("zh-CN", (1280, 800)), ("en-US", (390, 844))],
                         ids=["desktop-zh-CN", "phone-en-US"])
def test_screenshots_of_the_three_views(
    browser: Browser, demo_server: str, locale: str, size: tuple[int, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    """China, Hebei and Handan as a reader first sees them; saved for a person to look at."""
    shots = Path(tmp_path_factory.getbasetemp()) / "demo-basemap-shots"
    shots.mkdir(exist_ok=True)
    width, height = size
    page, errors, external = _open(
        browser, f"{demo_server}/", locale=locale, viewport={"width": width, "height": height}
    )
    for view, (lon, lat, zoom) in VIEWS.items():
        page.evaluate(f"window.lantian.map.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
        _settle(page)
        assert page.evaluate(LABELS, PLACES), view  # place names at every view
        page.screenshot(path=str(shots / f"{view}-{locale}-{width}.png"))
    print(f"screenshots: {shots}")
    page.close()
    assert errors == [] and external == []


@pytest.mark.parametrize(("lang", "title", "credit"), [
    ("zh", "华北 2019：逐月、季、年 PM2.5 与重工业——钢铁、焦化、水泥、燃煤电厂、化工",
     "中国环境监测总站"),
    ("en", "North China 2019: PM2.5 by month, quarter and year, and the heavy industry: steel, "
           "coking, cement, coal power and chemicals",
     "China National Environmental Monitoring Centre"),
])
def test_release_title_and_credits_follow_the_language(
    demo_pages, lang: str, title: str, credit: str
) -> None:
    page = demo_pages[lang]
    assert page.locator("#title").inner_text() == title
    assert credit in page.locator(".maplibregl-ctrl-attrib").inner_text()
