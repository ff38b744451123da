"""Difference tiles ``/tiles/pm25-diff/{a}/{b}/{z}/{x}/{y}.png`` on a release whose two quarter
COGs (and one month's) hold synthetic fields made for the test: A rises with latitude, B is A
plus a step per degree of longitude that falls in each class of ``pm25-diff`` in turn, and each
has a block without data. A tile's pixels must carry the class of B − A at their centre."""

from __future__ import annotations

import hashlib
import io
import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lantian_fixture_release as builder  # registered by tests/conftest.py
import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from PIL import Image

from lantian.server.app import create_app
from lantian.server.tiles import diff as diff_module
from lantian.settings import Settings
from lantian.tiles.colormaps import DIFF_BOUNDS, get_colormap
from lantian.tiles.raster import TILE_SIZE, tile_range

WEST, SOUTH, EAST, NORTH = builder.BOUNDS  # 110–122 °E, 34–43 °N
RES = builder.COG_RES
# B − A per 1° band of longitude from 110 °E (synthetic): every class of the scale, then three
# values inside "within ±5"; their classes by the scale's bounds (±5, 10, 20, 40).
STEPS = (-60.0, -30.0, -15.0, -7.0, 0.0, 7.0, 15.0, 30.0, 60.0, -3.0, 4.9, -4.9)
CLASSES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 4, 4, 4)
A_GAP_NORTH = 40.9  # A has no data north of this latitude (a whole row of zoom-6 tiles)
B_GAP_EAST = 121.5  # B has no data east of this longitude
TRANSPARENT = len(STEPS) - 3  # palette index of "no data" after the 9 classes
MAXZOOM = 6


def a_field(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.where(lat > A_GAP_NORTH, np.nan, 40.0 + 3.0 * (lat - SOUTH))


def step(lon: np.ndarray) -> np.ndarray:
    band = np.clip(np.floor(lon - WEST).astype(int), 0, len(STEPS) - 1)
    return np.asarray(STEPS)[band]


def b_field(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.where(lon >= B_GAP_EAST, np.nan, a_field(lon, lat) + step(lon))


def _write_cog(path: Path, field: Any) -> None:
    width, height = round((EAST - WEST) / RES), round((NORTH - SOUTH) / RES)
    lon = WEST + (np.arange(width) + 0.5) * RES
    lat = NORTH - (np.arange(height) + 0.5) * RES
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    values = field(grid_lon, grid_lat).astype(np.float32)
    profile = dict(driver="GTiff", width=width, height=height, count=2, dtype="float32",
                   crs="EPSG:4326", transform=Affine(RES, 0.0, WEST, 0.0, -RES, NORTH),
                   nodata=float("nan"), tiled=True, blockxsize=128, blockysize=128,
                   compress="deflate")  # fmt: skip
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(values, 1)
        ds.write(np.full_like(values, 5.0), 2)
        ds.update_tags(SYNTHETIC="generated for tests/server/test_diff_tiles.py")
        ds.build_overviews([2, 4], rasterio.enums.Resampling.average)


def _diff_release(data_dir: Path) -> Any:
    """The server fixture release with synthetic COGs for 2019Q1 (A), 2019Q2 (B) and 2019-01,
    periods in the manifest and a PM2.5 layer up to zoom ``MAXZOOM``."""
    release = builder.build_release(data_dir)
    root = release.root
    _write_cog(root / "pm25" / "pm25_2019Q1.tif", a_field)
    _write_cog(root / "pm25" / "pm25_2019Q2.tif", b_field)
    _write_cog(root / "pm25" / "pm25_2019-01.tif", a_field)
    manifest = release.manifest
    manifest["periods"] = {"month": ["2019-01"], "quarter": ["2019Q1", "2019Q2"], "year": []}
    for layer in manifest["layers"]:
        if layer["id"] == "pm25":
            layer["maxzoom"] = MAXZOOM
    listed = {f["path"]: f for f in manifest["files"]}
    for name in ("pm25_2019Q1.tif", "pm25_2019Q2.tif", "pm25_2019-01.tif"):
        path = root / "pm25" / name
        media = builder.MEDIA[".tif"]
        entry = listed.setdefault(f"pm25/{name}", {
            "path": f"pm25/{name}", "media_type": media, "title": name})  # fmt: skip
        entry.update(bytes=path.stat().st_size,
                     sha256=hashlib.sha256(path.read_bytes()).hexdigest())  # fmt: skip
    manifest["files"] = list(listed.values())
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return release


@pytest.fixture(scope="module")
def diff_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _diff_release(tmp_path_factory.mktemp("diffdata"))


@pytest.fixture(scope="module")
def client(diff_release: Any) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=diff_release.data_dir))) as test_client:
        yield test_client


def _indices(body: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(body))
    assert image.mode == "P" and image.size == (TILE_SIZE, TILE_SIZE)
    return np.asarray(image)


