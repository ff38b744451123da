"""Gridded PM2.5 products (NetCDF via xarray, GeoTIFF via rasterio) → quarterly means on a
:class:`GridSpec`.

Supported layouts:

* ChinaHighPM2.5 (CHAP): variable ``PM2.5``, 1-D ``lat``/``lon``, int16 packed with
  ``scale_factor``/``add_offset``/``_FillValue``; one file per day or month.
* ACAG / V5.GL (WashU): variable ``PM25`` or ``GWRPM25``, 1-D ``lat``/``lon``; monthly files.
* GeoTIFF: band 1 with nodata (and scale/offset tags); a CRS is required (other CRSs are
  warped to EPSG:4326).

Values must be µg/m³ (a NetCDF ``units`` attribute other than µg/m³ is an error; none means
µg/m³): NaN/nodata cells are no data, while ±inf, negative or implausible (> 3000) values, a file
with no valid cell, an unreadable or truncated file and a grid that misses the release grid are
:class:`InputError` naming the file (and the cell).

The time of a file is its ``time`` coordinate, else the global attribute
``time_coverage_start``, else the first 8-digit (YYYYMMDD) or 6-digit (YYYYMM) run in the file
name, e.g. ``CHAP_PM2.5_D1K_20190101_V4.nc`` or ``V5GL03.HybridPM25.Asia.201901-201901.nc``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio._err import CPLE_BaseError
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.vrt import WarpedVRT

from lantian.errors import InputError
from lantian.layers import periods
from lantian.layers.grid import GridSpec
from lantian.layers.periods import quarter_of

VARIABLES = ("PM2.5", "PM25", "GWRPM25")
MAX_PLAUSIBLE = 3000.0  # µg/m³; no PM2.5 product has means anywhere near this
# accepted spellings of µg/m³ (lowercase, spaces removed, µ/μ → u, ³ → 3); absent = µg/m³
_UNITS = {"ugm-3", "ug/m3", "ugm^-3", "ugm**-3", "ug.m-3", "ug/m^3", "microgram/m3",
          "microgramsm-3", "microgrampercubicmeter", "microgramspercubicmetre",
          "microgramspercubicmeter", "microgrampercubicmetre"}
_LAT = ("lat", "latitude")
_LON = ("lon", "longitude")
_STAMP = re.compile(r"(?<!\d)(\d{8}|\d{6})(?!\d)")


def read_gridded(paths: str | Path | Sequence[str | Path]) -> xr.DataArray:
    """Read one or many files → ``pm25`` (time, lat, lon), float32 µg/m³, NaN = no data,
    latitudes north → south. All files must share one grid."""
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not files:
        raise ValueError("no gridded files given")
    arrays = [_read_one(path) for path in files]
    try:
        stacked = xr.concat(arrays, dim="time", join="exact")
    except ValueError as exc:
        raise InputError(files[0], f"files do not share one grid: {exc}") from exc
    return stacked.sortby("time")


def _read_one(path: Path) -> xr.DataArray:
    if path.suffix.lower() in (".tif", ".tiff"):
        data = _read_geotiff(path)
        when = _time_from_name(path)
        field = "band 1"
    else:
        data, when = _read_netcdf(path)
        field = str(data.name)
    _check_coords(path, data)
    _check_values(path, data, field)
    data = data.sortby("lat", ascending=False).sortby("lon").astype(np.float32)
    data = data.drop_vars([c for c in data.coords if c not in ("lat", "lon")])
    return data.expand_dims(time=[when]).rename("pm25")


def _read_netcdf(path: Path) -> tuple[xr.DataArray, pd.Timestamp]:
    try:
        ds = xr.open_dataset(path, mask_and_scale=True, decode_times=True)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read NetCDF: {exc}") from exc
    with ds:
        name = next((v for v in VARIABLES if v in ds.data_vars), None)
        if name is None:
            raise InputError(path, f"no PM2.5 variable (expected one of {VARIABLES})")
        lat = next((c for c in _LAT if c in ds.coords and ds[c].ndim == 1), None)
        lon = next((c for c in _LON if c in ds.coords and ds[c].ndim == 1), None)
        if lat is None or lon is None:
            raise InputError(path, "missing 1-D lat/lon coordinates", field=name)
        units = str(ds[name].attrs.get("units", "ug m-3"))
        key = units.lower().replace(" ", "").translate({ord("µ"): "u", ord("μ"): "u",
                                                         ord("³"): "3"})
        if key not in _UNITS:
            raise InputError(path, f"units {units!r} are not µg/m³", field=name)
        data = ds[name].rename({lat: "lat", lon: "lon"})
        if "time" in data.dims:
            if data.sizes["time"] != 1:
                raise InputError(path, "expected one time step per file", field="time")
            when = pd.Timestamp(data["time"].values[0])
            data = data.isel(time=0)
        elif "time_coverage_start" in ds.attrs:
            when = pd.Timestamp(ds.attrs["time_coverage_start"][:10])
        else:
            when = _time_from_name(path)
        extra = set(data.dims) - {"lat", "lon"}
        if extra:
            raise InputError(path, f"unexpected dimensions {sorted(map(str, extra))}", field=name)
        return data.load(), when


def _read_geotiff(path: Path) -> xr.DataArray:
    """Band 1 with nodata masked and scale/offset applied, warped to EPSG:4326 if needed.
    (Read with rasterio: rioxarray 0.19 trips affine's ``*`` deprecation warning.)"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise InputError(path, "GeoTIFF has no CRS")
                if src.crs.to_epsg() == 4326:
                    return _band_one(src)
                with WarpedVRT(src, crs="EPSG:4326") as vrt:
                    return _band_one(vrt)
    except NotGeoreferencedWarning as exc:
        raise InputError(path, "GeoTIFF has no georeferencing (truncated, or not a map?)") from exc
    except (RasterioError, CPLE_BaseError) as exc:
        raise InputError(path, f"cannot read GeoTIFF: {exc}") from exc


def _band_one(src: rasterio.DatasetReader | WarpedVRT) -> xr.DataArray:
    values = src.read(1, masked=True).astype(np.float64).filled(np.nan)
    values = values * src.scales[0] + src.offsets[0]
    transform = src.transform
    lon = (transform @ (np.arange(src.width) + 0.5, np.full(src.width, 0.5)))[0]
    lat = (transform @ (np.full(src.height, 0.5), np.arange(src.height) + 0.5))[1]
    return xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})


