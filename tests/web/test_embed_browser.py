"""Folium embeds in headless Chromium: the standalone file offline, the linked page live, both
with the basemap's place names in Chinese and English and a legend that leaves the map room."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lantian_fixture_release as builder  # registered by tests/conftest.py
import pytest
from playwright.sync_api import Browser, Page, Route

from lantian.server.embeds.routes import embed_map
from lantian.server.embeds.view import EmbedView
from lantian.server.releases.release import open_release

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("LANTIAN_SHOTS", "/tmp"))
EVIL = "</script><script>window.__pwned=1</script>钢"
READY = "window.lantianEmbed && window.lantianEmbed.ready"
# The linked embed's MapLibre layer has drawn every tile of the view.
BASEMAP = ("window.lantianEmbed.basemap && window.lantianEmbed.basemap.getMaplibreMap().loaded()"
           " && window.lantianEmbed.basemap.getMaplibreMap().areTilesLoaded()")
HEBEI = (113.4, 36.0, 119.9, 42.6)
CITIES = {"zh": ("石家庄", "唐山"), "en": ("Shijiazhuang", "Tangshan")}
LEGEND = ("(() => { const l = document.querySelector('.lt-legend').getBoundingClientRect();"
          " return { area: l.width * l.height / (innerWidth * innerHeight),"
          " open: document.querySelector('.lt-legend details').open }; })()")


def _watch(page: Page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"errors": [], "failed": [], "bad": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("requestfailed", lambda r: seen["failed"].append(r.url))
    page.on("response", lambda r: seen["bad"].append(r.url) if r.status >= 400 else None)
    return seen


def _open_popup(page: Page, name: str) -> str:
    """Click the marker titled ``name``; the popup's heading text."""
    page.evaluate(
        "(name) => { const icons = [...document.querySelectorAll('.leaflet-marker-icon')];"
        " icons.find((i) => i.getAttribute('title') === name).click(); }",
        name,
    )
    page.wait_for_function(
        "(name) => [...document.querySelectorAll('.leaflet-popup-content h3')]"
        ".some((h) => h.textContent === name)",
        arg=name,
        timeout=5_000,
    )
    return str(page.locator(".leaflet-popup-content h3").last.text_content())


