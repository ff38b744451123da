"""The embed builder: "Share / embed" and "Download what I see" in headless Chromium.

Served from a data dir with two releases (``2019-fixture.1`` and a newer copy,
``2019-fixture.2``, current) so versioned links can be checked against a newer release.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .conftest import builder, running_server

pytestmark = pytest.mark.browser

OLD, NEW = builder.RELEASE_ID, "2019-fixture.2"
START = "#q=2019Q1&z=5.5&lon=116.5&lat=38.5"
SHOTS = Path(os.environ.get("LANTIAN_SHOTS", "/tmp"))
READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose current release (NEW) has an older sibling (OLD)."""
    data_dir = tmp_path_factory.mktemp("embeddata")
    built = builder.build_release(data_dir)
    builder.copy_release(built.root, NEW)
    builder.activate(data_dir, NEW)
    with running_server(data_dir) as url:
        yield url


def _page(browser: Browser, width: int = 1200, height: int = 850) -> tuple[Page, dict[str, Any]]:
    seen: dict[str, Any] = {"errors": [], "requests": []}
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    return page, seen


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_function(READY, timeout=20_000)


def _choose_quarter_and_filter(page: Page) -> None:
    position = page.evaluate("window.lantian.state.timeline.indexOf('2019Q2')")
    page.locator("#quarter").fill(str(position))
    page.locator("#filters summary").click()
    page.wait_for_function("document.querySelectorAll('#f-industry option').length > 1")
    page.locator("#f-industry").select_option("steel")
    page.wait_for_function("location.hash.includes('industry=steel')", timeout=5_000)


def _open_share(page: Page) -> dict[str, Any]:
    page.locator("#share-open").click()
    page.wait_for_function("document.querySelector('#share-dialog').open")
    page.wait_for_function("document.querySelector('#share-alt').value.length > 0", timeout=20_000)
    return page.evaluate("window.lantian.view()")


def _iframe_src(snippet: str) -> dict[str, list[str]]:
    match = re.search(r'<iframe src="([^"]+)"', snippet)
    assert match, snippet
    url = urlsplit(html.unescape(match.group(1)))
    assert url.path == "/embed"
    return parse_qs(url.query)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _assert_view(query: dict[str, list[str]], view: dict[str, Any], release: str) -> None:
    assert query["release"] == [release]
    assert query["quarter"] == ["2019Q2"]
    assert query["industry"] == ["steel"]
    bbox = [float(v) for v in query["bbox"][0].split(",")]
    assert bbox == pytest.approx(view["bbox"])


def test_share_dialog_describes_the_current_view(browser: Browser, two_releases: str) -> None:
    page, seen = _page(browser)
    _open(page, f"{two_releases}/{START}")
    _choose_quarter_and_filter(page)
    view = _open_share(page)
    dialog = page.locator("#share-dialog")
    assert page.evaluate("document.querySelector('#share-dialog').contains(document.activeElement)")

    snippet = page.locator("#share-snippet").input_value()
    assert "padding-top:62.5%" in snippet and 'loading="lazy"' in snippet
    assert "allowfullscreen" in snippet
    _assert_view(_iframe_src(snippet), view, NEW)
    alt = page.locator("#share-alt").input_value()
    title = re.search(r'title="([^"]+)"', snippet)
    assert title and html.unescape(title.group(1)) == alt

    params = {"quarter": "2019Q2", "industry": "steel", "bbox": ",".join(map(str, view["bbox"]))}
    total = httpx.get(f"{two_releases}/api/enterprises?{urlencode(params)}").json()["total"]
    assert total > 0
    assert f"{total} steel plant" in alt and "2019 Q2" in alt

    page.wait_for_function(
        "document.querySelector('#share-thumb').complete && "
        "document.querySelector('#share-thumb').naturalWidth > 0",
        timeout=20_000,
    )
    assert page.evaluate("document.querySelector('#share-thumb').naturalWidth") == 480
    png = page.locator("#share-png").get_attribute("href") or ""
    assert urlsplit(png).path == "/embed/preview.png"
    _assert_view(_query(png), view, NEW)
    standalone = page.locator("#share-standalone").get_attribute("href") or ""
    assert _query(standalone)["mode"] == ["standalone"]
    _assert_view(_query(standalone), view, NEW)
    image = page.locator("#share-image").input_value()
    assert "/embed/preview.png?" in image and 'alt="' in image

    permalink = page.locator("#share-permalink").input_value()
    assert permalink.startswith(f"{two_releases}/?release={NEW}&lang=en#")  # the page's language
    assert "period=2019Q2" in permalink and "industry=steel" in permalink

    page.screenshot(path=str(SHOTS / "lantian-embed-dialog-desktop.png"))
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#share-dialog').open")
    assert dialog.is_hidden()
    assert page.evaluate("document.activeElement.id") == "share-open"
    assert seen["errors"] == []
    page.close()


def test_title_is_escaped_in_the_snippet(browser: Browser, two_releases: str) -> None:
    page, _ = _page(browser)
    _open(page, f"{two_releases}/{START}")
    _open_share(page)
    nasty = '"><script>window.__x=1</script>'
    page.locator("#share-title-input").fill(nasty)
    page.wait_for_function(
        "document.querySelector('#share-snippet').value.includes('title=%22')", timeout=5_000
    )
    snippet = page.locator("#share-snippet").input_value()
    parsed = page.evaluate(
        "(s) => { const d = new DOMParser().parseFromString(s, 'text/html');"
        " return [d.querySelectorAll('iframe').length, d.querySelectorAll('script').length,"
        " new URL(d.querySelector('iframe').src).searchParams.get('title')]; }",
        snippet,
    )
    assert parsed == [1, 0, nasty]
    page.close()