def _check_values(path: Path, data: xr.DataArray, field: str) -> None:
    """Values are µg/m³ concentrations: NaN is no data, but ±inf, negative or implausibly
    large values (an undeclared nodata value, wrong units, corrupt bytes) are errors."""
    values = data.to_numpy()
    finite = np.isfinite(values)
    if not finite.any():
        raise InputError(path, "no valid values: every cell is nodata", field=field)
    problems = (
        (np.isinf(values), "not finite"),
        (finite & (values < 0), "negative (an undeclared nodata value?)"),
        (finite & (values > MAX_PLAUSIBLE), f"above {MAX_PLAUSIBLE:g} µg/m³ (wrong units or "
                                            "an undeclared nodata value?)"),
    )
    for bad, what in problems:
        if bad.any():
            row, col = (int(i) + 1 for i in np.argwhere(bad)[0])
            raise InputError(path, f"value {values[row - 1, col - 1]:g} at row {row}, column "
                             f"{col} is {what}; {int(bad.sum())} such cell(s)", field=field)


def _check_coords(path: Path, data: xr.DataArray) -> None:
    lat, lon = data["lat"].to_numpy(), data["lon"].to_numpy()
    if lat.size < 2 or lon.size < 2:
        raise InputError(path, "grid needs at least 2 cells per axis")
    if np.abs(lat).max() > 90 or np.abs(lon).max() > 360:
        raise InputError(path, "lat/lon out of range: coordinates are not degrees")


def _time_from_name(path: Path) -> pd.Timestamp:
    match = _STAMP.search(path.name)
    if match is None:
        raise InputError(path, "no time coordinate, attribute or YYYYMM[DD] in the file name")
    stamp = match.group(1)
    try:
        return pd.Timestamp(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8] or '01'}")
    except ValueError as exc:
        raise InputError(path, f"bad date in file name: {stamp}") from exc


def quarterly_means(data: xr.DataArray) -> xr.DataArray:
    """Mean of the valid values per calendar quarter → dims (quarter, lat, lon)."""
    labels = [quarter_of(pd.Timestamp(t)) for t in data["time"].to_numpy()]
    grouped = data.assign_coords(quarter=("time", labels)).groupby("quarter")
    return grouped.mean("time", skipna=True).astype(np.float32)