def test_standalone_opens_offline(browser: Browser, web_release, tmp_path: Path) -> None:
    # Plant 0 is 首钢京唐钢铁, a cited plant.
    release = builder.with_enterprise_name(open_release(web_release.root), 0, EVIL)
    try:
        built = embed_map(release, EmbedView(quarter="2019Q1", bbox=(110.0, 34.0, 122.0, 43.0)))
    finally:
        release.close()
    path = built.save(tmp_path / built.filename)

    context = browser.new_context(viewport={"width": 1100, "height": 750})
    context.set_offline(True)
    aborted: list[str] = []

    def block(route: Route) -> None:
        aborted.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(("file:", "data:")), block)
    page = context.new_page()
    seen = _watch(page)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(READY, timeout=15_000)

    state: dict[str, Any] = page.evaluate(
        "() => ({ markers: window.lantianEmbed.markers,"
        " icons: document.querySelectorAll('.leaflet-marker-icon').length,"
        " overlay: [...document.querySelectorAll('img.leaflet-image-layer')]"
        "   .map((i) => i.complete && i.naturalWidth),"
        " legend: document.querySelectorAll('.lt-legend .lt-sw').length,"
        " title: document.querySelector('.lt-title h1').textContent,"
        " label: window.lantianEmbed.map.getContainer().getAttribute('aria-label'),"
        " described: document.getElementById(window.lantianEmbed.map.getContainer()"
        "   .getAttribute('aria-describedby')).textContent,"
        " meta: document.querySelector('meta[name=description]').content,"
        " attribution: document.querySelector('.leaflet-control-attribution').textContent,"
        " pwned: window.__pwned === 1 })"
    )
    assert state["markers"] == 6 and state["icons"] >= 2
    assert state["overlay"] and state["overlay"][0] > 0
    assert state["legend"] == 7
    assert state["title"] == built.title == state["label"]
    assert built.title == (
        "PM2.5 and plants, 2019 Q1: 6 plants, 2 cited for violations (synthetic data)"
    )
    assert state["described"] == state["meta"] == built.alt
    assert built.alt.startswith("Synthetic data") and "6 plants" in built.alt
    assert "Global Energy Monitor <GEM>" in state["attribution"]
    assert not state["pwned"]

    assert _open_popup(page, EVIL) == EVIL  # shown as text, not run
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "lantian-embed-standalone.png"))
    page.evaluate("window.lantianEmbed.map.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert _open_popup(page, "Taiyuan Coking & Co") == "Taiyuan Coking & Co"
    assert "onerror" in str(page.locator(".leaflet-popup-content").text_content())
    assert page.evaluate("window.__xss") is None and page.evaluate("window.__pwned") is None

    assert aborted == []  # nothing even tried the network
    assert seen["errors"] == [] and seen["failed"] == []
    context.close()


def test_linked_embed_loads_from_the_server(browser: Browser, live_server: str) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    seen = _watch(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server}/embed?quarter=2019Q1&province=Hebei", wait_until="load")
    page.wait_for_function(READY, timeout=15_000)
    page.wait_for_function(BASEMAP, timeout=15_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.lantianEmbed.markers") == 2
    assert page.locator(".leaflet-marker-icon").count() >= 1
    # MapLibre starts its workers from a blob: URL of the page's own origin
    assert [u for u in requests if not u.startswith((live_server, f"blob:{live_server}/"))] == []
    assert any("/tiles/pm25/2019Q1/" in u and "release=" in u for u in requests)
    assert any("/tiles/boundaries/" in u and "release=" in u for u in requests)
    assert any("/embed/markers.json?" in u and "lang=en" in u for u in requests)
    assert seen["failed"] == [] and seen["bad"] == [] and seen["errors"] == []
    name = "Shougang Jingtang Iron and Steel"
    assert _open_popup(page, name) == name
    page.wait_for_timeout(400)  # the popup fades in
    page.screenshot(path=str(SHOTS / "lantian-embed-linked.png"))
    page.close()


def _labels(page: Page, mode: str) -> list[str]:
    """The place names drawn: the standalone embed's label elements, or the names of the
    labels MapLibre placed in the linked embed (in the page's language, by its style)."""
    if mode == "standalone":
        shown = page.evaluate("[...document.querySelectorAll('.lt-label')].map(l => l.textContent)")
        assert shown == page.evaluate("window.lantianEmbed.labels")
        return list(shown)
    return list(page.evaluate(
        "(lang) => window.lantianEmbed.basemap.getMaplibreMap().queryRenderedFeatures()"
        ".filter((f) => f.layer.type === 'symbol').map((f) => f.properties['name_' + lang])",
        page.evaluate("document.documentElement.lang.slice(0, 2)"),
    ))  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("mode", ["standalone", "linked"])
def test_hebei_embeds_show_city_names(
    browser: Browser, web_release, live_server: str, tmp_path: Path, mode: str, lang: str
) -> None:
    view = EmbedView(quarter="2019Q1", province="河北省", bbox=HEBEI)
    if mode == "standalone":
        release = open_release(web_release.root)
        try:
            built = embed_map(release, view, lang=lang)  # type: ignore[arg-type]
        finally:
            release.close()
        url = built.save(tmp_path / built.filename).as_uri()
    else:
        url = (f"{live_server}/embed?quarter=2019Q1&province=Hebei&lang={lang}"
               f"&bbox={','.join(map(str, HEBEI))}")  # fmt: skip
    context = browser.new_context(viewport={"width": 900, "height": 600})
    context.set_offline(mode == "standalone")
    page = context.new_page()
    seen = _watch(page)
    page.goto(url, wait_until="load")
    page.wait_for_function(READY, timeout=15_000)
    if mode == "linked":
        page.wait_for_function(BASEMAP, timeout=15_000)
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
    labels = _labels(page, mode)
    assert set(CITIES[lang]) <= set(labels), labels
    legend = page.evaluate(LEGEND)
    assert legend["open"] and legend["area"] <= 0.25, legend  # a quarter of 900×600 at most
    heading = str(page.locator(".lt-legend summary").text_content())
    assert heading == ("图例" if lang == "zh" else "Legend")
    zoom_in = page.locator(".leaflet-control-zoom-in").get_attribute("title")
    assert zoom_in == ("放大" if lang == "zh" else "Zoom in")
    page.screenshot(path=str(SHOTS / f"lantian-embed-hebei-{mode}-{lang}.png"))
    assert seen["errors"] == [] and seen["failed"] == [] and seen["bad"] == []

    page.set_viewport_size({"width": 390, "height": 600})  # a phone: the legend on demand
    page.reload(wait_until="load")
    page.wait_for_function(READY, timeout=15_000)
    closed = page.evaluate(LEGEND)
    assert not closed["open"] and closed["area"] < 0.02, closed
    page.locator(".lt-legend summary").click()
    assert page.evaluate(LEGEND)["open"]
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"lantian-embed-hebei-{mode}-{lang}-phone.png"))
    context.close()


