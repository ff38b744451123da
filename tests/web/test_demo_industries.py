"""The real demo in headless Chromium, in Chinese and in English: the 2019Q1 map shows no plant
that started after 2019Q1 (nor one that never operated), and cement plants with their square
symbol and legend entry. Screenshots go to /tmp."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READY = "window.lantian && window.lantian.map.loaded() && window.lantian.map.areTilesLoaded()"
VIEW = "#period=2019Q1&z=5&lon=115.5&lat=38.5"
RENDERED = (
    "window.lantian.map.queryRenderedFeatures({layers: ['enterprises', 'cited']})"
    ".map(f => { const i = f.layer.layout['icon-image'];"
    " return [f.properties.id, f.properties.industry, typeof i === 'string' ? i : i.name,"
    " f.properties.opf ?? null]; })"
)
CEMENT = {"en": "cement", "zh": "水泥"}
OPERATING = {"en": "Plants operating in 2019 Q1", "zh": "显示2019年第一季度在运行的企业"}


@pytest.fixture(scope="module")
def plants(demo_release: Path) -> pd.DataFrame:
    release = demo_release / "releases" / os.readlink(demo_release / "current").split("/")[-1]
    frame = pd.read_parquet(release / "enterprises" / "enterprises.parquet",
                            columns=["id", "industry", "op_from", "ever_operated"])  # fmt: skip
    return frame.fillna({"op_from": ""}).set_index("id")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_2019q1_shows_only_operating_plants_and_cement_squares(
    browser: Browser, demo_server: str, plants: pd.DataFrame, lang: str
) -> None:
    later = plants[(plants["op_from"] > "2019Q1") | plants["ever_operated"].eq(False)]
    assert len(later) > 0 and (plants["industry"] == "cement").sum() > 0

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{demo_server}/?lang={lang}{VIEW}", wait_until="load")
    page.wait_for_function(READY, timeout=30_000)
    page.wait_for_timeout(500)
    rendered = page.evaluate(RENDERED)
    ids = {plant_id for plant_id, *_ in rendered}
    assert len(ids) > 100
    assert not ids & set(later.index), sorted(ids & set(later.index))[:10]
    assert all(opf is None or opf <= 20191 for *_, opf in rendered)
    assert all(plants.loc[i, "op_from"] <= "2019Q1" for i in ids if i in plants.index)

    icons = {(industry, icon) for _, industry, icon, _ in rendered}
    assert ("cement", "plant-square") in icons
    assert {icon for industry, icon in icons if industry == "cement"} == {"plant-square"}
    assert {icon for industry, icon in icons if industry == "steel"} == {"plant-circle"}

    entry = page.locator("#plant-legend .item", has=page.locator("[data-industry='cement']"))
    assert entry.locator("[data-shape='square']").count() == 1
    assert entry.inner_text().strip() == CEMENT[lang]
    assert OPERATING[lang] in page.locator("#plant-legend .note").inner_text()
    page.screenshot(path=f"/tmp/lantian-demo-industries-{lang}.png")
    assert errors == []
    page.close()