def _centres(z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of each pixel centre of tile z/x/y."""
    world = TILE_SIZE * 2**z
    px = (x * TILE_SIZE + np.arange(TILE_SIZE) + 0.5) / world
    py = (y * TILE_SIZE + np.arange(TILE_SIZE) + 0.5) / world
    lon = px * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * py))))
    return np.meshgrid(lon, lat)


def _expected(lon: np.ndarray, lat: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(expected palette index, which pixels are at least ``margin`` degrees from every edge of
    a band, a gap or the grid)."""
    inside = (lon > WEST) & (lon < EAST) & (lat > SOUTH) & (lat < NORTH)
    gap = (lat > A_GAP_NORTH) | (lon >= B_GAP_EAST)
    band = np.clip(np.floor(lon - WEST).astype(int), 0, len(STEPS) - 1)
    expected = np.where(inside & ~gap, np.asarray(CLASSES)[band], TRANSPARENT)
    edges_lon = np.arange(WEST, EAST + 1)
    near = np.min(np.abs(lon[..., None] - edges_lon), axis=-1) < margin
    near |= np.abs(lon - B_GAP_EAST) < margin
    near |= (np.abs(lat - A_GAP_NORTH) < margin) | (np.abs(lat - SOUTH) < margin)
    near |= np.abs(lat - NORTH) < margin
    return expected, ~near


@pytest.mark.parametrize(("z", "margin"), [(5, 0.1), (6, 0.1), (4, 0.12), (3, 0.3), (2, 0.4)])
def test_pixels_carry_the_class_of_b_minus_a(client: TestClient, z: int, margin: float) -> None:
    """Native and finer zooms sample the cell under each pixel; coarser ones average (a pixel
    well inside a band still has that band's step). Transparent where A or B has no data."""
    seen: set[int] = set()
    xmin, ymin, xmax, ymax = tile_range((WEST, SOUTH, EAST, NORTH), z)
    for x in range(xmin, xmax + 1):
        for y in range(ymin, ymax + 1):
            response = client.get(f"/tiles/pm25-diff/2019Q1/2019Q2/{z}/{x}/{y}.png")
            assert response.status_code == 200 and response.headers["content-type"] == "image/png"
            got = _indices(response.content)
            expected, checked = _expected(*_centres(z, x, y), margin)
            assert checked.sum() > 0
            bad = checked & (got != expected)
            assert not bad.any(), f"{z}/{x}/{y}: {bad.sum()} pixels differ"
            seen |= set(np.unique(got[checked]).tolist())
    if z >= 3:  # every class, and the gaps (at zoom 2 few pixel centres lie mid-band)
        assert seen == {*range(9), TRANSPARENT}
    else:
        assert len(seen) >= 5


def test_palette_is_the_diverging_scale_and_gaps_are_transparent(client: TestClient) -> None:
    scale = get_colormap("pm25-diff")
    assert [c.lower for c in scale.classes[1:]] == list(DIFF_BOUNDS)
    for x in (25, 26):
        image = Image.open(io.BytesIO(
            client.get(f"/tiles/pm25-diff/2019Q1/2019Q2/5/{x}/12.png").content))  # fmt: skip
        index, rgba = np.asarray(image), np.asarray(image.convert("RGBA"))
        for i in np.unique(index).tolist():
            colours = {tuple(c) for c in rgba[index == i].tolist()}
            if i == TRANSPARENT:
                assert {c[3] for c in colours} == {0}
            else:
                assert colours == {scale.classes[i].rgba}


def test_values_are_b_minus_a(diff_release: Any) -> None:
    """The difference before classing: B − A at each pixel centre (nearest cell, native zoom)."""
    from lantian.server.releases.release import open_release

    release = open_release(diff_release.root)
    try:
        pair = diff_module.check_pair(release, "2019Q1", "2019Q2")
        for z, x, y in ((5, 25, 12), (5, 26, 12), (6, 51, 24)):
            values = diff_module.diff_values(pair, z, x, y)
            lon, lat = _centres(z, x, y)
            _, checked = _expected(lon, lat, 0.1)
            checked &= (lon > WEST) & (lon < B_GAP_EAST) & (lat > SOUTH) & (lat < A_GAP_NORTH)
            assert checked.sum() > 1000
            assert np.allclose(values[checked], step(lon[checked]), atol=1e-3)
            assert np.isnan(values[lon >= B_GAP_EAST + 0.1]).all()
        assert np.isnan(diff_module.diff_values(pair, 6, 51, 23)).all()  # north of A's data
    finally:
        release.close()


def test_same_period_is_all_little_change(client: TestClient) -> None:
    got = _indices(client.get("/tiles/pm25-diff/2019Q2/2019Q2/5/25/12.png").content)
    assert set(np.unique(got).tolist()) <= {4, TRANSPARENT} and (got == 4).any()


def test_a_tile_without_data_is_a_transparent_png(client: TestClient) -> None:
    """Inside the layer's bounds but north of A's data: 200 and every pixel transparent."""
    z, x, y = 6, 52, 23
    response = client.get(f"/tiles/pm25-diff/2019Q1/2019Q2/{z}/{x}/{y}.png")
    assert response.status_code == 200
    _, lat = _centres(z, x, y)
    assert lat.min() > A_GAP_NORTH and lat.max() > NORTH
    assert (_indices(response.content) == TRANSPARENT).all()


@pytest.mark.parametrize(
    ("path", "status", "param"),
    [
        ("/tiles/pm25-diff/2018Q1/2019Q2/5/25/11.png", 404, "a"),
        ("/tiles/pm25-diff/2019Q1/2020Q2/5/25/11.png", 404, "b"),
        ("/tiles/pm25-diff/2019Q1/2019-01/5/25/11.png", 422, "b"),
        ("/tiles/pm25-diff/2019-01/2019Q1/5/25/11.png", 422, "b"),
        ("/tiles/pm25-diff/2019Q1/2019Q2/7/51/23.png", 404, "z"),
        ("/tiles/pm25-diff/2019Q1/2019Q2/5/0/0.png", 404, "x, y"),
        ("/tiles/pm25-diff/2018Q1/2019Q2/tilejson.json", 404, "a"),
        ("/tiles/pm25-diff/2019Q1/2019-01/tilejson.json", 422, "b"),
    ],
)
def test_bad_parameters_are_named(client: TestClient, path: str, status: int, param: str) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(f"{param}: ")


@pytest.mark.parametrize(("path", "param"), [
    ("/tiles/pm25-diff/2019Q5/2019Q2/5/25/11.png", "a"),
    ("/tiles/pm25-diff/2019Q1/2019-13/5/25/11.png", "b"),
    ("/tiles/pm25-diff/2019Q1/2019Q2/23/0/0.png", "z"),
])  # fmt: skip
def test_malformed_parameters_are_422_naming_them(client: TestClient, path: str,
                                                  param: str) -> None:  # fmt: skip
    response = client.get(path)
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [param]


def test_tile_outside_the_grid_of_tiles_is_422(client: TestClient) -> None:
    assert client.get("/tiles/pm25-diff/2019Q1/2019Q2/2/4/1.png").status_code == 422


def test_tilejson_points_at_the_tiles_with_the_legend(client: TestClient,
                                                      diff_release: Any) -> None:  # fmt: skip
    doc = client.get(f"/tiles/pm25-diff/2019Q1/2019Q2/tilejson.json?release={diff_release.id}")
    assert doc.status_code == 200
    body = doc.json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"] == [f"http://testserver/tiles/pm25-diff/2019Q1/2019Q2/{{z}}/{{x}}/{{y}}.png"
                             f"?release={diff_release.id}"]  # fmt: skip
    assert (body["minzoom"], body["maxzoom"]) == (0, MAXZOOM)
    assert body["bounds"] == list(builder.BOUNDS)
    assert body["colormap"]["name"] == "pm25-diff" and len(body["colormap"]["classes"]) == 9
    assert body["colormap"]["classes"][0]["lower"] is None
    assert "Global Energy Monitor" in body["attribution"]


