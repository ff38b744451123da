"""Stages of the PM2.5 surface: a grid per period, the NetCDF cube, map tiles per period and
colour scale, and where the surface lies far from every station."""

from __future__ import annotations

import json
import math
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, TypeVar

import dask
import dask.array
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import xarray as xr
from shapely.geometry.base import BaseGeometry

from lantian.errors import BuildError
from lantian.layers.coverage import clip_to_country, country_mask, sparse_areas
from lantian.layers.grid import GridSpec
from lantian.layers.interpolate import Options as InterpolationOptions
from lantian.layers.interpolate import interpolate
from lantian.layers.periods import PERIOD_TYPES, period_type
from lantian.layers.periods import bounds as period_bounds
from lantian.layers.periods import sort_key as period_sort_key
from lantian.layers.satellite import satellite_grids
from lantian.layers.writers import ADJECTIVES, BANDS, write_cog, write_cube
from lantian.pipeline.cache import Entry
from lantian.pipeline.inputs import BuildInputs, BuildOptions
from lantian.pipeline.observations import StationData
from lantian.pipeline.stages import Runner, frame_digest, stage_key
from lantian.tiles.colormaps import COLORMAPS
from lantian.tiles.pmtiles_io import write_raster_pmtiles
from lantian.tiles.raster import grid_from_dataset
from lantian.tiles.vector import (
    build_sparse_tiles,
    build_station_tiles,
    station_layer,
    station_quarter_fields,
)

GRID_CODE = ("layers/interpolate.py", "layers/grid.py", "layers/coverage.py",
             "layers/writers.py", "layers/periods.py", "pipeline/grids.py")
DAILY_CODE = (*GRID_CODE, "layers/scale.py")
SATELLITE_CODE = (*GRID_CODE, "layers/satellite.py")
TILE_CODE = ("tiles/raster.py", "tiles/colormaps.py", "tiles/pmtiles_io.py", "pipeline/grids.py")
VECTOR_CODE = ("tiles/vector.py", "layers/coverage.py", "pipeline/grids.py")
T = TypeVar("T")
PERIOD_WORKERS = 2  # grids and tiles of two periods at once
SPARSE_KM = 150.0  # farther than this from every station used, the surface is hatched
ATTRS = ("quarter", "method", "cv_rmse", "cv_mae", "cv_bias", "cv_n", "n_stations")


@dataclass(frozen=True)
class Grid:
    """A period's grid as its stage stored it: attrs (``quarter`` = the period's label,
    ``method``…), the key of the stage that made it and the entry holding its COG. The values
    are read when needed (seventeen China grids a year would hold 3 GB)."""

    attrs: dict[str, Any]
    key: str
    entry: Entry  # holds release/pm25/pm25_<period>.tif
    spec: GridSpec

    @property
    def period(self) -> str:
        return str(self.attrs["quarter"])

    def load(self) -> xr.Dataset:
        """The grid in memory (the layers contract: ``pm25``, ``pm25_uncertainty``, attrs)."""
        return _load(self.entry.path, self.period, self.spec)

    def lazy(self) -> xr.Dataset:
        """The grid as dask arrays, a band read from the COG when computed."""
        path = _cog(self.entry.path, self.period)
        bands = {name: (("lat", "lon"), dask.array.from_delayed(
            dask.delayed(_read_band)(path, i + 1, self.spec.shape), self.spec.shape, np.float32),
            {"units": "ug m-3"}) for i, name in enumerate(BANDS)}
        return xr.Dataset(bands, coords={"lat": self.spec.lats, "lon": self.spec.lons},
                          attrs=dict(self.attrs))


@dataclass(frozen=True)
class Surface:
    """The grids of every period and their cross-validation figures."""

    grids: list[Grid]
    cv: dict[str, dict[str, float]]
    source: str  # attribution of the surface

    @property
    def method(self) -> str:
        return str(self.grids[0].attrs["method"])

    @property
    def periods(self) -> list[str]:
        return [g.period for g in self.grids]


def surface(
    runner: Runner, inputs: BuildInputs, options: BuildOptions, data: StationData,
    country: BaseGeometry, boundaries_key: str, digests: dict[Path, str], source: str,
) -> Surface:
    """One grid per period: from satellite files when given, else interpolated from the
    stations with status ``ok`` (per period, or every day on Dask with ``daily-idw``)."""
    mask = _once(lambda: country_mask(options.grid, country))
    if inputs.satellite:
        grids = _satellite(runner, inputs, options.grid, country, boundaries_key, digests)
        return Surface([g for g in grids if period_type(g.period) in options.periods], {}, source)
    if options.method == "daily-idw":
        return Surface(_daily(runner, options, data, mask, boundaries_key), {}, source)
    grids = _interpolated(runner, options, data, mask, boundaries_key, inputs.stations[0])
    return Surface(grids, {g.period: _cv(g.attrs) for g in grids}, source)


