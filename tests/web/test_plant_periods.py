"""Plants on the map only in the periods they operated, a symbol per industry, the legend, the
status / capacity / coking filters and the card's operation section, on the fixture release
whose tiles carry the issue-15 properties (opf, opt, ever, caveat, coking, status)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from .conftest import add_periods, builder, running_server

pytestmark = pytest.mark.browser

READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
CARD_READY = "#card-body[aria-busy='false'] .card-section"
SHOUGANG, HBIS, RIZHAO = "gem:P100000120001", "gem:P100000120002", "gem:P100000120003"
TAIYUAN, JINGNENG = "csv:1", "wri:1000453"  # Dagang (wri:1000454) never operated
VIEW = "z=5&lon=116&lat=37.5"
LAYERS = "['enterprises', 'cited']"
RENDERED = (
    f"[...new Set(window.lantian.map.queryRenderedFeatures({{layers: {LAYERS}}})"
    ".map(f => f.properties.id))].sort()"
)
ICONS = (
    f"Object.fromEntries(window.lantian.map.queryRenderedFeatures({{layers: {LAYERS}}})"
    ".map(f => { const i = f.layer.layout['icon-image'];"
    " return [f.properties.id, typeof i === 'string' ? i : i.name]; }))"
)


def quarter_number(label: str) -> int | None:
    return int(label[:4]) * 10 + int(label[-1]) if label else None


def period_properties(plant: dict[str, Any]) -> dict[str, Any]:
    """The tile properties of issue 15 (tiles/vector.py) from the fixture's PERIODS row."""
    props = {
        "opf": quarter_number(plant.get("op_from") or ""),
        "opt": quarter_number(plant.get("op_to") or ""),
        "ever": int(bool(plant.get("ever_operated", True))),
        "caveat": plant.get("dates_caveat") or None,
        "coking": 1 if plant.get("coking") else None,
        "status": plant.get("status") or None,
    }
    return {k: v for k, v in props.items() if v is not None}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    original = builder.tile_properties

    def with_periods(plant: dict[str, Any], facts: list[dict[str, Any]]) -> dict[str, Any]:
        return original(plant, facts) | period_properties(builder.PERIODS[plant["id"]])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builder, "tile_properties", with_periods)
        release = builder.build_release(tmp_path_factory.mktemp("plantperiods"), map_layers=True)
    add_periods(release)
    builder.with_operating_periods(release.root)
    with running_server(release.data_dir) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser: Browser, server: str) -> Iterator[Page]:
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1100, "height": 750}, locale="en-US")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/#period=2019Q1&{VIEW}", wait_until="load")
    page.wait_for_function(READY, timeout=20_000)
    yield page
    assert errors == []
    page.close()


def _show(page: Page, period: str) -> None:
    page.evaluate(f"window.lantian.setPeriod({period!r})")
    page.wait_for_function(f"location.hash.includes('period={period}')")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_timeout(300)


def _rendered(page: Page, expected: list[str]) -> None:
    page.wait_for_function(f"{READY} && {RENDERED}.join() === {','.join(sorted(expected))!r}",
                           timeout=10_000)  # fmt: skip


def test_plants_show_only_in_periods_they_operated(page: Page) -> None:
    _show(page, "2019Q1")  # Rizhao starts in 2019Q2, Dagang never operated (construction)
    _rendered(page, [SHOUGANG, HBIS, JINGNENG, TAIYUAN])
    _show(page, "2019Q2")  # HBIS retired in 2019Q1; Taiyuan (no dates) shows in every period
    _rendered(page, [SHOUGANG, JINGNENG, TAIYUAN, RIZHAO])
    _show(page, "2019-02")  # a month: its quarter
    _rendered(page, [SHOUGANG, HBIS, JINGNENG, TAIYUAN])
    _show(page, "2019")  # a year: any of its quarters
    _rendered(page, [SHOUGANG, HBIS, JINGNENG, TAIYUAN, RIZHAO])
    legend = page.locator("#plant-legend .note").inner_text()
    assert legend.startswith("Plants operating in 2019;")
    _show(page, "2019Q1")


