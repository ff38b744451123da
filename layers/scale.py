"""Scale-out on Dask: daily station means → daily grids (time, lat, lon) → quarterly means.

A year of daily 0.01° grids over China is 365 × 3600 × 6200 cells, ~32 GB per float32 variable,
more than one machine holds. Here the cube is a dask-backed ``xarray.Dataset`` chunked in time
and space; every chunk is interpolated by :func:`lantian.layers.interpolate.interpolate` (the
same function the in-memory pipeline calls for a whole quarter) on the chunk's lat/lon window,
from the full station table of each of the chunk's days. Quarterly means are a dask reduction of
that cube, and both are written to Zarr (or NetCDF) chunk by chunk: no step materialises the
cube. It runs on whatever scheduler is active: dask's threads by default, or a
``distributed.Client`` (``LocalCluster``, dask-jobqueue, Kubernetes…).

* :func:`station_table` — ``daily_means`` output + station coordinates → :class:`Stations`.
* :func:`daily_grids` — the lazy daily cube, variables ``pm25`` and ``pm25_uncertainty``.
* :func:`period_means` / :func:`quarterly_from_daily` — lazy means over quarters (``2019Q1``)
  or months (``2019-01``), ``time`` = the period's first day, with ``n_days``.
* :func:`write` / :func:`run` — store to ``.zarr`` or ``.nc`` chunk by chunk.
* :func:`cluster` — a ``distributed.Client`` on a new ``LocalCluster`` or a running scheduler;
  :func:`connect` — the same from ``"local"``, ``"local:N"`` or a scheduler address.
* :func:`quarter_grids` — one in-memory 2-D grid per period in the layers contract (attrs
  ``quarter``, ``method``), for ``writers.write_cog``/``write_cube`` and the tiles.
* :func:`daily_period_grids` — all of the above for ``lantian build --method daily-idw``: the
  build's daily means and stations in, the Zarr stores under a directory, one grid per period
  out.

A chunk's cells are independent of every other chunk's (interpolation reads only stations), so
chunks never exchange data and the result does not depend on the chunking.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import dask.array as da
import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr
from dask.array.core import PerformanceWarning

from lantian.layers import periods as periods_module
from lantian.layers.grid import UNITS, GridSpec
from lantian.layers.interpolate import MIN_STATIONS, Options, interpolate
from lantian.layers.periods import quarter_of

if TYPE_CHECKING:
    from distributed import Client

VARIABLES = ("pm25", "pm25_uncertainty")
DAILY_ZARR = "daily.zarr"  # daily_period_grids' stores under its zarr_dir
PERIODS_ZARR = "periods.zarr"


@dataclass(frozen=True)
class Chunks:
    """Chunk sizes of the daily cube: days, rows (lat) and columns (lon) per chunk.

    The default (8 days × 512 × 512) is 8 MB per chunk and variable in float32, and a year of
    the 0.01° China grid is 46 × 8 × 13 = 4,784 chunks."""

    time: int = 8
    lat: int = 512
    lon: int = 512


@dataclass(frozen=True)
class Stations:
    """Daily station means aligned with coordinates: ``values[day, station]`` (NaN = no valid
    day), ``lon``/``lat`` per station, ``dates`` per day."""

    dates: pd.DatetimeIndex
    codes: tuple[str, ...]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]


def station_table(daily: pd.DataFrame, stations: pd.DataFrame) -> Stations:
    """Align ``daily`` (``observations.daily_means``: date × station code) with ``stations``
    (``code, lon, lat`` and optionally ``status``: only ``ok`` rows are used, as in the
    pipeline). Stations without coordinates or without any daily value are left out."""
    table = stations
    if "status" in table.columns:
        table = table[table["status"] == "ok"]
    table = table.dropna(subset=["lon", "lat"]).drop_duplicates("code").set_index("code")
    codes = [code for code in daily.columns if code in table.index]
    values = daily[codes].to_numpy(np.float64)
    used = np.isfinite(values).any(axis=0)
    codes = [code for code, keep in zip(codes, used, strict=True) if keep]
    if len(codes) < MIN_STATIONS:
        raise ValueError(f"need at least {MIN_STATIONS} located stations with daily values, "
                         f"got {len(codes)}")
    located = table.loc[codes]
    return Stations(
        dates=pd.DatetimeIndex(daily.index).normalize(),
        codes=tuple(codes),
        lon=located["lon"].to_numpy(np.float64),
        lat=located["lat"].to_numpy(np.float64),
        values=values[:, used],
    )


def daily_grids(
    stations: Stations,
    grid: GridSpec,
    options: Options | None = None,
    chunks: Chunks | None = None,
    *,
    mask: npt.NDArray[np.bool_] | None = None,
) -> xr.Dataset:
    """The lazy daily cube ``(time, lat, lon)``: ``pm25`` and ``pm25_uncertainty`` (float32,
    µg/m³, NaN = no data), one dask chunk per ``chunks`` window. A day with fewer than three
    stations is all NaN, and so are cells outside ``mask`` (of ``grid.shape``, as in
    ``interpolate``); a chunk with no cell inside it is not interpolated at all."""
    opts = options or Options()
    size = chunks or Chunks()
    if mask is not None and mask.shape != grid.shape:
        raise ValueError(f"mask shape {mask.shape} is not the grid's {grid.shape}")
    inside = (da.ones(grid.shape, bool, chunks=(size.lat, size.lon)) if mask is None
              else da.from_array(mask, chunks=(size.lat, size.lon)))
    values = da.from_array(stations.values, chunks=(size.time, -1))
    coords = da.from_array(np.column_stack([stations.lon, stations.lat]), chunks=-1)
    days = da.from_array(stations.dates.to_numpy("datetime64[ns]"), chunks=size.time)
    lats = da.from_array(grid.lats, chunks=size.lat)
    lons = da.from_array(grid.lons, chunks=size.lon)
    with warnings.catch_warnings():  # many more output chunks than inputs: that is the point
        warnings.simplefilter("ignore", PerformanceWarning)
        both = da.blockwise(
            _block, "btyx",
            values, "ts", coords, "sc", days, "t", lats, "y", lons, "x", inside, "yx",
            new_axes={"b": 2}, concatenate=True, dtype=np.float32,
            meta=np.empty((0, 0, 0, 0), np.float32),
            grid=grid, options=opts,
        )
    dims = ("time", "lat", "lon")
    method = f"daily-{opts.method}"
    return xr.Dataset(
        {
            "pm25": (dims, both[0], {"units": UNITS, "long_name": "daily mean PM2.5"}),
            "pm25_uncertainty": (dims, both[1], {
                "units": UNITS, "long_name": f"daily PM2.5 uncertainty ({opts.method})"}),
        },
        coords={"time": stations.dates.to_numpy("datetime64[ns]"), "lat": grid.lats,
                "lon": grid.lons},
        attrs={"method": method, "n_stations": len(stations.codes)},
    )


def _block(
    values: npt.NDArray[np.float64],
    coords: npt.NDArray[np.float64],
    days: npt.NDArray[np.datetime64],
    lats: npt.NDArray[np.float64],
    lons: npt.NDArray[np.float64],
    inside: npt.NDArray[np.bool_],
    *,
    grid: GridSpec,
    options: Options,
) -> npt.NDArray[np.float32]:
    """One chunk: ``interpolate`` each day's stations onto the cells of the chunk's window of
    ``grid`` that are ``inside`` the mask."""
    out = np.full((2, len(days), len(lats), len(lons)), np.nan, np.float32)
    if not (len(days) and inside.any()):
        return out
    half = grid.res / 2  # the sub-grid whose cell centres are lats × lons
    window = grid.subgrid(lons[0] - half, lats[-1] - half, lons[-1] + half, lats[0] + half)
    for i, day in enumerate(pd.DatetimeIndex(days)):
        ok = np.isfinite(values[i])
        distinct = np.unique(np.round(coords[ok], 6), axis=0)
        if len(distinct) < MIN_STATIONS:
            continue
        ds = interpolate(coords[ok, 0], coords[ok, 1], values[i, ok], window, quarter_of(day),
                         options, mask=None if inside.all() else inside).dataset
        out[0, i] = ds["pm25"].to_numpy()
        out[1, i] = ds["pm25_uncertainty"].to_numpy()
    return out


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of a month (``2019-01``), quarter (``2019Q1``) or year (``2019``) and of the
    next one."""
    return periods_module.bounds(period)


