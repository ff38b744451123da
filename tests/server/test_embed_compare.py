"""Embeds of two periods over the fixture release (synthetic: B − A is −80 µg/m³ everywhere, as
2019Q2 = 2019Q1 − 80 there): ``compare=A,B`` (a swipe, leaflet-side-by-side vendored) and
``diff=A,B`` (the change with its diverging legend), linked and standalone, in zh and en."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from collections.abc import Iterator
from types import MappingProxyType

import numpy as np
import pytest
from fastapi.testclient import TestClient
from lantian_fixture_release import embed_config  # registered by tests/conftest.py
from PIL import Image

from lantian.i18n import translate
from lantian.server.embeds.routes import embed_map
from lantian.server.embeds.view import EmbedLimits, EmbedView, resolve_view
from lantian.server.errors import InvalidParameterError, NotFoundError
from lantian.server.releases.release import Release, open_release
from lantian.tiles.colormaps import get_colormap

SERVER = "http://maps.example.org:8000"
HEBEI = (113.4, 36.0, 119.9, 42.6)
BBOX = ",".join(map(str, HEBEI))
ASSET_URL = re.compile(
    r"<script[^>]*\ssrc=[\"']?https?:|<link[^>]*\shref=[\"']?https?:|<img[^>]*\ssrc=[\"']?https?:"
    r"|url\(\s*[\"']?https?:|@import",
    re.IGNORECASE,
)
OVERLAY = re.compile(r"L\.imageOverlay\(\s*\"(data:image/png;base64,[A-Za-z0-9+/=]+)\"")


@pytest.fixture(scope="module")
def release(fixture_release) -> Iterator[Release]:
    opened = open_release(fixture_release.root)
    yield opened
    opened.close()


def _colours(uri: str) -> set[tuple[int, int, int, int]]:
    raw = base64.b64decode(uri.split(",", 1)[1])
    rgba = np.asarray(Image.open(io.BytesIO(raw)).convert("RGBA")).reshape(-1, 4)
    return {(int(r), int(g), int(b), int(a)) for r, g, b, a in np.unique(rgba, axis=0)}


def test_standalone_compare_swipes_between_two_inline_overlays(release: Release) -> None:
    built = embed_map(release, EmbedView(bbox=HEBEI, compare=("2019Q1", "2019Q2")), "standalone")
    page = built.html
    assert not ASSET_URL.search(page)  # every byte inline: it opens offline
    assert "L.Control.SideBySide" in page and "leaflet-sbs-range" in page
    assert "images/range-icon.png" not in page  # the thumb's icon inlined too
    config = embed_config(page)
    compare = config["compare"]
    overlays = compare["overlays"]
    assert len(overlays) == 2 and all(o[0].startswith("data:image/png;base64,") for o in overlays)
    pm25 = {c["color"] for c in release.colormaps["pm25"]["classes"]}
    for uri, _bounds in overlays:
        drawn = {"#{:02x}{:02x}{:02x}".format(*c[:3]) for c in _colours(uri) if c[3]}
        assert drawn and drawn <= pm25
    assert overlays[0][0] != overlays[1][0]  # two periods, two pictures
    assert compare["label"] == "Swipe between 2019 Q1 (left) and 2019 Q2 (right)"
    assert built.title == "PM2.5: 2019 Q1 and 2019 Q2 side by side"
    assert "Left: 2019 Q1 · right: 2019 Q2" in config["titleHtml"]
    assert built.alt.startswith("The map compares the PM2.5 of 2019 Q1")
    assert built.filename == f"lantian-{release.id}-compare-2019Q1-2019Q2.html"
    assert built.quarter == "2019Q2"  # plants: B's quarter
    assert "Global Energy Monitor" in " ".join(config["attributions"])


def test_linked_compare_draws_each_period_from_the_server(release: Release) -> None:
    built = embed_map(release, EmbedView(bbox=HEBEI, compare=("2019Q1", "2019Q2")), "linked",
                      SERVER, lang="zh")  # fmt: skip
    page = built.html
    assert f"{SERVER}/static/vendor/leaflet-side-by-side/leaflet-side-by-side.js" in page
    assert f"{SERVER}/static/vendor/leaflet-side-by-side/leaflet-side-by-side.css" in page
    assert "cdn" not in page.lower()
    config = embed_config(page)
    styles = config["compare"]["styles"]
    urls = [s["sources"]["pm25"]["tiles"][0] for s in styles]
    assert urls == [f"{SERVER}/tiles/pm25/{p}/{{z}}/{{x}}/{{y}}.png?release={release.id}"
                    for p in ("2019Q1", "2019Q2")]  # fmt: skip
    assert config["style"] == styles[1]
    assert [t["url"] for t in config["compare"]["tiles"]] == urls  # without WebGL
    assert built.title == "PM2.5：2019年第一季度与2019年第二季度对比"
    assert "左：2019年第一季度 · 右：2019年第二季度" in config["titleHtml"]
    assert "quarter=2019Q2" in config["markersUrl"]


def test_diff_linked_uses_the_difference_tiles_and_its_legend(release: Release) -> None:
    built = embed_map(release, EmbedView(bbox=HEBEI, diff=("2019Q1", "2019Q2")), "linked",
                      SERVER)  # fmt: skip
    config = embed_config(built.html)
    assert "compare" not in config and "leaflet-side-by-side.js" not in built.html
    url = (f"{SERVER}/tiles/pm25-diff/2019Q1/2019Q2/{{z}}/{{x}}/{{y}}.png"
           f"?release={release.id}")  # fmt: skip
    assert config["style"]["sources"]["pm25"]["tiles"] == [url]
    assert config["pm25Tiles"]["url"] == url
    legend = config["legendHtml"]
    scale = get_colormap("pm25-diff")
    swatches = re.findall(r'class="lt-sw" style="background:(#[0-9a-f]{6})"', legend)
    assert swatches == [c.hex for c in scale.classes]
    assert "Change in PM2.5, 2019 Q2 − 2019 Q1 (µg/m³)" in legend
    assert "lower in 2019 Q2: cleaner" in legend and "higher in 2019 Q2: dirtier" in legend
    assert re.findall(r"<span>([^<]*)</span></div>", legend)[:9] == [
        "", "−40", "−20", "−10", "−5", "+5", "+10", "+20", "+40"]
    assert built.title == "Change in PM2.5 from 2019 Q1 to 2019 Q2"
    assert built.alt.startswith("The map shows the change in PM2.5 from 2019 Q1 to 2019 Q2")


def test_diff_standalone_overlay_is_b_minus_a_classed(release: Release) -> None:
    """The fixture's B − A is −80 everywhere both have data: the overlay is the first class."""
    built = embed_map(release, EmbedView(bbox=HEBEI, diff=("2019Q1", "2019Q2")), "standalone",
                      lang="zh")  # fmt: skip
    page = built.html
    assert not ASSET_URL.search(page)
    overlays = OVERLAY.findall(page)
    assert len(overlays) == 1
    first = get_colormap("pm25-diff").classes[0].rgba
    drawn = {c for uri in overlays for c in _colours(uri) if c[3]}
    assert drawn == {first}
    assert translate("zh", "compare.legend_nodata") in embed_config(page)["legendHtml"]
    assert built.title == "2019年第一季度至2019年第二季度PM2.5变化"