def test_download_links_carry_the_view(browser: Browser, two_releases: str) -> None:
    page, seen = _page(browser)
    _open(page, f"{two_releases}/{START}")
    _choose_quarter_and_filter(page)
    view = page.evaluate("window.lantian.view()")
    page.locator("#download-open").click()
    page.wait_for_function("document.querySelector('#download-dialog').open")
    page.wait_for_function("/plant/.test(document.querySelector('#download-count').textContent)")
    zips = page.locator("#download-zip a").evaluate_all("as => as.map(a => a.href)")
    assert [_query(u)["format"] for u in zips] == [["gpkg"], ["parquet"], ["csv"]]
    plants = page.locator("#download-plants a").evaluate_all("as => as.map(a => a.href)")
    assert [urlsplit(u).path for u in plants] == [
        f"/api/extract/enterprises.{ext}" for ext in ("parquet", "gpkg", "csv", "geojson")
    ]
    for url in zips + plants:
        _assert_view(_query(url), view, NEW)
    grid = page.locator("#download-pm25").get_attribute("href") or ""
    assert _query(grid)["period"] == ["2019Q2"] and _query(grid)["release"] == [NEW]
    assert _query(grid)["bbox"] == _query(zips[0])["bbox"]
    response = httpx.get(plants[2], timeout=30)
    assert response.status_code == 200, response.text
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#download-dialog').open")
    assert seen["errors"] == []
    page.close()


def test_permalink_restores_the_view_and_pins_the_release(
    browser: Browser, two_releases: str
) -> None:
    page, _ = _page(browser)
    _open(page, f"{two_releases}/{START}")
    _choose_quarter_and_filter(page)
    view = _open_share(page)
    permalink = page.locator("#share-permalink").input_value()
    page.close()

    page, seen = _page(browser)
    _open(page, permalink)
    page.wait_for_function("document.querySelector('#f-industry').value === 'steel'")
    state = page.evaluate(
        "({quarter: window.lantian.state.quarter, release: window.lantian.state.release.id,"
        " zoom: window.lantian.map.getZoom(), center: window.lantian.map.getCenter(),"
        " choice: window.lantian.state.panel.choice})"
    )
    assert state["quarter"] == "2019Q2" and state["release"] == NEW
    assert state["zoom"] == pytest.approx(view["zoom"], abs=0.01)
    assert state["center"]["lng"] == pytest.approx(view["lon"], abs=1e-3)
    assert state["center"]["lat"] == pytest.approx(view["lat"], abs=1e-3)
    assert state["choice"]["industry"] == "steel"
    assert "current release" in page.locator("#release-note").inner_text()
    served = [u for u in seen["requests"] if urlsplit(u).path.startswith(("/api/", "/pmtiles/"))]
    assert served and all(f"release={NEW}" in u for u in served), served
    assert seen["errors"] == []
    page.close()


def test_old_release_stays_addressable_with_a_note(browser: Browser, two_releases: str) -> None:
    page, seen = _page(browser)
    _open(page, f"{two_releases}/?release={OLD}{START}")
    note = page.locator("#release-note")
    page.wait_for_function("document.querySelector('#release-note').textContent.includes('newer')")
    assert f"Viewing release {OLD} (newer available: {NEW})" in note.inner_text()
    assert page.evaluate("window.lantian.state.release.id") == OLD
    archives = [u for u in seen["requests"] if urlsplit(u).path.startswith("/pmtiles/")]
    assert archives and all(f"release={OLD}" in u for u in archives)
    view = _open_share(page)
    assert view["release"] == OLD
    assert _iframe_src(page.locator("#share-snippet").input_value())["release"] == [OLD]
    assert f"?release={OLD}&lang=en#" in page.locator("#share-permalink").input_value()
    assert page.locator("#downloads-link").get_attribute("href") == f"/downloads?release={OLD}"
    assert seen["errors"] == []
    page.close()


def test_dialog_fits_a_phone(browser: Browser, two_releases: str) -> None:
    page, seen = _page(browser, 390, 844)
    _open(page, f"{two_releases}/{START}")
    page.locator("#panel-toggle").click()
    _open_share(page)
    page.wait_for_function(
        "document.querySelector('#share-thumb').naturalWidth > 0", timeout=20_000
    )
    box = page.locator("#share-dialog").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    overflow = page.evaluate(
        "(() => { const d = document.querySelector('#share-dialog');"
        " return d.scrollWidth - d.clientWidth; })()"
    )
    assert overflow <= 0
    page.screenshot(path=str(SHOTS / "lantian-embed-dialog-phone.png"))
    page.keyboard.press("Escape")
    page.locator("#download-open").click()
    page.wait_for_function("/plant/.test(document.querySelector('#download-count').textContent)")
    page.screenshot(path=str(SHOTS / "lantian-download-dialog-phone.png"))
    assert seen["errors"] == []
    page.close()


def test_snippet_renders_the_embed(browser: Browser, two_releases: str) -> None:
    """The copied snippet, pasted into another page, shows the embed."""
    page, _ = _page(browser)
    _open(page, f"{two_releases}/{START}")
    _open_share(page)
    snippet = page.locator("#share-snippet").input_value()
    page.close()
    host, _ = _page(browser, 800, 600)
    host.goto(f"{two_releases}/static/index.html")  # same origin, any page will do
    host.set_content(f"<!doctype html><html><body style='margin:0'>{snippet}</body></html>")
    frame = host.frame_locator("iframe")
    frame.locator(".leaflet-container").first.wait_for(timeout=20_000)
    box = host.locator("iframe").bounding_box()
    assert box and box["height"] == pytest.approx(box["width"] * 0.625, abs=2)
    host.screenshot(path=str(SHOTS / "lantian-embed-snippet.png"))
    host.close()