def period_means(daily: xr.Dataset, periods: Sequence[str], min_days: int = 1) -> xr.Dataset:
    """Lazy means of a daily cube over each of ``periods`` (months, quarters, years): ``time`` = the
    period's first day, ``quarter`` = its label, ``pm25`` = mean of the cell's days with a value,
    ``pm25_uncertainty`` = mean of those days' uncertainty (a typical daily spread, not the
    error of the mean), ``n_days`` = how many days had a value. Cells with fewer than
    ``min_days`` days are NaN. Means are summed in float64 and stored as float32."""
    days = pd.DatetimeIndex(daily["time"].to_numpy())
    means = []
    for period in periods:
        start, end = period_bounds(period)
        within = (days >= start) & (days < end)
        if not within.any():
            raise ValueError(f"no day of {period} in the daily grids")
        one = daily[list(VARIABLES)].isel(time=within)
        n_days = one["pm25"].notnull().sum("time").astype(np.int16)
        mean = one.astype(np.float64).mean("time").astype(np.float32).where(n_days >= min_days)
        means.append(mean.assign(n_days=n_days))
    out = xr.concat(means, dim="time").assign_coords(
        time=np.array([period_bounds(p)[0] for p in periods], "datetime64[ns]"),
        quarter=("time", np.array(periods, object)),  # object: a stable Zarr v3 string dtype
    )
    out["n_days"].attrs = {"long_name": "days with a daily value", "units": "1"}
    out["pm25"].attrs = {"units": UNITS, "long_name": "period mean of daily PM2.5",
                         "cell_methods": "time: mean"}
    out["pm25_uncertainty"].attrs = {"units": UNITS,
                                     "long_name": "period mean of daily PM2.5 uncertainty"}
    out.attrs = {**daily.attrs, "min_days": min_days}
    return out