def _once(make: Callable[[], T]) -> Callable[[], T]:
    """``make()`` computed by the first caller of any thread, then shared (rasterio's warning
    filters are process-wide: two threads rasterising at once raise its warnings)."""
    lock = threading.Lock()
    made = cache(make)

    def get() -> T:
        with lock:
            return made()

    return get


def _usable(data: StationData, kinds: tuple[str, ...]) -> tuple[
        pd.DataFrame, pd.DataFrame, list[str]]:
    """Valid station means of located stations, those stations, and every period of the
    ``kinds`` asked for (month, quarter, year) with a valid station mean (in time order)."""
    valid = data.means[data.means["valid"] & data.means["period_type"].isin(kinds)]
    located = data.stations[data.stations["status"] == "ok"].set_index("code")
    valid = valid[valid["code"].isin(located.index)]
    found = sorted(valid["period"].unique(), key=period_sort_key)
    if not any(period_type(p) == "quarter" for p in found):
        raise BuildError("no quarter has enough valid station days to build a grid")
    return valid, located, found


def _interpolated(
    runner: Runner, options: BuildOptions, data: StationData,
    mask: Callable[[], npt.NDArray[np.bool_]], boundaries_key: str, station_list: Path,
) -> list[Grid]:
    """A grid per period with enough valid station days; fewer than 3 usable stations in a
    period is a :class:`BuildError` saying why."""
    valid, located, periods = _usable(data, options.periods)
    settings = InterpolationOptions(method="kriging" if options.method == "kriging" else "idw",
                                    max_distance_km=options.max_distance_km,
                                    search_radius_km=options.max_distance_km)
    jobs = []
    for period in periods:
        rows = valid[valid["period"] == period]
        points = pd.DataFrame({"lon": located.loc[rows["code"], "lon"].to_numpy(),
                               "lat": located.loc[rows["code"], "lat"].to_numpy(),
                               "pm25": rows["pm25"].to_numpy()}, index=rows["code"].to_numpy())
        key = stage_key("grid", GRID_CODE, options.identity(), period, frame_digest(points),
                        boundaries_key)

        def write(folder: Path, period: str = period,
                  points: pd.DataFrame = points) -> dict[str, Any]:
            try:
                result = interpolate(points["lon"], points["lat"], points["pm25"], options.grid,
                                     period, settings, mask=mask())
            except ValueError as e:
                status = ", ".join(f"{n} {k}" for k, n in data.stations["status"].value_counts()
                                   .items())
                raise BuildError(
                    f"{period}: cannot interpolate from {len(points)} stations with status ok "
                    f"and a valid mean ({e}); station list {station_list}: {status}"
                ) from e
            result.dataset.attrs["merged"] = result.n_merged
            return _store(result.dataset, folder)

        jobs.append(partial(runner.run, "grid", key, write, _reader(period), label=period))
    # two periods at a time: one interpolates on every core while the other writes its COG
    with ThreadPoolExecutor(PERIOD_WORKERS) as pool:
        return [Grid(attrs, entry.key, entry, options.grid)
                for attrs, entry in pool.map(_call, jobs)]


def _call(job: Callable[[], tuple[dict[str, Any], Entry]]) -> tuple[dict[str, Any], Entry]:
    return job()


