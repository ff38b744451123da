from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import Affine

from lantian.errors import InputError
from lantian.layers.grid import GridSpec
from lantian.layers.satellite import quarterly_means, read_gridded, regrid, satellite_grids

LAT = np.array([40.15, 40.05, 39.95, 39.85])  # north → south, 0.1° cells
LON = np.array([116.05, 116.15, 116.25])


def chap(path: Path, values: np.ndarray, with_time_attr: str | None = None) -> Path:
    """ChinaHighPM2.5 layout: int16 packed, scale 0.1, fill -32768, lat ascending."""
    packed = np.where(np.isnan(values), -32768, np.round(values * 10)).astype(np.int16)
    ds = xr.Dataset({"PM2.5": (("lat", "lon"), packed[::-1])},
                    coords={"lat": LAT[::-1], "lon": LON})
    ds["PM2.5"].attrs = {"scale_factor": np.float32(0.1), "add_offset": np.float32(0.0),
                         "_FillValue": np.int16(-32768), "units": "µg/m3"}
    if with_time_attr:
        ds.attrs["time_coverage_start"] = with_time_attr
    ds.to_netcdf(path)
    return path


def acag(path: Path, values: np.ndarray, name: str = "GWRPM25") -> Path:
    ds = xr.Dataset({name: (("lat", "lon"), values.astype(np.float32))},
                    coords={"lat": LAT, "lon": LON})
    ds.to_netcdf(path, encoding={name: {"_FillValue": np.float32(-999.0)}})
    return path


def geotiff(path: Path, values: np.ndarray, crs: str | None = "EPSG:4326") -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=3, height=4, count=1, dtype="float32",
                       crs=crs, transform=Affine(0.1, 0, 116.0, 0, -0.1, 40.2),
                       nodata=-9999.0) as dst:
        dst.write(np.where(np.isnan(values), -9999.0, values).astype(np.float32), 1)
    return path


def field(base: float) -> np.ndarray:
    values = base + np.arange(12, dtype=float).reshape(4, 3)
    values[0, 0] = np.nan
    return values


def test_chap_daily_files_decode_and_aggregate(tmp_path: Path) -> None:
    files = [chap(tmp_path / f"CHAP_PM2.5_D1K_2019{md}_V4.nc", field(base))
             for md, base in (("0101", 10.0), ("0331", 20.0), ("0401", 100.0))]
    data = read_gridded(files)
    assert data.dims == ("time", "lat", "lon") and data.dtype == np.float32
    assert list(data["lat"].to_numpy()) == pytest.approx(LAT)  # turned north → south
    np.testing.assert_allclose(data.isel(time=0).to_numpy(), field(10.0), rtol=1e-6)
    quarters = quarterly_means(data)
    assert list(quarters["quarter"].to_numpy()) == ["2019Q1", "2019Q2"]
    q1 = quarters.sel(quarter="2019Q1").to_numpy()
    assert q1[1, 2] == pytest.approx(20.0) and np.isnan(q1[0, 0])


def test_time_from_attribute_beats_file_name(tmp_path: Path) -> None:
    path = chap(tmp_path / "pm_20190101.nc", field(1.0), with_time_attr="2019-07-15T00:00:00Z")
    assert str(read_gridded(path)["time"].to_numpy()[0])[:10] == "2019-07-15"


def test_acag_monthly_and_geotiff(tmp_path: Path) -> None:
    months = [acag(tmp_path / f"V5GL03.HybridPM25.Asia.2019{m:02d}-2019{m:02d}.nc", field(float(m)),
                   name="PM25" if m == 2 else "GWRPM25") for m in (1, 2, 3)]
    q1 = quarterly_means(read_gridded(months)).sel(quarter="2019Q1").to_numpy()
    np.testing.assert_allclose(q1, field(2.0), rtol=1e-6)
    tif = read_gridded(geotiff(tmp_path / "pm25_201905.tif", field(7.0)))
    assert str(tif["time"].to_numpy()[0])[:7] == "2019-05"
    np.testing.assert_allclose(tif.isel(time=0).to_numpy(), field(7.0))
    assert tif["lon"].to_numpy() == pytest.approx(LON)