def test_views_check_the_periods(release: Release) -> None:
    limits = EmbedLimits()
    with pytest.raises(NotFoundError, match=r"^compare: no PM2.5 grid for period '2018Q4'"):
        resolve_view(release, EmbedView(compare=("2018Q4", "2019Q2")), limits)
    with pytest.raises(NotFoundError, match=r"^diff: "):
        resolve_view(release, EmbedView(diff=("2019Q1", "2019")), limits)
    with pytest.raises(InvalidParameterError, match=r"^diff: give compare=A,B or diff=A,B"):
        resolve_view(release, EmbedView(compare=("2019Q1", "2019Q2"),
                                        diff=("2019Q1", "2019Q2")), limits)  # fmt: skip
    with_months = dataclasses.replace(release, periods=MappingProxyType(
        {"month": ("2019-01",), "quarter": ("2019Q1", "2019Q2"), "year": ()}))  # fmt: skip
    with pytest.raises(InvalidParameterError, match=r"^diff: 2019Q1 and 2019-01 are periods of"):
        resolve_view(with_months, EmbedView(diff=("2019Q1", "2019-01")), limits)
    # a swipe may show periods of two types; the plants follow B's quarter
    resolved = resolve_view(with_months, EmbedView(compare=("2019Q2", "2019-01")), limits)
    assert resolved.quarter == "2019Q1"
    assert resolve_view(release, EmbedView(compare=("2019Q1", "2019Q2"), quarter="2019Q1"),
                        limits).quarter == "2019Q1"  # fmt: skip


def test_embed_endpoint_takes_compare_and_diff(client: TestClient, fixture_release) -> None:
    pinned = {"release": fixture_release.id, "bbox": BBOX}
    page = client.get("/embed", params={**pinned, "compare": "2019Q1,2019Q2", "lang": "en"})
    assert page.status_code == 200
    assert "http://testserver/static/vendor/leaflet-side-by-side/" in page.text
    diff = client.get("/embed", params={**pinned, "diff": "2019Q1,2019Q2", "lang": "en"})
    assert diff.status_code == 200 and "/tiles/pm25-diff/2019Q1/2019Q2/" in diff.text
    plain = client.get("/embed", params={**pinned, "lang": "en"})
    assert len({page.headers["etag"], diff.headers["etag"], plain.headers["etag"]}) == 3
    again = client.get("/embed", params={**pinned, "compare": "2019Q1,2019Q2", "lang": "en"},
                       headers={"If-None-Match": page.headers["etag"]})  # fmt: skip
    assert again.status_code == 304
    download = client.get("/embed", params={**pinned, "diff": "2019Q1,2019Q2",
                                            "mode": "standalone"})  # fmt: skip
    assert download.status_code == 200
    assert (f'filename="lantian-{fixture_release.id}-diff-2019Q1-2019Q2.html"'
            in download.headers["content-disposition"])  # fmt: skip


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"compare": "2019Q1"}, 422, "compare"),
        ({"diff": "2019Q1,2019Q2,2019Q3"}, 422, "diff"),
        ({"compare": "2019Q1;2019Q2"}, 422, "compare"),
        ({"compare": "2018Q4,2019Q2"}, 404, "compare"),
        ({"diff": "2019Q1,2019"}, 404, "diff"),
        ({"compare": "2019Q1,2019Q2", "diff": "2019Q1,2019Q2"}, 422, "diff"),
    ],
)
def test_embed_endpoint_names_a_bad_pair(client: TestClient, params: dict[str, str],
                                         status: int, param: str) -> None:  # fmt: skip
    response = client.get("/embed", params={"bbox": BBOX, **params})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if isinstance(detail, list):  # FastAPI's own check of the pattern
        assert [e["loc"][-1] for e in detail] == [param]
    else:
        assert detail.startswith(f"{param}: ")