def test_each_industry_has_its_symbol_and_legend_entry(page: Page) -> None:
    _show(page, "2019Q1")
    icons = page.evaluate(ICONS)
    assert icons == {SHOUGANG: "plant-circle", HBIS: "plant-circle", JINGNENG: "plant-circle",
                     TAIYUAN: "plant-triangle"}  # fmt: skip
    shapes = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#plant-legend [data-industry]')]"
        ".map(n => [n.dataset.industry, n.dataset.shape]))"
    )
    assert shapes == {"steel": "circle", "coal_power": "circle", "cement": "square",
                      "coking": "triangle", "chemical": "hexagon", "other": "circle"}  # fmt: skip
    legend = page.locator("#plant-legend").inner_text()
    assert "cement" in legend and "chemical" in legend
    assert "Plants operating in 2019 Q1;" in legend
    layers = page.evaluate("window.lantian.map.getStyle().layers.map(l => l.id)")
    assert not [layer for layer in layers if "cluster" in layer]


def test_status_capacity_and_coking_filters(page: Page) -> None:
    _show(page, "2019Q1")
    page.locator("#filters summary").click()
    page.wait_for_function("document.querySelectorAll('#f-status option').length > 1")
    capacity = page.locator("#f-capacity")
    assert capacity.is_disabled()
    assert "Choose an industry first" in page.locator("#f-capacity-note").inner_text()
    page.wait_for_function("document.querySelector('#filter-count').textContent === '4 plants'")

    page.locator("#f-industry").select_option("steel")
    assert capacity.is_enabled()
    assert page.locator("label[for='f-capacity']").inner_text().endswith("(thousand t/yr)")
    capacity.fill("9000")
    capacity.dispatch_event("change")
    _rendered(page, [SHOUGANG])  # HBIS has 8,000; Rizhao (15,000) is not yet operating
    page.wait_for_function(
        "document.querySelector('#filter-count').textContent === '1 matching plant'"
    )
    assert "cap=9000" in page.evaluate("location.hash")

    page.locator("#f-industry").select_option("")
    assert capacity.is_disabled() and capacity.input_value() == ""
    page.locator("#f-status").select_option("retired")
    _rendered(page, [HBIS])
    page.locator("#f-status").select_option("")
    page.locator("#f-coking").check()
    _rendered(page, [SHOUGANG, TAIYUAN])
    page.wait_for_function(
        "document.querySelector('#filter-count').textContent === '2 matching plants'"
    )
    page.locator("#f-clear").click()
    _rendered(page, [SHOUGANG, HBIS, JINGNENG, TAIYUAN])


def _card(page: Page, server: str, plant: str, period: str, lang: str = "en") -> str:
    page.goto("about:blank")
    page.goto(f"{server}/?lang={lang}#period={period}&plant={plant}&{VIEW}", wait_until="load")
    page.wait_for_selector(CARD_READY, timeout=10_000)
    return page.locator("#card-body").inner_text()


def test_card_says_when_the_plant_operated(browser: Browser, server: str) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 750})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    card = _card(page, server, HBIS, "2019Q1")
    assert "Operation" in card and "retired" in card
    assert "1943" in card and "February 2019" in card
    assert "1943 Q1 – 2019 Q1" in card
    assert HBIS in page.locator("#card .source-ids").inner_text()
    card = _card(page, server, HBIS, "2019Q2")
    assert "Not operating in 2019 Q2." in card

    card = _card(page, server, SHOUGANG, "2019Q1")
    assert "4,000 thousand t/yr" in card  # coking capacity
    assert "2009 Q2 – today" in card
    ids = page.locator("#card .source-ids li")
    assert ids.count() == 2 and "gspt:P100000120001" in ids.nth(1).inner_text()

    card = _card(page, server, JINGNENG, "2019Q1")
    assert "Start of operation not known" in page.locator("#card .caveat").inner_text()
    assert "start not known – today" in card

    card = _card(page, server, TAIYUAN, "2019Q1", "zh")
    assert "运行时间不详：在每个时段都显示。" in card
    card = _card(page, server, SHOUGANG, "2019Q1", "zh")
    assert "2009年第二季度至今" in card and "焦化产能" in card and "运行" in card
    assert errors == []
    page.close()