def regrid(
    data: xr.DataArray, grid: GridSpec, method: Literal["nearest", "linear"] = "nearest"
) -> xr.DataArray:
    """Resample onto the cell centres of ``grid`` (lat north → south). ``nearest`` takes the
    source cell containing each centre (NaN outside the source cells); ``linear`` interpolates
    between source centres (NaN beyond the outermost centres)."""
    ordered = data.sortby("lat").sortby("lon")
    if method == "linear":
        out = ordered.interp(lat=grid.lats, lon=grid.lons, method="linear")
    else:
        half = {axis: float(np.abs(np.diff(ordered[axis].to_numpy())).max()) / 2
                for axis in ("lat", "lon")}
        out = ordered.reindex(lat=grid.lats, method="nearest", tolerance=half["lat"] + 1e-9)
        out = out.reindex(lon=grid.lons, method="nearest", tolerance=half["lon"] + 1e-9)
    return out.astype(np.float32)


def _check_overlap(files: list[Path], data: xr.DataArray, grid: GridSpec) -> None:
    """The product must cover part of the release grid (a GeoTIFF labelled with the wrong CRS
    lands elsewhere, e.g. degrees read as metres of Web Mercator end up near 0°, 0°)."""
    lat, lon = data["lat"].to_numpy(), data["lon"].to_numpy()
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    if east < grid.west or west > grid.east or north < grid.south or south > grid.north:
        raise InputError(files[0], f"grid ({west:.4g}, {south:.4g}, {east:.4g}, {north:.4g}) "
                         f"does not overlap the release grid {grid.bounds}: wrong CRS, or "
                         "lat/lon swapped?")


def satellite_grids(paths: Sequence[str | Path], grid: GridSpec) -> list[xr.Dataset]:
    """Grids on ``grid`` per month, quarter and year from a product's files (the contract's
    Dataset layout; attr ``quarter`` = the period's label), in time order.

    ``pm25_uncertainty`` is the standard error of the period mean over the product's time
    steps (daily or monthly files); it is NaN where a period has a single time step. A year is
    made only when every one of its months has a time step.
    """
    data = read_gridded(paths)
    files = [Path(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    _check_overlap(files, data, grid)
    times = [pd.Timestamp(t) for t in data["time"].to_numpy()]
    months = {periods.month_of(t) for t in times}
    grids = []
    for kind in periods.PERIOD_TYPES:
        labels = [periods.label_of(t, kind) for t in times]
        complete = [label for label in sorted(set(labels)) if kind != "year"
                    or all(f"{label}-{m:02d}" in months for m in range(1, 13))]
        grids += _period_grids(data, labels, complete, grid, files)
    return sorted(grids, key=lambda ds: periods.sort_key(str(ds.attrs["quarter"])))


def _period_grids(data: xr.DataArray, labels: list[str], wanted: list[str], grid: GridSpec,
                  files: list[Path]) -> list[xr.Dataset]:
    grouped = data.assign_coords(quarter=("time", labels)).groupby("quarter")
    means = grouped.mean("time", skipna=True).astype(np.float32)
    counts = grouped.count("time")
    stderr = grouped.std("time", skipna=True, ddof=1) / np.sqrt(counts.where(counts > 1))
    grids = []
    for quarter in wanted:
        pm25 = regrid(means.sel(quarter=quarter).drop_vars("quarter"), grid)
        sigma = regrid(stderr.sel(quarter=quarter).drop_vars("quarter"), grid)
        if not np.isfinite(pm25.to_numpy()).any():
            raise InputError(files[0], f"{quarter}: no valid value falls on the release grid "
                             f"{grid.bounds}")
        grids.append(xr.Dataset(
            {
                "pm25": (("lat", "lon"), pm25.to_numpy(), {"units": "ug m-3",
                                                         "long_name": "PM2.5"}),
                "pm25_uncertainty": (("lat", "lon"), sigma.to_numpy(), {
                    "units": "ug m-3",
                    "long_name": "PM2.5 standard error of the period mean",
                }),
            },
            coords={"lat": grid.lats, "lon": grid.lons},
            attrs={"quarter": str(quarter), "method": "satellite",
                   "n_time_steps": int(counts.sel(quarter=quarter).max())},
        ))
    return grids