def test_bad_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no CRS"):
        read_gridded(geotiff(tmp_path / "x_201901.tif", field(1.0), crs=None))
    no_coords = tmp_path / "y_201901.nc"
    xr.Dataset({"PM25": (("y", "x"), np.ones((2, 2)))}).to_netcdf(no_coords)
    with pytest.raises(InputError, match="lat/lon"):
        read_gridded(no_coords)
    other = tmp_path / "z_201901.nc"
    xr.Dataset({"O3": (("lat", "lon"), np.ones((4, 3)))},
               coords={"lat": LAT, "lon": LON}).to_netcdf(other)
    with pytest.raises(InputError, match=r"no PM2\.5 variable"):
        read_gridded(other)
    undated = acag(tmp_path / "pm.nc", field(1.0))
    with pytest.raises(InputError, match="file name"):
        read_gridded(undated)


def test_regrid_nearest_and_linear(tmp_path: Path) -> None:
    data = read_gridded(acag(tmp_path / "a_201901.nc", field(0.0)))
    grid = GridSpec(116.0, 39.8, 116.3, 40.2, 0.05)
    nearest = regrid(data, grid, "nearest").isel(time=0)
    assert nearest.shape == (8, 6)
    assert list(nearest["lat"].to_numpy()) == pytest.approx(grid.lats)
    assert float(nearest.sel(lat=39.825, lon=116.275, method="nearest")) == pytest.approx(11.0)
    linear = regrid(data, GridSpec(116.05, 39.85, 116.25, 40.05, 0.1), "linear").isel(time=0)
    # (116.1, 39.9) lies midway between the four centres holding 6, 7, 9 and 10
    assert float(linear.sel(lat=39.9, lon=116.1, method="nearest")) == pytest.approx(8.0)


def test_satellite_grids_give_quarterly_means_with_standard_error(tmp_path: Path) -> None:
    days = [("0110", 10.0), ("0215", 20.0), ("0320", 30.0), ("0705", 50.0)]
    files = [chap(tmp_path / f"CHAP_PM2.5_D1K_2019{md}_V4.nc", field(base)) for md, base in days]
    grid = GridSpec(116.0, 39.8, 116.3, 40.2, 0.05)
    grids = {str(g.attrs["quarter"]): g for g in satellite_grids(files, grid)}
    # a grid per month and quarter with a time step; no year: most of 2019's months are missing
    assert list(grids) == ["2019-01", "2019-02", "2019-03", "2019Q1", "2019-07", "2019Q3"]
    q1, q3 = grids["2019Q1"], grids["2019Q3"]
    assert float(grids["2019-02"]["pm25"].sel({"lat": 39.975, "lon": 116.175},
                                              method="nearest")) == pytest.approx(27.0, 1e-3)
    assert (q1.attrs["quarter"], q3.attrs["quarter"]) == ("2019Q1", "2019Q3")
    assert q1.attrs["method"] == "satellite" and q1.attrs["n_time_steps"] == 3
    # the 0.05° cell centred at (116.175, 39.975) lies in source cell row 2, col 1
    cell = {"lat": 39.975, "lon": 116.175}
    source = [base + 7 for _, base in days[:3]]
    assert float(q1["pm25"].sel(cell, method="nearest")) == pytest.approx(np.mean(source), 1e-3)
    assert float(q1["pm25_uncertainty"].sel(cell, method="nearest")) == pytest.approx(
        np.std(source, ddof=1) / np.sqrt(3), 1e-3)
    assert np.isnan(q3["pm25_uncertainty"]).all()  # one time step: no standard error
    assert np.isnan(float(q1["pm25"].sel({"lat": 40.125, "lon": 116.025}, method="nearest")))


def test_satellite_grids_make_a_year_only_from_all_its_months(tmp_path: Path) -> None:
    files = [chap(tmp_path / f"CHAP_PM2.5_D1K_2019{m:02d}15_V4.nc", field(float(m)))
             for m in range(1, 13)]
    grids = {str(g.attrs["quarter"]): g for g in satellite_grids(files, GridSpec(
        116.0, 39.8, 116.3, 40.2, 0.05))}
    assert "2019" in grids and len(grids) == 12 + 4 + 1
    cell = {"lat": 39.975, "lon": 116.175}
    assert float(grids["2019"]["pm25"].sel(cell, method="nearest")) == pytest.approx(
        np.mean(np.arange(1, 13)) + 7, 1e-3)