def _daily(
    runner: Runner, options: BuildOptions, data: StationData,
    mask: Callable[[], npt.NDArray[np.bool_]], boundaries_key: str,
) -> list[Grid]:
    """Every day interpolated on Dask and averaged per period (``daily-idw``); periods whose
    days are unchanged are reused."""
    from lantian.layers import scale

    _, _, periods = _usable(data, options.periods)
    stations = data.stations[data.stations["status"] == "ok"][["code", "lon", "lat", "status"]]
    days = pd.DatetimeIndex(data.daily.index)

    def within(period: str) -> npt.NDArray[np.bool_]:
        start, end = period_bounds(period)
        return np.asarray((days >= start) & (days < end))

    keys = {p: stage_key("grid", DAILY_CODE, options.identity(), p,
                         frame_digest(data.daily[within(p)]), frame_digest(stations),
                         boundaries_key) for p in periods}
    missing = [p for p in periods if runner.cache.get("grid", keys[p]) is None]
    needed = np.logical_or.reduce([within(p) for p in missing]) if missing else None
    made: dict[str, xr.Dataset] = {}
    if missing:
        runner.cache.root.mkdir(parents=True, exist_ok=True)
        with runner.progress.step(f"Daily IDW on Dask ({len(missing)} periods)"), \
                scale.cluster(options.workers, options.scheduler), \
                tempfile.TemporaryDirectory(prefix=".tmp-zarr-", dir=runner.cache.root) as zarr:
            found = scale.daily_period_grids(
                data.daily[needed], stations, options.grid, missing, Path(zarr),
                options=InterpolationOptions(method="idw", max_distance_km=math.inf,
                                             search_radius_km=math.inf), mask=mask())
        made = {str(ds.attrs["quarter"]): ds for ds in found}
    grids = []
    for period in periods:
        attrs, entry = runner.run(
            "grid", keys[period], partial(_store_made, made, period), _reader(period),
            label=f"{period} daily-idw")
        grids.append(Grid(attrs, entry.key, entry, options.grid))
    return grids


def _satellite(
    runner: Runner, inputs: BuildInputs, grid: GridSpec, country: BaseGeometry,
    boundaries_key: str, digests: dict[Path, str],
) -> list[Grid]:
    """Satellite grids regridded onto ``grid`` and clipped to China, in one stage."""
    key = stage_key("satellite", SATELLITE_CODE, grid, boundaries_key,
                    [(p.name, digests[p]) for p in inputs.satellite])

    def write(folder: Path) -> list[dict[str, Any]]:
        for ds in satellite_grids(inputs.satellite, grid):
            _store(clip_to_country(ds, country), folder)
        return read(folder)

    def read(folder: Path) -> list[dict[str, Any]]:
        periods = sorted((p.stem.removeprefix("grid-") for p in folder.glob("grid-*.json")),
                         key=period_sort_key)
        return [_attrs(folder, period) for period in periods]

    found, entry = runner.run("satellite", key, write, lambda e: read(e.path),
                              label=f"{len(inputs.satellite)} files")
    return [Grid(attrs, f"{entry.key}-{attrs['quarter']}", entry, grid) for attrs in found]


def _store_made(made: dict[str, xr.Dataset], period: str, folder: Path) -> dict[str, Any]:
    return _store(made[period], folder)


def _reader(period: str) -> Callable[[Entry], dict[str, Any]]:
    return lambda entry: _attrs(entry.path, period)


def _store(ds: xr.Dataset, folder: Path) -> dict[str, Any]:
    """The grid as its release COG plus its attributes (returned); its values are read back
    from the COG when needed, so a grid built now and one reused later are the same values
    (rounded as the COG holds)."""
    period = str(ds.attrs["quarter"])
    release = folder / "release" / "pm25"
    release.mkdir(parents=True, exist_ok=True)
    write_cog(ds, release)
    attrs = {k: _plain(ds.attrs[k]) for k in (*ATTRS, "merged") if k in ds.attrs}
    (folder / f"grid-{period}.json").write_text(json.dumps(attrs), encoding="utf-8")
    return _attrs(folder, period)


def _attrs(folder: Path, period: str) -> dict[str, Any]:
    return dict(json.loads((folder / f"grid-{period}.json").read_text(encoding="utf-8")))


def _cog(folder: Path, period: str) -> Path:
    return folder / "release" / "pm25" / f"pm25_{period}.tif"


def _read_band(path: Path, band: int, shape: tuple[int, int]) -> npt.NDArray[np.float32]:
    with rasterio.open(path) as src:
        data = src.read(band)
    if data.shape != shape:
        raise BuildError(f"cached grid {path} is {data.shape}, not {shape}")
    return data


def _load(folder: Path, period: str, grid: GridSpec) -> xr.Dataset:
    path = _cog(folder, period)
    return xr.Dataset(
        {name: (("lat", "lon"), _read_band(path, i + 1, grid.shape), {"units": "ug m-3"})
         for i, name in enumerate(BANDS)},
        coords={"lat": grid.lats, "lon": grid.lons}, attrs=_attrs(folder, period))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _cv(a: dict[str, Any]) -> dict[str, float]:
    return {"rmse": round(a["cv_rmse"], 2), "mae": round(a["cv_mae"], 2),
            "bias": round(a["cv_bias"], 2), "n": a["cv_n"], "stations": a["n_stations"],
            "merged": a.get("merged", 0)}


CUBE_FILES = {"month": "pm25_monthly.nc", "quarter": "pm25_quarterly.nc",
              "year": "pm25_annual.nc"}