def quarterly_from_daily(daily: xr.Dataset, min_days: int = 1) -> xr.Dataset:
    """:func:`period_means` over every quarter with a day in ``daily``."""
    days = pd.DatetimeIndex(daily["time"].to_numpy())
    return period_means(daily, sorted({quarter_of(day) for day in days}), min_days)


def write(ds: xr.Dataset, path: Path | str, *, compute: bool = True) -> Any:
    """Store ``ds`` chunk by chunk to ``path`` (``.zarr`` directory or ``.nc`` NetCDF-4) and
    return ``path``; with ``compute=False`` return the dask ``Delayed`` of the write instead.
    A ``.zarr`` target may be an fsspec URL (``s3://bucket/cube.zarr``, needs ``s3fs``; every
    worker writes its own chunks there)."""
    url = isinstance(path, str) and "://" in path
    target: Path | str = path if url else Path(path)
    suffix = Path(str(path).rstrip("/")).suffix
    encoding = {name: {"_FillValue": np.nan} for name in ds.data_vars
                if np.issubdtype(ds[name].dtype, np.floating)}
    ds = ds.copy()
    for name in ds.variables:
        ds[name].encoding = {}  # stale encodings (e.g. from an opened file) would conflict
    if suffix == ".zarr":
        if not compute:
            return ds.to_zarr(target, mode="w", compute=False, encoding=encoding,
                              consolidated=False)
        ds.to_zarr(target, mode="w", encoding=encoding, consolidated=False)
    elif suffix == ".nc" and not url:
        for name in encoding:
            encoding[name].update(zlib=True, complevel=4)
        delayed = ds.to_netcdf(target, format="NETCDF4", engine="netcdf4", encoding=encoding,
                               compute=compute)
        if not compute:
            return delayed
    else:
        raise ValueError(f"write to a .zarr path or URL or a local .nc path, not {path}")
    return target


def run(
    stations: Stations,
    grid: GridSpec,
    quarterly_path: Path | str,
    *,
    daily_path: Path | str | None = None,
    options: Options | None = None,
    chunks: Chunks | None = None,
    min_days: int = 1,
    periods: Sequence[str] | None = None,
    mask: npt.NDArray[np.bool_] | None = None,
) -> xr.Dataset:
    """Daily grids → means over ``periods`` (default: every quarter of the days) →
    ``quarterly_path`` (and the daily cube to ``daily_path`` when given), in one dask
    computation so each daily chunk is interpolated once. Returns the lazy daily cube."""
    daily = daily_grids(stations, grid, options, chunks, mask=mask)
    means = (quarterly_from_daily(daily, min_days) if periods is None
             else period_means(daily, periods, min_days))
    writes = [write(means, quarterly_path, compute=False)]
    if daily_path is not None:
        writes.append(write(daily, daily_path, compute=False))
    with warnings.catch_warnings():  # the station table and the mask ride in the graph, once
        warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
        dask.compute(*writes)
    return daily


