"""Tile, TileJSON and PMTiles archive routes."""

from __future__ import annotations

import dataclasses
import gzip
import io

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from lantian.server.errors import NotFoundError
from lantian.server.releases.pmtiles_reader import PMTilesArchive
from lantian.server.releases.release import ALL
from lantian.server.tiles.routes import tile_answer

# Tile (z, x, y) of a plant at 118.45 E, 39.00 N; (8, 207, 97) is inside the bounds, empty.
PLANT_TILE = (8, 212, 97)
EMPTY_TILE = (8, 207, 97)


def test_raster_tile_png(client: TestClient) -> None:
    r = client.get("/tiles/pm25/2019Q1/3/6/3.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=86400"
    assert "content-encoding" not in r.headers
    assert r.headers["etag"].startswith('"2019-fixture.1-')
    assert Image.open(io.BytesIO(r.content)).size == (256, 256)


def test_quarters_differ(client: TestClient) -> None:
    q1 = client.get("/tiles/pm25/2019Q1/3/6/3.png")
    q2 = client.get("/tiles/pm25/2019Q2/3/6/3.png")
    assert q1.content != q2.content and q1.headers["etag"] != q2.headers["etag"]


def test_etag_if_none_match(client: TestClient) -> None:
    etag = client.get("/tiles/pm25-cb/2019Q1/2/3/1.png").headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        r = client.get("/tiles/pm25-cb/2019Q1/2/3/1.png", headers={"If-None-Match": header})
        assert r.status_code == 304 and r.content == b""
        assert r.headers["etag"] == etag
    r = client.get("/tiles/pm25-cb/2019Q1/2/3/1.png", headers={"If-None-Match": '"nope"'})
    assert r.status_code == 200


def test_vector_tile_gzip(client: TestClient) -> None:
    z, x, y = PLANT_TILE
    r = client.get(f"/tiles/enterprises/{z}/{x}/{y}.pbf", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["content-encoding"] == "gzip"
    raw = r.content if r.content[:2] != b"\x1f\x8b" else gzip.decompress(r.content)
    decoded = mapbox_vector_tile.decode(raw)
    ids = {f["properties"]["id"] for f in decoded["enterprises"]["features"]}
    assert "gem:P100000120001" in ids


def test_boundaries_tile(client: TestClient) -> None:
    r = client.get("/tiles/boundaries/0/0/0.pbf")
    assert r.status_code == 200
    assert set(mapbox_vector_tile.decode(r.content)) == {"provinces", "cities"}


def test_empty_tile_inside_bounds_is_204(client: TestClient) -> None:
    z, x, y = EMPTY_TILE
    r = client.get(f"/tiles/enterprises/{z}/{x}/{y}.pbf")
    assert r.status_code == 204 and r.content == b""


def test_archive_tiles_past_the_bounds_are_served(client: TestClient) -> None:
    """The bounds only tell a missing tile's 404 from a 204: a tile the archive has (e.g. one
    only a feature's buffer reaches) is served even where it lies outside them."""
    release = client.app.state.releases.current()  # type: ignore[attr-defined]
    layer = dataclasses.replace(release.layers["enterprises"], bounds=(0.0, 0.0, 1.0, 1.0))
    answer = tile_answer(release, layer, ALL, PLANT_TILE, None, "no-cache")
    assert answer.status == 200 and answer.body
    with pytest.raises(NotFoundError, match="outside the layer bounds"):
        tile_answer(release, layer, ALL, EMPTY_TILE, None, "no-cache")


@pytest.mark.parametrize(
    "url",
    [
        "/tiles/pm25/2019Q1/4/12/6.png",  # above maxzoom
        "/tiles/pm25/2019Q1/3/0/0.png",  # outside bounds
        "/tiles/pm25/2019Q3/3/6/3.png",  # unknown quarter
        "/tiles/nope/2019Q1/3/6/3.png",  # unknown layer
        "/tiles/enterprises/2019Q1/3/6/3.png",  # vector layer as raster
        "/tiles/pm25/3/6/3.pbf",  # raster layer as vector
        "/tiles/enterprises/9/424/194.pbf",  # above maxzoom
    ],
)
def test_not_found(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    assert set(r.json()) == {"detail"}


@pytest.mark.parametrize(
    "url",
    [
        "/tiles/pm25/2019Q1/3/8/0.png",
        "/tiles/pm25/2019Q1/3/0/8.png",
        "/tiles/pm25/2019Q1/23/0/0.png",
        "/tiles/pm25/2019Q1/-1/0/0.png",
        "/tiles/pm25/2019Q1/a/0/0.png",
        "/tiles/pm25/19Q1/3/6/3.png",
        "/tiles/enterprises/0/1/0.pbf",
    ],
)
def test_invalid_tile_422(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 422
    assert "/tmp" not in r.text


def test_tilejson_raster(client: TestClient) -> None:
    doc = client.get("/tiles/pm25/2019Q2/tilejson.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/pm25/2019Q2/{z}/{x}/{y}.png"]
    assert doc["bounds"] == [110.0, 34.0, 122.0, 43.0]
    assert (doc["minzoom"], doc["maxzoom"]) == (0, 3)
    assert len(doc["center"]) == 3
    assert "Global Energy Monitor &lt;GEM&gt;" in doc["attribution"]
    assert "vector_layers" not in doc


def test_tilejson_vector_and_public_url(settings, client: TestClient) -> None:
    doc = client.get("/tiles/boundaries/tilejson.json").json()
    assert [v["id"] for v in doc["vector_layers"]] == ["provinces", "cities"]
    assert doc["tiles"][0].endswith("/tiles/boundaries/{z}/{x}/{y}.pbf")
    from lantian.server.app import create_app

    public = settings.model_copy(update={"public_url": "https://maps.example.org/lt/"})
    with TestClient(create_app(public)) as other:
        doc = other.get("/tiles/enterprises/tilejson.json").json()
    assert doc["tiles"] == ["https://maps.example.org/lt/tiles/enterprises/{z}/{x}/{y}.pbf"]
    assert client.get("/tiles/pm25/tilejson.json").status_code == 404
    assert client.get("/tiles/pm25/2020Q1/tilejson.json").status_code == 404


def test_pmtiles_range(client: TestClient, fixture_release) -> None:
    path = fixture_release.root / "tiles" / "pm25_2019Q1.pmtiles"
    data = path.read_bytes()
    r = client.get("/pmtiles/pm25_2019Q1.pmtiles", headers={"Range": "bytes=0-126"})
    assert r.status_code == 206
    assert r.content == data[:127]
    assert r.headers["content-range"] == f"bytes 0-126/{len(data)}"
    r = client.get("/pmtiles/pm25_2019Q1.pmtiles", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    full = client.get("/pmtiles/pm25_2019Q1.pmtiles")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "application/vnd.pmtiles"
    assert full.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    "url", ["/tiles/..%2f..%2fetc/0/0/0.pbf", "/tiles/%2e%2e/0/0/0.pbf", "/tiles/a%00/0/0/0.pbf"]
)
def test_layer_name_is_never_a_path(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code in (404, 422)
    assert "/tmp" not in r.text


@pytest.mark.parametrize("name", ["nope", "pm25_2019Q3", "manifest", "..%2Fmanifest"])
def test_pmtiles_unknown(client: TestClient, name: str) -> None:
    assert client.get(f"/pmtiles/{name}.pmtiles").status_code in (404, 422)


def test_reader_matches_pmtiles_package(fixture_release) -> None:
    from pmtiles.reader import MmapSource, Reader

    path = fixture_release.root / "tiles" / "enterprises.pmtiles"
    archive = PMTilesArchive(path)
    try:
        with path.open("rb") as f:
            reference = Reader(MmapSource(f))
            for z, x, y in [(0, 0, 0), PLANT_TILE, EMPTY_TILE, (5, 26, 12)]:
                ref = archive.locate(z, x, y)
                expected = reference.get(z, x, y)
                assert (archive.read(ref) if ref else None) == expected
        assert archive.metadata["vector_layers"][0]["id"] == "enterprises"
    finally:
        archive.close()
