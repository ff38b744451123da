from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
from pmtiles.reader import MemorySource, Reader
from shapely.geometry import Point, box

import lantian.tiles.vector as vector
from lantian.errors import BuildError
from lantian.tiles.pmtiles_io import validate_archive
from lantian.tiles.raster import WEB_MERCATOR


@pytest.fixture(scope="module")
def enterprises() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    n = 80
    return gpd.GeoDataFrame(
        {
            "id": [f"gem:P{i:04d}" for i in range(n)],
            "name": [f"钢厂{i}" for i in range(n)],
            "name_zh": [f"钢厂{i}" for i in range(n)],
            "name_en": [f"Steel plant {i}" if i % 2 else None for i in range(n)],
            "industry": ["steel" if i % 3 else "coal_power" for i in range(n)],
            "capacity": [float(100 + i) for i in range(n)],
            "capacity_unit": ["MW" if i % 3 == 0 else "ttpa" for i in range(n)],
            "province": ["河北省"] * n,
            "city": ["唐山市"] * n,
            "geocode_precision": ["point"] * n,
            "owner": ["someone"] * n,
        },
        geometry=[Point(118 + rng.normal(0, 0.3), 39.6 + rng.normal(0, 0.2)) for _ in range(n)],
        crs="EPSG:4326",
    )


def layer(reader: Reader, z: int, x: int, y: int, name: str) -> list[dict[str, Any]]:
    data = reader.get(z, x, y)
    assert data is not None, (z, x, y)
    features: list[dict[str, Any]] = mapbox_vector_tile.decode(gzip.decompress(data))[name][
        "features"
    ]
    return features


def test_enterprise_tiles(enterprises: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = vector.build_enterprise_tiles(enterprises, tmp_path / "tiles" / "enterprises.pmtiles")
    summary = validate_archive(path)
    assert (summary.min_zoom, summary.max_zoom) == (0, 12)
    reader = Reader(MemorySource(path.read_bytes()))
    metadata = reader.metadata()
    assert [v["id"] for v in metadata["vector_layers"]] == ["enterprises"]
    assert "/" not in metadata["generator_options"].split()[0]  # no install or temp paths
    assert str(tmp_path) not in metadata["generator_options"]

    # every point is present, unclustered, with its popup attributes at max zoom
    for row in enterprises.itertuples():
        tile = WEB_MERCATOR.tile(row.geometry.x, row.geometry.y, 12)
        found = [f for f in layer(reader, 12, tile.x, tile.y, "enterprises")
                 if f["properties"]["id"] == row.id]
        assert len(found) == 1
        props = found[0]["properties"]
        assert "point_count" not in props and "owner" not in props
        assert props["name_zh"] == row.name_zh and props["capacity"] == row.capacity
        assert props["capacity_unit"] == row.capacity_unit
        assert props["geocode_precision"] == "point" and props["city"] == "唐山市"
        assert props.get("name_en") == (row.name_en if isinstance(row.name_en, str) else None)

    # at low zoom points are clustered and clusters count their members
    low = WEB_MERCATOR.tile(118, 39.6, 4)
    features = layer(reader, 4, low.x, low.y, "enterprises")
    assert len(features) < len(enterprises)
    assert sum(f["properties"].get("point_count", 1) for f in features) == len(enterprises)
    assert any(f["properties"].get("clustered") for f in features)


def test_enterprise_tiles_are_deterministic(
    enterprises: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    a = vector.build_enterprise_tiles(enterprises, tmp_path / "a.pmtiles")
    b = vector.build_enterprise_tiles(enterprises, tmp_path / "b.pmtiles")
    assert a.read_bytes() == b.read_bytes()


def test_enterprise_tiles_need_popup_columns(enterprises: gpd.GeoDataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="capacity_unit"):
        vector.build_enterprise_tiles(enterprises.drop(columns="capacity_unit"), tmp_path / "x")


def test_boundary_tiles(tmp_path: Path) -> None:
    provinces = gpd.GeoDataFrame(
        {"name": ["河北省", "山西省"], "code": ["130000", "140000"]},
        geometry=[box(114, 36, 119, 42), box(110, 35, 114, 40)],
        crs="EPSG:4326",
    )
    cities = gpd.GeoDataFrame(
        {"name": ["唐山市"], "province": ["河北省"]},
        geometry=[box(117.5, 39, 119, 40.5)],
        crs="EPSG:4326",
    ).to_crs(3857)  # reprojected back to WGS-84 by the builder
    path = vector.build_boundary_tiles({"provinces": provinces, "cities": cities},
                                       tmp_path / "boundaries.pmtiles")
    reader = Reader(MemorySource(path.read_bytes()))
    ids = sorted(v["id"] for v in reader.metadata()["vector_layers"])
    assert ids == ["cities", "provinces"]
    tile = WEB_MERCATOR.tile(118.2, 39.6, 8)
    assert [f["properties"]["name"] for f in layer(reader, 8, tile.x, tile.y, "cities")] == [
        "唐山市"
    ]
    names = {f["properties"]["name"] for f in layer(reader, 8, tile.x, tile.y, "provinces")}
    assert names == {"河北省"}
    z4 = WEB_MERCATOR.tile(114, 38, 4)
    assert {f["properties"]["code"] for f in layer(reader, 4, z4.x, z4.y, "provinces")} == {
        "130000", "140000"
    }


def test_tippecanoe_failure_shows_stderr(
    enterprises: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "tippecanoe"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'boom: bad input' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(vector, "tippecanoe_binary", lambda: fake)
    out = tmp_path / "e.pmtiles"
    with pytest.raises(BuildError, match=r"exit 3[\s\S]*boom: bad input"):
        vector.build_enterprise_tiles(enterprises, out)
    assert not out.exists()