def quarter_grids(quarterly: xr.Dataset) -> Iterator[xr.Dataset]:
    """One in-memory 2-D grid per period of :func:`period_means` (``pm25``,
    ``pm25_uncertainty``, ``n_days``; attrs ``quarter`` = the period's label, ``method``,
    ``n_stations``, ``min_days``; no encodings) — the layers contract of a quarterly grid, for
    ``writers.write_cog``/``write_cube`` and ``tiles.raster``."""
    for i in range(quarterly.sizes["time"]):
        one = quarterly.isel(time=i).compute()
        quarter = str(one["quarter"].item())
        one = one.drop_vars(["time", "quarter"]).assign_attrs(
            quarter=quarter, method=str(quarterly.attrs.get("method", "")),
            n_stations=int(quarterly.attrs.get("n_stations", 0)),
        )
        for name in one.variables:
            one[name].encoding = {}  # the store's chunks and codecs would bind other writers
        yield one


def daily_period_grids(
    daily: pd.DataFrame,
    stations: pd.DataFrame,
    grid: GridSpec,
    periods: Sequence[str],
    zarr_dir: Path,
    *,
    options: Options,
    mask: npt.NDArray[np.bool_] | None = None,
    chunks: Chunks = Chunks(),
    min_days: int = 1,
) -> list[xr.Dataset]:
    """One grid per period (quarter ``2019Q1`` or month ``2019-01``) as the mean of daily
    grids, on whatever dask scheduler is active (a ``distributed.Client``, e.g. :func:`cluster`).

    ``daily`` is ``observations.daily_means`` output (date × station code), ``stations`` has
    ``code, lon, lat, status`` (only ``ok`` rows are used). Every day of the periods is
    interpolated with ``options`` over the cells of ``mask``; the daily cube goes to
    ``zarr_dir/daily.zarr`` and the period means (with ``n_days``) to ``zarr_dir/periods.zarr``.
    Each returned grid is laid out like ``interpolate(...).dataset``: ``pm25`` and
    ``pm25_uncertainty`` (float32, NaN where fewer than ``min_days`` days had a value), attrs
    ``quarter`` (the period's label), ``method`` (``daily-idw`` with IDW options),
    ``n_stations`` (stations with a value on a day of the period) and ``min_days``; no ``cv_*``
    attrs (no cross-validation of period means of daily grids is made). ValueError when there is
    no period, a period has no day in ``daily`` or fewer than 3 stations have values at all."""
    if not periods:
        raise ValueError("no period to grid")
    dates = pd.DatetimeIndex(daily.index).normalize()
    within = np.zeros(len(dates), bool)
    for period in periods:
        start, end = period_bounds(period)
        within |= (dates >= start) & (dates < end)
    table = station_table(daily[within].sort_index(), stations)
    zarr_dir.mkdir(parents=True, exist_ok=True)
    run(table, grid, zarr_dir / PERIODS_ZARR, daily_path=zarr_dir / DAILY_ZARR,
        options=options, chunks=chunks, min_days=min_days, periods=periods, mask=mask)
    stored = xr.open_zarr(zarr_dir / PERIODS_ZARR, consolidated=False)
    return [one[list(VARIABLES)].assign_attrs(
                n_stations=_stations_reporting(table, one.attrs["quarter"]))
            for one in quarter_grids(stored)]


def _stations_reporting(table: Stations, period: str) -> int:
    """How many of ``table``'s stations have a value on a day of ``period``."""
    start, end = period_bounds(period)
    within = (table.dates >= start) & (table.dates < end)
    return int(np.isfinite(table.values[within]).any(axis=0).sum())


@contextmanager
def cluster(
    workers: int | None, scheduler: str | None, *, memory_limit: str = "auto"
) -> Iterator[Client]:
    """A ``distributed.Client`` for the enclosed dask computations, closed on exit: connected
    to the running scheduler at ``scheduler`` (``tcp://host:8786``), else to a new
    ``LocalCluster`` of ``workers`` (default 2) one-thread worker processes of
    ``memory_limit`` each. ValueError when both are given (a remote cluster has its own)."""
    from distributed import Client, LocalCluster

    if scheduler:
        if workers is not None:
            raise ValueError("workers is for a local cluster, not a scheduler at " + scheduler)
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                      memory_limit=memory_limit, dashboard_address=":0") as local, \
            Client(local) as client:
        yield client


@contextmanager
def connect(scheduler: str | None, memory_limit: str = "auto") -> Iterator[Client | None]:
    """Run the enclosed dask computations on a cluster: ``None`` = dask's local threads (no
    cluster), ``"local"`` / ``"local:N"`` = a ``LocalCluster`` of N (default 2) one-thread
    worker processes, anything else = the address of a running scheduler."""
    if scheduler is None:
        yield None
    elif scheduler == "local" or scheduler.startswith("local:"):
        with cluster(int(scheduler.partition(":")[2] or 2), None,
                     memory_limit=memory_limit) as client:
            yield client
    else:
        with cluster(None, scheduler) as client:
            yield client
