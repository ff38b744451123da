"""Write layers to files: quarterly COGs, the CF NetCDF cube, point tables, statistics.

Raster nodata is NaN (float32) in both the COG and the NetCDF cube.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.crs import CRS
from rasterio.transform import Affine

from lantian.layers.grid import UNITS
from lantian.layers.periods import quarter_bounds

DECIMALS = 1  # values are stored to 0.1 µg/m³ (monitors report whole µg/m³); halves file size
STANDARD_NAME = "mass_concentration_of_pm2p5_ambient_aerosol_particles_in_air"
BANDS = ("pm25", "pm25_uncertainty")
CUBE_CHUNK = 600  # cells per side of a NetCDF chunk
WGS84 = CRS.from_epsg(4326)


def grid_transform(ds: xr.Dataset) -> Affine:
    """Affine of a (lat north → south, lon) cell-centre grid."""
    lat, lon = ds["lat"].to_numpy(), ds["lon"].to_numpy()
    res_x, res_y = float(lon[1] - lon[0]), float(lat[0] - lat[1])
    if res_x <= 0 or res_y <= 0:
        raise ValueError("grid must have lon ascending and lat descending")
    return Affine(res_x, 0.0, float(lon[0]) - res_x / 2, 0.0, -res_y, float(lat[0]) + res_y / 2)


def write_cog(ds: xr.Dataset, directory: Path) -> Path:
    """``pm25_<quarter>.tif``: 2-band float32 COG (PM2.5, uncertainty), EPSG:4326,
    DEFLATE + floating-point predictor, overviews, nodata NaN; values rounded to DECIMALS."""
    path = Path(directory) / f"pm25_{ds.attrs['quarter']}.tif"
    data = np.stack([ds[b].transpose("lat", "lon").to_numpy().astype(np.float32) for b in BANDS])
    data = np.round(data, DECIMALS)
    profile = {
        "driver": "COG", "width": data.shape[2], "height": data.shape[1], "count": 2,
        "dtype": "float32", "crs": WGS84, "transform": grid_transform(ds), "nodata": np.nan,
        "compress": "DEFLATE", "predictor": 3, "overviews": "AUTO", "blocksize": 256,
        # overviews hold means (GDAL's default, cubic, rings and compresses worse: 26 → 20 MB)
        "resampling": "average",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for band, name in enumerate(BANDS, start=1):
            dst.set_band_description(band, name)
            dst.set_band_unit(band, UNITS)
        dst.update_tags(quarter=ds.attrs["quarter"], method=str(ds.attrs.get("method", "")),
                        cv_rmse=str(ds.attrs.get("cv_rmse", "")))
    return path


def write_cube(
    grids: Sequence[xr.Dataset], path: Path, *, title: str, source: str
) -> Path:
    """CF-1.8 NetCDF cube (time, lat, lon) of quarterly grids: time = quarter start with
    ``time_bnds`` [start, next quarter start), cell edges in ``lat_bnds``/``lon_bnds``,
    WGS-84 in the ``crs`` grid mapping, the quarter label as an auxiliary coordinate."""
    quarters = [g.attrs["quarter"] for g in grids]
    bounds = np.array([quarter_bounds(q) for q in quarters], dtype="datetime64[ns]")
    cube = xr.concat([g[list(BANDS)].round(DECIMALS) for g in grids], dim="time", join="exact",
                     combine_attrs="drop")
    cube = cube.assign_coords(time=bounds[:, 0], quarter=("time", np.array(quarters, object)))
    cube["time_bnds"] = (("time", "nv"), bounds)
    for axis in ("lat", "lon"):  # cell edges in the axis' own order, so shared edges match
        centres = cube[axis].to_numpy()
        half = float(centres[1] - centres[0]) / 2
        edges = np.round(np.stack([centres - half, centres + half], axis=1), 9)
        cube[f"{axis}_bnds"] = ((axis, "nv"), edges)
    cube["cv_rmse"] = ("time", np.array([g.attrs.get("cv_rmse", np.nan) for g in grids], float),
                       {"units": UNITS, "long_name": "leave-one-out cross-validation RMSE"})
    cube["crs"] = ((), np.int32(0), {
        "grid_mapping_name": "latitude_longitude", "longitude_of_prime_meridian": 0.0,
        "semi_major_axis": 6378137.0, "inverse_flattening": 298.257223563,
        "epsg_code": "EPSG:4326", "crs_wkt": WGS84.to_wkt(),
    })
    cube["time"].attrs.update(standard_name="time", long_name="start of the quarter", axis="T",
                              bounds="time_bnds")
    cube["quarter"].attrs.update(long_name="quarter")
    cube["lat"].attrs.update(standard_name="latitude", long_name="latitude of the cell centre",
                             units="degrees_north", axis="Y", bounds="lat_bnds")
    cube["lon"].attrs.update(standard_name="longitude", long_name="longitude of the cell centre",
                             units="degrees_east", axis="X", bounds="lon_bnds")
    cube["pm25"].attrs = {"standard_name": STANDARD_NAME, "units": UNITS,
                          "long_name": "quarterly mean PM2.5", "grid_mapping": "crs",
                          "cell_methods": "time: mean"}
    cube["pm25_uncertainty"].attrs = {"units": UNITS, "grid_mapping": "crs",
                                      "long_name": "PM2.5 interpolation standard deviation"}
    cube.attrs = {
        "Conventions": "CF-1.8", "title": title, "source": source,
        "history": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} created by lantian",
    }
    # a chunk per period and ~600 × 600 cells: a third faster to write than netCDF4's default
    # chunks, a tenth smaller, and a period or a region reads without the rest
    chunks = (1, min(CUBE_CHUNK, cube.sizes["lat"]), min(CUBE_CHUNK, cube.sizes["lon"]))
    data_encoding: dict[str, Any] = {"zlib": True, "complevel": 4, "dtype": "float32",
                                     "_FillValue": np.nan, "chunksizes": chunks}
    time_encoding = {"units": "days since 1970-01-01", "calendar": "standard",
                     "dtype": "float64", "_FillValue": None}
    encoding: dict[str, dict[str, Any]] = {
        "pm25": data_encoding, "pm25_uncertainty": data_encoding,
        "time": time_encoding, "time_bnds": time_encoding,
        **{name: {"_FillValue": None} for name in ("lat", "lon", "lat_bnds", "lon_bnds",
                                                      "cv_rmse")},
    }
    cube.to_netcdf(path, format="NETCDF4", encoding=encoding)
    return Path(path)


GEO_FORMATS = ("parquet", "gpkg", "geojson")


def write_geo(gdf: gpd.GeoDataFrame, directory: Path, stem: str) -> dict[str, Path]:
    """GeoParquet, GeoPackage (layer ``stem``) and GeoJSON of ``gdf`` in EPSG:4326; rows
    without a geometry are kept with a null one."""
    directory = Path(directory)
    paths = {fmt: directory / f"{stem}.{fmt}" for fmt in GEO_FORMATS}
    gdf = gdf.to_crs(4326)
    gdf.to_parquet(paths["parquet"], index=False)
    gdf.to_file(paths["gpkg"], driver="GPKG", layer=stem, engine="pyogrio",
                geometry_type="Point")
    gdf.to_file(paths["geojson"], driver="GeoJSON", engine="pyogrio", geometry_type="Point")
    return paths


def located(table: pd.DataFrame, points: gpd.GeoSeries, key: str) -> gpd.GeoDataFrame:
    """``table`` with the point of ``points`` (indexed by id) named by ``table[key]``, or a
    null geometry where ``key`` names none; every row is kept, in order."""
    geometry = gpd.GeoSeries(table[key].map(points), index=table.index, crs=points.crs)
    return gpd.GeoDataFrame(table, geometry=geometry)


def write_enterprises(gdf: gpd.GeoDataFrame, directory: Path, stem: str = "enterprises") -> (
        dict[str, Path]):
    """GeoParquet, GeoPackage, GeoJSON and CSV (``lon``/``lat`` columns, no geometry)."""
    gdf = gdf.to_crs(4326)
    paths = write_geo(gdf, directory, stem)
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table["lon"], table["lat"] = gdf.geometry.x, gdf.geometry.y
    paths["csv"] = Path(directory) / f"{stem}.csv"
    table.to_csv(paths["csv"], index=False)
    return paths


def write_stats(stats: pd.DataFrame, directory: Path, stem: str = "region_stats") -> (
        dict[str, Path]):
    """CSV and JSON (list of records; NaN → null) of a statistics table."""
    directory = Path(directory)
    paths = {"csv": directory / f"{stem}.csv", "json": directory / f"{stem}.json"}
    stats.to_csv(paths["csv"], index=False)
    stats.to_json(paths["json"], orient="records", force_ascii=False, indent=1)
    return paths
