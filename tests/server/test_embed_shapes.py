"""The plants' symbol shapes of the embeds: one per industry, as on the web map."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import lantian_fixture_release as builder  # registered by tests/conftest.py
import pytest
from fastapi.testclient import TestClient
from lantian_fixture_release import embed_config  # registered by tests/conftest.py

from lantian.server.embeds.assets import EMBED_JS, symbol_svg
from lantian.server.embeds.content import INDUSTRY_SHAPES, industry_shape
from lantian.server.embeds.describe import INDUSTRY_COLOURS
from lantian.server.embeds.routes import embed_map
from lantian.server.embeds.style import SHAPE_CORNERS, shape_points
from lantian.server.embeds.view import EmbedView
from lantian.server.releases.release import Release, open_release

MARKERS_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "markers.js"
# A legend key: the symbol's SVG, then the text.
KEY = re.compile(r'<div class="lt-item"><svg class="lt-mk ([a-z]*)" data-shape="([a-z]+)" '
                 r'[^>]*style="--fill:(#[0-9a-f]{6})"[^>]*>(.*?)</svg><span>([^<]*)</span></div>')


@pytest.fixture(scope="module")
def release(fixture_release) -> Iterator[Release]:
    opened = open_release(fixture_release.root)
    yield opened
    opened.close()


def _js_const(name: str) -> str:
    match = re.search(rf"^(?:export )?const {name} = (.+?);", MARKERS_JS.read_text(), re.MULTILINE)
    assert match, name
    return match.group(1)


def test_the_shapes_are_those_of_the_web_map() -> None:
    literal = re.sub(r"(\w+):", r'"\1":', _js_const("INDUSTRY_SHAPES"))  # JS object → JSON
    assert json.loads(literal) == INDUSTRY_SHAPES
    assert json.loads(_js_const("SHAPES")) == list(SHAPE_CORNERS)
    assert industry_shape("steel") == industry_shape("no such industry") == "circle"


@pytest.mark.parametrize("shape", ["square", "triangle", "hexagon"])
def test_the_shapes_have_about_the_circles_area(shape: str) -> None:
    points = shape_points(shape, 0, 0, 8)
    area = abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1],
                                                                     strict=True))) / 2  # fmt: skip
    assert area == pytest.approx(math.pi * 8**2, rel=0.03)
    grown = shape_points(shape, 0, 0, 8, grow=2)  # every edge 2 px further out
    inner_edge = max(abs(y) for _, y in points if y > 0)
    assert max(abs(y) for _, y in grown if y > 0) == pytest.approx(inner_edge + 2)


def test_config_and_legend_carry_each_industrys_shape(release: Release) -> None:
    built = embed_map(release, EmbedView(quarter="2019Q1", bbox=(110, 34, 122, 43)), "standalone")
    config = embed_config(built.html)
    industries = config["industries"]
    assert industries[-1] == ["other", "#009e73", "circle"]
    assert {name: shape for name, _, shape in industries} == {
        **{name: INDUSTRY_SHAPES.get(name, "circle") for name in INDUSTRY_COLOURS},
        "other": "circle",
    }
    assert ["coking", INDUSTRY_COLOURS["coking"], "triangle"] in industries
    assert ["cement", INDUSTRY_COLOURS["cement"], "square"] in industries
    # Every marker's industry index names its plant's industry, so its colour and shape.
    by_name = {p["name_en"]: p["industry"] for p in builder.PLANTS}
    for marker in config["markers"]:
        industry = by_name[marker[4]]
        assert industries[marker[2]] == [industry, INDUSTRY_COLOURS[industry],
                                         industry_shape(industry)]  # fmt: skip
    # The legend: the industries present, each in its shape and colour; then the states, as
    # circles.
    keys = KEY.findall(config["legendHtml"])
    plants = [(cls, shape, colour, text) for cls, shape, colour, _, text in keys]
    assert plants[:3] == [
        ("", "circle", INDUSTRY_COLOURS["steel"], "steel"),
        ("", "circle", INDUSTRY_COLOURS["coal_power"], "coal power"),
        ("", "triangle", INDUSTRY_COLOURS["coking"], "coking"),
    ]
    assert [(cls, shape) for cls, shape, *_ in plants[3:]] == [
        ("cited", "circle"), ("up", "circle"), ("flag", "circle"), ("approx", "circle"),
        ("cluster", "circle"),
    ]  # fmt: skip
    triangle = next(k for k in keys if k[1] == "triangle")
    assert triangle[3].count("<polygon ") == 3 and "<circle" not in triangle[3]
    assert symbol_svg("triangle", "", INDUSTRY_COLOURS["coking"]) in config["legendHtml"]


def test_the_embeds_script_draws_the_shapes_of_symbol_svg() -> None:
    match = re.search(r"var SYMBOLS = (\{.*\});", EMBED_JS)
    assert match
    assert json.loads(match.group(1)) == {shape: symbol_svg(shape) for shape in SHAPE_CORNERS}
    assert "{cls}" in symbol_svg("square") and "{fill}" in symbol_svg("square")
    assert '<polygon points="5.25,5.25 -5.25,5.25' in symbol_svg("square")
    assert '<circle r="6" class="lt-shape"/>' in symbol_svg("circle")


def test_linked_markers_name_the_shapes(client: TestClient) -> None:
    body = client.get("/embed/markers.json?quarter=2019Q1&bbox=110,34,122,43").json()
    shapes = {name: shape for name, _, shape in body["industries"]}
    assert shapes["coking"] == "triangle" and shapes["steel"] == "circle"
    assert {shapes[body["industries"][m[2]][0]] for m in body["markers"]} == {"circle", "triangle"}