# Per marker title: the shape drawn, its element, the computed fill and ring colour.
SYMBOLS = ("() => Object.fromEntries([...document.querySelectorAll('.leaflet-marker-icon')]"
           ".filter((i) => i.querySelector('svg')).map((i) => { const svg = i.querySelector('svg');"
           " const shape = getComputedStyle(svg.querySelector('.lt-shape'));"
           " return [i.getAttribute('title'), { shape: svg.dataset.shape,"
           " element: svg.querySelector('.lt-shape').tagName, fill: shape.fill,"
           " ring: shape.stroke, size: [i.offsetWidth, i.offsetHeight] }]; }))")


def test_markers_draw_each_industrys_shape(browser: Browser, web_release, tmp_path: Path) -> None:
    release = open_release(web_release.root)
    try:
        built = embed_map(release, EmbedView(quarter="2019Q1", bbox=(110.0, 34.0, 122.0, 43.0)))
    finally:
        release.close()
    context = browser.new_context(viewport={"width": 1100, "height": 750})
    context.set_offline(True)
    page = context.new_page()
    seen = _watch(page)
    page.goto(built.save(tmp_path / built.filename).as_uri(), wait_until="load")
    page.wait_for_function(READY, timeout=15_000)
    symbols: dict[str, dict[str, Any]] = page.evaluate(SYMBOLS)
    cited = "rgb(215, 25, 28)"  # #d7191c
    assert symbols["Taiyuan Coking & Co"] == {  # coking, cited in 2019Q1
        "shape": "triangle", "element": "polygon", "fill": "rgb(204, 121, 167)", "ring": cited,
        "size": [14, 14],
    }  # fmt: skip
    assert symbols["Shougang Jingtang Iron and Steel"] == {  # steel, cited
        "shape": "circle", "element": "circle", "fill": "rgb(0, 114, 178)", "ring": cited,
        "size": [14, 14],
    }  # fmt: skip
    assert symbols["HBIS Tangsteel"]["element"] == "circle"
    assert symbols["HBIS Tangsteel"]["ring"] != cited  # not cited in 2019Q1
    legend = page.evaluate("[...document.querySelectorAll('.lt-legend svg.lt-mk')]"
                           ".map((s) => s.dataset.shape)")  # fmt: skip
    assert legend == ["circle", "circle", "triangle"] + ["circle"] * 5  # steel, coal, coking…
    page.screenshot(path=str(SHOTS / "lantian-embed-shapes.png"))
    assert seen["errors"] == [] and seen["failed"] == []
    context.close()
