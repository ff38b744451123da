from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import netCDF4
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from shapely.geometry import Point

from lantian.layers.grid import CHINA_GRID
from lantian.layers.interpolate import Options, interpolate
from lantian.layers.writers import (
    DECIMALS,
    STANDARD_NAME,
    located,
    write_cog,
    write_cube,
    write_enterprises,
    write_geo,
    write_stats,
)

GRID = CHINA_GRID.subgrid(115.0, 38.5, 118.0, 41.5)  # 300 × 300: one overview level


@pytest.fixture(scope="module")
def grids(q1_station_means: pd.DataFrame) -> list[xr.Dataset]:
    m = q1_station_means
    q1 = interpolate(m["lon"], m["lat"], m["pm25"], GRID, "2019Q1").dataset
    q2 = interpolate(m["lon"], m["lat"], m["pm25"] / 2, GRID, "2019Q2",
                     Options(max_distance_km=30)).dataset
    return [q1, q2]


def test_cog_round_trip_and_station_pixel(
    grids: list[xr.Dataset], q1_station_means: pd.DataFrame, tmp_path: Path
) -> None:
    path = write_cog(grids[0], tmp_path)
    assert path.name == "pm25_2019Q1.tif"
    with rasterio.open(path) as src:
        assert src.count == 2 and src.dtypes == ("float32", "float32")
        assert src.crs.to_epsg() == 4326 and src.descriptions == ("pm25", "pm25_uncertainty")
        assert src.units == ("ug m-3", "ug m-3")
        assert src.compression.name.upper() == "DEFLATE" and src.overviews(1)
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.bounds == pytest.approx(GRID.bounds)
        values = src.read()
        pick = q1_station_means["code"] == "1001A"
        lon, lat, value = q1_station_means.loc[pick, ["lon", "lat", "pm25"]].to_numpy()[0]
        row, col = src.index(lon, lat)
    stored = np.round(grids[0]["pm25"].to_numpy(), DECIMALS)  # 0.1 µg/m³, as documented
    np.testing.assert_array_equal(values[0], stored)
    assert np.nanmax(np.abs(values[0] - grids[0]["pm25"].to_numpy())) <= 0.05 + 1e-4
    assert (row, col) == GRID.cell_index(lon, lat)
    assert values[0, row, col] == pytest.approx(value, abs=8.0)


def test_cog_overviews_hold_means(grids: list[xr.Dataset], tmp_path: Path) -> None:
    path = write_cog(grids[0], tmp_path)
    with rasterio.open(path) as src:
        full = src.read(1)
    with rasterio.open(path, overview_level=0) as half:
        overview = half.read(1)
    blocks = full[: overview.shape[0] * 2, : overview.shape[1] * 2].reshape(
        overview.shape[0], 2, overview.shape[1], 2)
    whole = np.isfinite(blocks).all(axis=(1, 3))
    assert whole.sum() > 1000
    np.testing.assert_allclose(overview[whole], blocks.mean(axis=(1, 3))[whole], atol=1e-4)


def test_cog_keeps_nan(grids: list[xr.Dataset], tmp_path: Path) -> None:
    with rasterio.open(write_cog(grids[1], tmp_path)) as src:
        band = src.read(1)
    assert np.isnan(band).any() and np.isfinite(band).any()
    np.testing.assert_array_equal(np.isnan(band), np.isnan(grids[1]["pm25"].to_numpy()))