def test_answers_are_cached_and_revalidated_without_rendering(
    diff_release: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[tuple[int, int, int]] = []
    original = diff_module.diff_values

    def counted(pair: Any, z: int, x: int, y: int) -> np.ndarray:
        renders.append((z, x, y))
        return original(pair, z, x, y)

    monkeypatch.setattr(diff_module, "diff_values", counted)
    url = "/tiles/pm25-diff/2019Q1/2019Q2/5/26/12.png"
    with TestClient(create_app(Settings(data_dir=diff_release.data_dir))) as fresh:
        first = fresh.get(url)
        again = fresh.get(url)
        pinned = fresh.get(f"{url}?release={diff_release.id}")
        assert first.status_code == again.status_code == pinned.status_code == 200
        assert first.content == again.content == pinned.content
        assert len(renders) == 1  # the pinned address is the same tile of the same release
        etag = first.headers["etag"]
        assert etag.startswith(f'"{diff_release.id}-') and first.headers["cache-control"]
        head = fresh.head(url)
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    with TestClient(create_app(Settings(data_dir=diff_release.data_dir))) as fresh:
        response = fresh.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 304 and response.headers["etag"] == etag
        assert len(renders) == 1  # a revalidation renders nothing
        other = fresh.get("/tiles/pm25-diff/2019Q2/2019Q1/5/26/12.png")
        assert other.headers["etag"] != etag  # B − A is not A − B


def test_renders_at_once_are_bounded(diff_release: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    running = [0, 0]  # now, most
    original = diff_module.diff_values

    def slow(pair: Any, z: int, x: int, y: int) -> np.ndarray:
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.05)
        try:
            return original(pair, z, x, y)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(diff_module, "diff_values", slow)
    xmin, ymin, xmax, ymax = tile_range((WEST, SOUTH, EAST, NORTH), MAXZOOM)
    urls = [f"/tiles/pm25-diff/2019Q1/2019Q2/{MAXZOOM}/{x}/{y}.png"
            for x in range(xmin, xmax + 1) for y in range(ymin, ymax + 1)]  # fmt: skip
    statuses: list[int] = []
    with TestClient(create_app(Settings(data_dir=diff_release.data_dir))) as fresh:
        threads = [threading.Thread(target=lambda u=u: statuses.append(fresh.get(u).status_code))
                   for u in urls]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * len(urls)
    assert 1 <= running[1] <= diff_module.MAX_RENDERS
