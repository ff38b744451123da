"""The map page in Chinese and English: the language from ?lang, else the browser's; a toggle
that switches every text without losing the view; permalinks and embed URLs that keep it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SHOUGANG = "gem:P100000120001"
VIEW = "#q=2019Q1&z=7.00&lon=115.5000&lat=38.5000"
READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
CARD_READY = "#card-body[aria-busy='false'] .card-section"
LABELS = (
    "(layers) => window.lantian.map.queryRenderedFeatures({layers})"
    ".map(f => f.layer.layout['text-field'].sections.map(s => s.text).join(''))"
)
CAMERA = "[window.lantian.map.getCenter().toArray(), window.lantian.map.getZoom()]"
PLACES = ["place-country", "place-county", "place-city", "place-capital", "place-province"]
# Latin words a Chinese page uses too: units, standards (GB 3095, HJ 633, AQI), formats.
LATIN_OK = {"PM", "API", "WGS", "CEMS", "GB", "HJ", "AQI", "GeoTIFF", "HTML", "PNG", "ZIP", "RSS"}


def _page(browser: Browser, url: str, locale: str = "en-US", **options: Any) -> tuple[Page, dict]:
    seen: dict[str, list[str]] = {"errors": [], "external": []}
    base = url.split("/", 3)[:3]
    origin = "/".join(base)
    page = browser.new_page(locale=locale, **options)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on(
        "request",
        lambda r: None
        if r.url.startswith((origin, "blob:", "data:"))
        else seen["external"].append(r.url),
    )
    page.goto(url, wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_selector("#legend .item")
    page.wait_for_timeout(300)  # labels placed
    return page, seen


def _latin_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_OK}


def _ui_text(page: Page) -> str:
    """What a reader reads in the panel (but the release's own title), the legends and the
    map's buttons (but the language toggle, which names the other language)."""
    return str(
        page.evaluate(
            "() => { const panel = document.querySelector('#panel').cloneNode(true);"
            " panel.querySelector('#title').remove();"
            " return panel.innerText + ' ' + [...document.querySelectorAll("
            "'#panel-toggle, .maplibregl-ctrl button')]"
            ".map(b => (b.innerText || '') + ' ' + (b.getAttribute('aria-label') || ''))"
            ".join(' '); }"
        )
    )


@pytest.fixture(scope="module")
def zh_page(browser: Browser, live_server: str) -> Iterator[tuple[Page, dict]]:
    page, seen = _page(browser, f"{live_server}/?lang=zh{VIEW}", locale="en-US")
    page.locator("#filters summary").click()
    page.wait_for_function("document.querySelectorAll('#f-industry option').length > 1")
    page.wait_for_function("document.querySelector('#filter-count').textContent !== ''")
    yield page, seen
    page.close()


def test_lang_query_beats_the_browser(zh_page) -> None:
    page, seen = zh_page
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("#lang-toggle").inner_text() == "English"
    assert page.locator("#quarter-label").inner_text() == "2019年第一季度"
    assert page.locator("#filter-count").inner_text() == "6 家企业"
    assert "钢铁" in page.locator("#f-industry").inner_text()
    assert "河北省" in page.locator("#f-province").inner_text()
    assert page.locator("label", has_text="有违规记录（截至2019年第一季度的 12 个月）").count() == 1
    assert page.title() == "蓝天 — PM2.5 与工业企业"
    assert seen["external"] == [] and seen["errors"] == []


def test_no_english_left_in_the_chinese_panel_and_legends(zh_page) -> None:
    page, _ = zh_page
    text = _ui_text(page)
    assert "PM2.5（µg/m³）" in text and "距站点较远的插值区域（> 150 公里）" in text
    assert _latin_words(text) == set(), text


def test_no_english_left_in_the_chinese_card(zh_page, click_at) -> None:
    page, _ = zh_page
    page.evaluate(f"window.location.hash = 'q=2018Q4&plant={SHOUGANG}'")
    page.wait_for_selector(CARD_READY, timeout=10_000)
    assert page.locator("#card-title").inner_text() == "首钢京唐钢铁"
    assert page.locator("#card-subtitle").inner_text() == "Shougang Jingtang Iron and Steel"
    labels = page.evaluate(
        "[...document.querySelectorAll('#card h3, #card dt, #card caption, #card th,"
        " #card .badge, #card .warn, #card time, #card-link button')]"
        ".map(n => n.innerText).join(' | ')"
    )
    assert "2018年12月" in labels and "2019年2月1日" in labels  # dates from the formatter
    assert "2018年第四季度" in labels and "违规记录（3）" in labels
    assert _latin_words(labels) == set(), labels
    facts = page.locator("#card .facts").inner_text()
    assert "2018年第四季度有 2 条违规记录，截至该季度末的 12 个月内共 2 条" in facts
    assert "产量+12.5%" in facts
    page.keyboard.press("Escape")


def test_browser_locale_chooses_the_language(browser: Browser, live_server: str) -> None:
    for locale, lang, switch in (("zh-CN", "zh-CN", "English"), ("en-GB", "en", "中文"),
                                 ("fr-FR", "en", "中文")):  # fmt: skip
        page, seen = _page(browser, f"{live_server}/{VIEW}", locale=locale)
        assert page.evaluate("document.documentElement.lang") == lang, locale
        assert page.locator("#lang-toggle").inner_text() == switch, locale
        assert seen["errors"] == []
        page.close()


def test_toggle_switches_every_text_and_keeps_the_view(browser: Browser, live_server: str) -> None:
    page, seen = _page(browser, f"{live_server}/{VIEW}&plant={SHOUGANG}")
    page.wait_for_selector(CARD_READY, timeout=10_000)
    page.evaluate("window.lantian.map.jumpTo({center: [115.5, 38.5], zoom: 7})")
    page.wait_for_function(READY, timeout=20_000)
    before = page.evaluate(CAMERA)
    assert page.evaluate(LABELS, PLACES).count("Shijiazhuang") == 1
    assert page.locator("#card-title").inner_text() == "Shougang Jingtang Iron and Steel"
    english = _ui_text(page)

    page.locator("#lang-toggle").click()
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_function(f"({LABELS})({PLACES!r}).includes('石家庄')", timeout=10_000)
    assert page.evaluate(CAMERA) == before
    assert "lang=zh" in page.evaluate("location.search")
    assert f"plant={SHOUGANG}" in page.evaluate("location.hash")
    assert page.locator("#card-title").inner_text() == "首钢京唐钢铁"
    assert "位置" in page.locator("#card").inner_text()
    page.wait_for_function("document.querySelector('#legend h2').textContent.startsWith('PM2.5（')")
    chinese = _ui_text(page)
    assert _latin_words(chinese) == set(), chinese
    assert "Shijiazhuang" not in page.evaluate(LABELS, PLACES)

    page.locator("#lang-toggle").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_function(f"({LABELS})({PLACES!r}).includes('Shijiazhuang')", timeout=10_000)
    page.wait_for_function("document.querySelector('#legend h2').textContent.startsWith('PM2.5 (')")
    assert _ui_text(page) == english
    assert page.locator("#card-title").inner_text() == "Shougang Jingtang Iron and Steel"
    assert seen["errors"] == [] and seen["external"] == []
    page.close()


def test_permalink_and_embed_urls_keep_the_language(browser: Browser, live_server: str) -> None:
    page, _ = _page(browser, f"{live_server}/?lang=zh{VIEW}")
    page.locator("#share-open").click()
    page.wait_for_function("document.querySelector('#share-dialog').open")
    assert page.locator("#share-heading").inner_text() == "分享或嵌入此视图"
    permalink = page.locator("#share-permalink").input_value()
    assert parse_qs(urlsplit(permalink).query)["lang"] == ["zh"]
    src = re.search(r'<iframe src="([^"]+)"', page.locator("#share-snippet").input_value())
    assert src and "lang=zh" in src.group(1)
    for link in ("#share-standalone", "#share-png"):
        href = page.locator(link).get_attribute("href") or ""
        assert parse_qs(urlsplit(href).query)["lang"] == ["zh"], link
    page.keyboard.press("Escape")
    page.close()

    again, seen = _page(browser, permalink, locale="en-US")  # a reader whose browser is English
    assert again.evaluate("document.documentElement.lang") == "zh-CN"
    assert again.locator("#quarter-label").inner_text() == "2019年第一季度"
    again.evaluate(f"window.location.hash = 'plant={SHOUGANG}'")
    again.wait_for_selector(CARD_READY, timeout=10_000)
    again.locator("#link-button").click()
    link = again.locator("#link-field").input_value()
    assert "lang=zh" in link and f"plant={SHOUGANG}" in link
    assert seen["errors"] == []
    again.close()