def cubes(runner: Runner, surface: Surface, title: str) -> list[Entry]:
    """``pm25/pm25_{monthly,quarterly,annual}.nc``: the periods of each type in one CF NetCDF
    cube (a stage per type, so a new month leaves the annual cube of other years alone)."""
    entries = []
    for kind in PERIOD_TYPES:
        grids = [g for g in surface.grids if period_type(g.period) == kind]
        if not grids:
            continue
        key = stage_key("cube", ("layers/writers.py", "layers/periods.py", "pipeline/grids.py"),
                        kind, [g.key for g in grids], title, surface.source)

        def write(folder: Path, grids: list[Grid] = grids, kind: str = kind) -> None:
            (folder / "release" / "pm25").mkdir(parents=True)
            write_cube([g.lazy() for g in grids], folder / "release" / "pm25" / CUBE_FILES[kind],
                       title=title, source=surface.source)

        entries.append(runner.run("cube", key, write, lambda e: None, label=kind)[1])
    return entries


def raster_tiles(runner: Runner, surface: Surface) -> dict[str, dict[str, Entry]]:
    """Map tiles of every period in every colour scale: ``{scale: {period: entry}}``; two
    periods at a time, each grid read once for all its scales."""
    with ThreadPoolExecutor(PERIOD_WORKERS) as pool:
        made = list(pool.map(partial(_period_tiles, runner, surface.source), surface.grids))
    return {name: {grid.period: entries[name] for grid, entries in zip(
        surface.grids, made, strict=True)} for name in COLORMAPS}


def _period_tiles(runner: Runner, source: str, grid: Grid) -> dict[str, Entry]:
    """The tile archives of one period, a stage per colour scale."""
    loaded = cache(grid.load)
    found = {}
    for name, colormap in COLORMAPS.items():
        rel = f"{name}_{grid.period}.pmtiles"
        description = (f"{ADJECTIVES[period_type(grid.period)].capitalize()} mean PM2.5 "
                       f"{grid.period}, {grid.attrs['method']}")
        key = stage_key("raster_tiles", TILE_CODE, grid.key, name, description, source)

        def write(folder: Path, rel: str = rel, description: str = description,
                  colormap: Any = colormap) -> None:
            (folder / "release" / "tiles").mkdir(parents=True)
            with (folder / "release" / "tiles" / rel).open("wb") as out:
                write_raster_pmtiles(out, grid_from_dataset(loaded()), colormap,
                                     name=f"PM2.5 {grid.period}", description=description,
                                     attribution=source)

        found[name] = runner.run("raster_tiles", key, write, lambda e: None,
                                 label=f"{name} {grid.period}")[1]
    return found


def station_tiles(runner: Runner, data: StationData, periods: list[str]) -> tuple[
        Entry, gpd.GeoDataFrame]:
    """``tiles/stations.pmtiles``: every station with coordinates and its period means."""
    points = station_layer(data.stations, data.means, periods)
    key = stage_key("station_tiles", VECTOR_CODE, frame_digest(points.drop(columns="geometry")),
                    [list(g.coords) for g in points.geometry], periods)

    def write(folder: Path) -> None:
        build_station_tiles(points, folder / "release" / "tiles" / "stations.pmtiles",
                            quarter_fields=station_quarter_fields(periods))

    return runner.run("station_tiles", key, write, lambda e: None)[1], points


def sparse_tiles(runner: Runner, data: StationData, periods: list[str], country: BaseGeometry,
                 boundaries_key: str) -> Entry:
    """``tiles/sparse.pmtiles`` (absent when no part of China is far from a station): per
    period, where China lies farther than ``SPARSE_KM`` from every station used."""
    used = data.stations[data.stations["status"] == "ok"].set_index("code")
    valid = data.means[data.means["valid"] & data.means["code"].isin(used.index)]
    points = {}
    for period in periods:
        codes = valid.loc[valid["period"] == period, "code"]
        points[period] = (used.loc[codes, "lon"].to_numpy(), used.loc[codes, "lat"].to_numpy())
    key = stage_key("sparse_tiles", VECTOR_CODE, SPARSE_KM, boundaries_key,
                    {p: [a.tolist() for a in xy] for p, xy in points.items()})

    def write(folder: Path) -> None:
        areas = sparse_areas(points, country, radius_km=SPARSE_KM)
        if not areas.is_empty.all():
            build_sparse_tiles(areas, folder / "release" / "tiles" / "sparse.pmtiles")

    return runner.run("sparse_tiles", key, write, lambda e: None)[1]