def test_cube_is_cf(grids: list[xr.Dataset], tmp_path: Path) -> None:
    path = write_cube(grids, tmp_path / "pm25_quarterly.nc", title="t", source="CNEMC")
    with xr.open_dataset(path) as cube:
        assert cube["pm25"].dims == ("time", "lat", "lon")
        assert cube["pm25"].encoding["chunksizes"] == (1, 300, 300)  # a chunk per period
        assert cube["pm25"].attrs["standard_name"] == STANDARD_NAME
        assert cube["pm25"].attrs["units"] == "ug m-3"
        assert cube["pm25"].attrs["grid_mapping"] == "crs"
        assert cube["crs"].attrs["grid_mapping_name"] == "latitude_longitude"
        assert cube.attrs["Conventions"] == "CF-1.8" and "history" in cube.attrs
        assert str(cube["time"].to_numpy()[1])[:10] == "2019-04-01"
        bounds = cube["time_bnds"].to_numpy()
        assert [str(b)[:10] for b in bounds[0]] == ["2019-01-01", "2019-04-01"]
        assert list(cube["quarter"].to_numpy()) == ["2019Q1", "2019Q2"]
        assert cube["pm25"].encoding["zlib"]
        np.testing.assert_array_equal(cube["pm25"][1].to_numpy(),
                                      np.round(grids[1]["pm25"].to_numpy(), DECIMALS))
        assert cube["quarter"].dims == ("time",) and "quarter" in cube.coords
        for axis, step in (("lat", -GRID.res), ("lon", GRID.res)):
            assert cube[axis].attrs["bounds"] == f"{axis}_bnds"
            edges = cube[f"{axis}_bnds"].to_numpy()
            np.testing.assert_allclose(edges.mean(axis=1), cube[axis].to_numpy(), atol=1e-9)
            np.testing.assert_allclose(edges[:, 1] - edges[:, 0], step, atol=1e-9)
            np.testing.assert_array_equal(edges[1:, 0], edges[:-1, 1])  # contiguous cells
    with netCDF4.Dataset(path) as raw:  # CF: no fill values on coordinates or their bounds
        for name in ("time", "time_bnds", "lat", "lat_bnds", "lon", "lon_bnds"):
            assert "_FillValue" not in raw[name].ncattrs(), name
        assert "quarter" in raw["pm25"].coordinates.split()


def test_located_keeps_rows_without_an_enterprise(tmp_path: Path) -> None:
    points = gpd.GeoSeries([Point(118.7, 39.99), Point(114.2, 36.7)], index=["gem:P1", "wri:2"],
                           crs=4326)
    records = pd.DataFrame({"record_id": ["v:1", "v:2", "v:3"],
                            "enterprise_id": ["wri:2", "", "gone:9"],
                            "penalty": ["1万元", np.nan, ""]})
    paths = write_geo(located(records, points, "enterprise_id"), tmp_path, "violations")
    assert set(paths) == {"parquet", "gpkg", "geojson"}
    for fmt, path in paths.items():
        back = gpd.read_parquet(path) if fmt == "parquet" else gpd.read_file(path)
        assert back.crs.to_epsg() == 4326 and list(back["record_id"]) == ["v:1", "v:2", "v:3"]
        assert back.geometry.isna().tolist() == [False, True, True], fmt
        assert (back.geometry.x[0], back.geometry.y[0]) == pytest.approx((114.2, 36.7))


def test_enterprises_formats(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"id": ["gem:P1", "wri:2"], "name": ["钢厂", "Plant"], "capacity": [1000.0, np.nan]},
        geometry=[Point(118.70, 39.99), Point(114.2, 36.7)], crs=4326,
    )
    paths = write_enterprises(gdf, tmp_path)
    for fmt in ("parquet", "gpkg", "geojson"):
        back = (gpd.read_parquet(paths[fmt]) if fmt == "parquet" else gpd.read_file(paths[fmt]))
        assert back.crs.to_epsg() == 4326
        assert list(back["id"]) == ["gem:P1", "wri:2"] and back["name"][0] == "钢厂"
        assert back.geometry.x.tolist() == pytest.approx([118.70, 114.2])
    table = pd.read_csv(paths["csv"])
    assert list(table.columns) == ["id", "name", "capacity", "lon", "lat"]
    assert table["lat"].tolist() == pytest.approx([39.99, 36.7])


def test_stats_csv_and_json(tmp_path: Path) -> None:
    stats = pd.DataFrame({"region": ["2+26", "北京"], "pm25": [88.15, 51.6],
                          "qoq_change_pct": [np.nan, -3.5]})
    paths = write_stats(stats, tmp_path)
    records = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert records[0] == {"region": "2+26", "pm25": 88.15, "qoq_change_pct": None}
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"]), stats)
