"""Write layers to files: COGs per month, quarter and year, CF NetCDF cubes, point tables,
statistics.

Raster nodata is NaN (float32) in both the COG and the NetCDF cube.
"""

from __future__ import annotations

import json
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

from lantian.geo.regions import region_membership
from lantian.layers import periods
from lantian.layers.grid import UNITS

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


ADJECTIVES = {"month": "monthly", "quarter": "quarterly", "year": "annual"}


def write_cog(ds: xr.Dataset, directory: Path) -> Path:
    """``pm25_<period>.tif`` (attr ``quarter`` holds the period's label: 2019-01, 2019Q1, 2019):
    2-band float32 COG (PM2.5, uncertainty), EPSG:4326,
    DEFLATE + floating-point predictor, overviews, nodata NaN; values rounded to DECIMALS."""
    path = Path(directory) / f"pm25_{ds.attrs['quarter']}.tif"
    data = np.stack([ds[b].transpose("lat", "lon").to_numpy().astype(np.float32) for b in BANDS])
    data = np.round(data, DECIMALS)
    profile = {
        "driver": "COG", "width": data.shape[2], "height": data.shape[1], "count": 2,
        "dtype": "float32", "crs": WGS84, "transform": grid_transform(ds), "nodata": np.nan,
        "compress": "DEFLATE", "predictor": 3, "overviews": "AUTO", "blocksize": 256,
        # level 1 on every core: 3.8 → 2.1 s for a China grid, 11 % larger (bench/README.md)
        "level": 1, "num_threads": "ALL_CPUS",
        # overviews hold means (GDAL's default, cubic, rings and compresses worse: 26 → 20 MB)
        "resampling": "average",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for band, name in enumerate(BANDS, start=1):
            dst.set_band_description(band, name)
            dst.set_band_unit(band, UNITS)
        label = str(ds.attrs["quarter"])
        dst.update_tags(period=label, period_type=periods.period_type(label),
                        method=str(ds.attrs.get("method", "")),
                        cv_rmse=str(ds.attrs.get("cv_rmse", "")))
    return path


def write_cube(
    grids: Sequence[xr.Dataset], path: Path, *, title: str, source: str
) -> Path:
    """CF-1.8 NetCDF cube (time, lat, lon) of the grids of one period type (months, quarters or
    years): time = period start with ``time_bnds`` [start, next period's start), cell edges in
    ``lat_bnds``/``lon_bnds``, WGS-84 in the ``crs`` grid mapping, the period label as an
    auxiliary coordinate named after the type (``month``, ``quarter``, ``year``)."""
    labels = [str(g.attrs["quarter"]) for g in grids]
    kinds = {periods.period_type(label) for label in labels}
    if len(kinds) != 1:
        raise ValueError(f"a cube holds one period type, not {sorted(kinds)}")
    kind = kinds.pop()
    bounds = np.array([periods.bounds(label) for label in labels], dtype="datetime64[ns]")
    cube = xr.concat([g[list(BANDS)].round(DECIMALS) for g in grids], dim="time", join="exact",
                     combine_attrs="drop")
    cube = cube.assign_coords({"time": bounds[:, 0], kind: ("time", np.array(labels, object))})
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
    cube["time"].attrs.update(standard_name="time", long_name=f"start of the {kind}", axis="T",
                              bounds="time_bnds")
    cube[kind].attrs.update(long_name=kind)
    cube["lat"].attrs.update(standard_name="latitude", long_name="latitude of the cell centre",
                             units="degrees_north", axis="Y", bounds="lat_bnds")
    cube["lon"].attrs.update(standard_name="longitude", long_name="longitude of the cell centre",
                             units="degrees_east", axis="X", bounds="lon_bnds")
    cube["pm25"].attrs = {"standard_name": STANDARD_NAME, "units": UNITS,
                          "long_name": f"{ADJECTIVES[kind]} mean PM2.5", "grid_mapping": "crs",
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


NOT_AVAILABLE = "not available"  # the CSV's word for a change that cannot be computed


def write_stats(
    stats: pd.DataFrame,
    directory: Path,
    stem: str = "region_stats",
    *,
    cities: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """CSV and JSON (list of records; NaN → null) of a statistics table. In the CSV a change
    that cannot be computed (``change_*_pct`` NaN: the earlier period is not in the inputs) reads
    ``not available``, never blank or 0. With ``cities`` (the boundaries' cities table),
    ``regions.json`` too: who belongs to which group and province
    (:func:`lantian.geo.regions.region_membership`)."""
    directory = Path(directory)
    paths = {"csv": directory / f"{stem}.csv", "json": directory / f"{stem}.json"}
    changes = [c for c in stats.columns if c.startswith("change_") and c.endswith("_pct")]
    table = stats.astype({c: object for c in changes})
    for column in changes:
        table[column] = table[column].where(stats[column].notna(), NOT_AVAILABLE)
    table.to_csv(paths["csv"], index=False)
    stats.to_json(paths["json"], orient="records", force_ascii=False, indent=1)
    if cities is not None:
        paths["regions"] = directory / "regions.json"
        paths["regions"].write_text(json.dumps(region_membership(cities), ensure_ascii=False,
                                               indent=1), encoding="utf-8")
    return paths
