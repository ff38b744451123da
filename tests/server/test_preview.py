"""The embed builder's server side: /api/embed/describe and /embed/preview.png."""

from __future__ import annotations

import io
import math
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lantian.server.app import create_app
from lantian.server.embeds import preview
from lantian.settings import Settings

from .conftest import builder

SHOUGANG, HBIS = builder.SHOUGANG, builder.HBIS
BBOX = "112,36,120,41.5"
CITED = (0xD7, 0x19, 0x1C)
FLAG = (0x5C, 0x00, 0x10)


def _png(client: TestClient, **params: object):
    response = client.get(f"/embed/preview.png?{urlencode(params)}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return response, np.asarray(image.convert("RGB")).astype(int)


def _pixel(response, lon: float, lat: float) -> tuple[int, int]:
    """Where the image draws (lon, lat), from the frame the server reports."""
    west, south, east, north = (float(v) for v in response.headers["x-map-bounds"].split(","))
    left, top, width, height = (int(v) for v in response.headers["x-map-frame"].split(","))

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    x = left + (lon - west) / (east - west) * width
    y = top + (merc(north) - merc(lat)) / (merc(north) - merc(south)) * height
    return round(x), round(y)


def _class_colour(value: float, colormap: str) -> tuple[int, int, int]:
    index = int(np.searchsorted(builder.BREAKS[1:], value, side="right"))
    return builder._hex(builder.COLOURS[colormap][index])


def _near(pixels: np.ndarray, x: int, y: int, colour: tuple[int, ...], radius: int, tol: int = 40):
    box = pixels[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
    return bool((np.abs(box - np.array(colour)).max(axis=-1) <= tol).any())


def test_preview_png_has_requested_size_and_cache_headers(client: TestClient) -> None:
    response, pixels = _png(client, quarter="2019Q2", bbox=BBOX, width=640, height=400)
    assert pixels.shape == (400, 640, 3)
    assert response.headers["etag"].startswith('"')
    assert "max-age" in response.headers["cache-control"]
    assert response.headers["x-release"] == builder.RELEASE_ID
    again = client.get(
        f"/embed/preview.png?{urlencode(dict(quarter='2019Q2', bbox=BBOX, width=640, height=400))}",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304
    other, _ = _png(client, quarter="2019Q1", bbox=BBOX, width=640, height=400)
    assert other.headers["etag"] != response.headers["etag"]


def test_recent_previews_are_kept(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[int] = []  # the widths of the images drawn
    real = preview.render_preview

    def counting(release: Any, view: Any, filters: Any, width: int, *args: Any) -> Any:
        rendered.append(width)
        return real(release, view, filters, width, *args)

    monkeypatch.setattr(preview, "render_preview", counting)
    monkeypatch.setattr(preview, "CACHE_SIZE", 2)
    with TestClient(create_app(settings)) as client:
        first, _ = _png(client, quarter="2019Q1", bbox=BBOX, width=240, height=180)
        again, _ = _png(client, quarter="2019Q1", bbox=BBOX, width=240, height=180)
        assert again.content == first.content and again.headers == first.headers
        assert rendered == [240]
        for width in (250, 260, 260, 240):  # 260 is still kept, 240 (the oldest) is not
            _png(client, quarter="2019Q1", bbox=BBOX, width=width, height=180)
        assert rendered == [240, 250, 260, 240]


def test_pinned_preview_is_immutable(client: TestClient) -> None:
    response, _ = _png(client, release=builder.RELEASE_ID, quarter="2019Q2", bbox=BBOX)
    assert "immutable" in response.headers["cache-control"]


@pytest.mark.parametrize("layer", ["pm25", "pm25-cb"])
@pytest.mark.parametrize("quarter", ["2019Q1", "2019Q2"])
def test_pixel_has_the_colour_of_the_pm25_class(client: TestClient, layer, quarter) -> None:
    lon, lat = 121.0, 37.0  # no plant, boundary or legend there
    response, pixels = _png(client, quarter=quarter, bbox=BBOX, layer=layer, width=640, height=400)
    x, y = _pixel(response, lon, lat)
    expected = _class_colour(float(builder.pm25_value(lon, lat, quarter)), layer)
    assert tuple(pixels[y, x]) == expected


def test_cited_plant_draws_red(client: TestClient) -> None:
    response, pixels = _png(client, quarter="2019Q2", bbox=BBOX, width=640, height=400)
    shougang = _pixel(response, *(builder.PLANT_BY_ID[SHOUGANG][k] for k in ("lon", "lat")))
    hbis = _pixel(response, *(builder.PLANT_BY_ID[HBIS][k] for k in ("lon", "lat")))
    assert _near(pixels, *shougang, CITED, radius=12)
    assert not _near(pixels, *hbis, CITED, radius=8)  # not cited in 2019Q2


def test_cited_and_output_up_draws_the_flag_ring(client: TestClient) -> None:
    response, pixels = _png(client, quarter="2018Q4", bbox=BBOX, width=640, height=400)
    shougang = _pixel(response, *(builder.PLANT_BY_ID[SHOUGANG][k] for k in ("lon", "lat")))
    assert _near(pixels, *shougang, FLAG, radius=16, tol=30)


# Points around a plant's centre (px, y down) on the ring of a cited plant's symbol at zoom
# 10 and above (circle r 8, triangle of circumradius 12.5 centred on its height, rings 2.5 px
# outside): the circle's ring follows the circle, the triangle's its three edges.
RINGS = {
    "circle": {(0, -9): True, (9, 0): True, (-9, 0): True, (10, 10): False, (-10, -10): False},
    "triangle": {(0, -11): True, (11, 10): True, (-11, 10): True, (11, -9): False,
                 (-11, -9): False, (0, 4): False},
}  # fmt: skip


@pytest.mark.parametrize(("plant", "shape"), [(SHOUGANG, "circle"), (builder.TAIYUAN, "triangle")])
def test_a_plant_is_drawn_in_its_shape(client: TestClient, plant: str, shape: str) -> None:
    lon, lat = (builder.PLANT_BY_ID[plant][k] for k in ("lon", "lat"))
    bbox = f"{lon - 0.1},{lat - 0.06},{lon + 0.1},{lat + 0.06}"  # zoomed in: 8 px a radius
    response, pixels = _png(client, quarter="2019Q2", bbox=bbox, width=640, height=400)
    x, y = _pixel(response, lon, lat)
    assert {
        (dx, dy): _near(pixels, x + dx, y + dy, CITED, radius=1) for dx, dy in RINGS[shape]
    } == RINGS[shape]


def test_preview_without_bbox_frames_the_matching_plants(client: TestClient) -> None:
    response, _ = _png(client, province="河北省", width=400, height=300)
    west, south, east, north = (float(v) for v in response.headers["x-map-bounds"].split(","))
    for plant in builder.PLANTS:
        if plant["province"] == "河北省":
            assert west < plant["lon"] < east and south < plant["lat"] < north


@pytest.mark.parametrize(
    "query",
    [
        "width=100", "width=5000", "height=10", "height=99999", "bbox=0,0,30,30",
        "bbox=1,2,3", "bbox=120,30,110,40", "layer=enterprises", "layer=nope",
        "quarter=2017Q1", "quarter=2019Q9", "title=" + "x" * 200, "q=%20-",
    ],
)  # fmt: skip
def test_preview_limits_give_422(client: TestClient, query: str) -> None:
    assert client.get(f"/embed/preview.png?{query}").status_code == 422


@pytest.mark.parametrize("query", ["layer=cited", "quarter=2020Q1", "bbox=0,0,30,30"])
def test_describe_limits_give_422(client: TestClient, query: str) -> None:
    assert client.get(f"/api/embed/describe?{query}").status_code == 422


@pytest.mark.parametrize(
    "filters",
    [
        {"quarter": "2019Q1"},
        {"quarter": "2019Q1", "bbox": BBOX},
        {"quarter": "2018Q4", "province": "河北省"},
        {"quarter": "2019Q2", "industry": "steel"},
        {"quarter": "2019Q1", "has_violations": "true"},
        {"quarter": "2018Q4", "output_up": "true", "q": "shougang"},
    ],
)
def test_describe_counts_equal_enterprise_search(client: TestClient, filters) -> None:
    described = client.get(f"/api/embed/describe?{urlencode(filters)}").json()
    assert described["quarter"] == filters["quarter"]
    assert described["release"] == builder.RELEASE_ID

    def total(**extra: str) -> int:
        response = client.get(f"/api/enterprises?{urlencode(filters | extra | {'limit': 1})}")
        assert response.status_code == 200
        return int(response.json()["total"])

    counts = described["counts"]
    assert counts["plants"] == total()
    assert counts["cited"] == total(has_violations="true")
    assert counts["output_up"] == total(output_up="true")
    assert counts["cited_and_output_up"] == total(has_violations="true", output_up="true")
    assert f"{counts['plants']} " in described["alt"]


def test_alt_text_is_written_from_the_data(client: TestClient) -> None:
    described = client.get(f"/api/embed/describe?quarter=2019Q1&bbox={BBOX}").json()
    alt = described["alt"]
    assert alt.startswith("Synthetic data")
    assert "2019 Q1" in alt and "112.0–120.0°E, 36.0–41.5°N" in alt
    assert "5 plants" in alt and "2 of them were cited for environmental violations" in alt
    pm25 = described["pm25"]
    values = builder.pm25_value(np.array([112.0, 120.0]), np.array([41.5, 36.0]), "2019Q1")
    assert values.min() - 1 <= pm25["min"] < pm25["mean"] < pm25["max"] <= values.max() + 1
    assert f"from {pm25['min']:.0f} to {pm25['max']:.0f} µg/m³" in alt
    assert "CNEMC via quotsoft.net" in alt and "Global Energy Monitor <GEM>" in alt
    assert "synthetic" in described["title"]


def test_alt_text_says_when_the_quarter_has_no_grid(client: TestClient) -> None:
    described = client.get("/api/embed/describe?quarter=2018Q4&province=河北省").json()
    assert described["has_grid"] is False and described["pm25"] is None
    assert "no PM2.5 grid for 2018 Q4" in described["alt"]
    assert "1 of the cited plants had output up" in described["alt"]
    assert "in Hebei" in described["title"]
    response, _ = _png(client, quarter="2018Q4", province="河北省", width=320, height=240)
    assert response.headers["x-quarter"] == "2018Q4"


def test_describe_defaults_to_the_first_grid_quarter(client: TestClient) -> None:
    described = client.get("/api/embed/describe").json()
    assert described["quarter"] == builder.QUARTERS[0]
    assert described["counts"]["plants"] == len(builder.PLANTS)
    assert described["bbox_given"] is False
