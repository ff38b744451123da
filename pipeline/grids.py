"""Stages of the PM2.5 surface: a grid per period, the NetCDF cube, map tiles per period and
colour scale, and where the surface lies far from every station."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

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
from lantian.layers.satellite import satellite_grids
from lantian.layers.writers import BANDS, write_cog, write_cube
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
SPARSE_KM = 150.0  # farther than this from every station used, the surface is hatched
ATTRS = ("quarter", "method", "cv_rmse", "cv_mae", "cv_bias", "cv_n", "n_stations")


@dataclass(frozen=True)
class Grid:
    """A period's grid (the layers contract: ``pm25``, ``pm25_uncertainty``, attrs
    ``quarter``, ``method``…) with the key of the stage that made it."""

    dataset: xr.Dataset
    key: str
    entry: Entry  # holds release/pm25/pm25_<period>.tif

    @property
    def period(self) -> str:
        return str(self.dataset.attrs["quarter"])


@dataclass(frozen=True)
class Surface:
    """The grids of every period and their cross-validation figures."""

    grids: list[Grid]
    cv: dict[str, dict[str, float]]
    source: str  # attribution of the surface

    @property
    def datasets(self) -> list[xr.Dataset]:
        return [g.dataset for g in self.grids]

    @property
    def periods(self) -> list[str]:
        return [g.period for g in self.grids]


def surface(
    runner: Runner, inputs: BuildInputs, options: BuildOptions, data: StationData,
    country: BaseGeometry, boundaries_key: str, digests: dict[Path, str], source: str,
) -> Surface:
    """One grid per period: from satellite files when given, else interpolated from the
    stations with status ``ok`` (per period, or every day on Dask with ``daily-idw``)."""
    mask = cache(lambda: country_mask(options.grid, country))
    if inputs.satellite:
        grids = _satellite(runner, inputs, options.grid, country, boundaries_key, digests)
        return Surface(grids, {}, source)
    if options.method == "daily-idw":
        return Surface(_daily(runner, options, data, mask, boundaries_key), {}, source)
    grids = _interpolated(runner, options, data, mask, boundaries_key, inputs.stations[0])
    return Surface(grids, {g.period: _cv(g.dataset) for g in grids}, source)


def _usable(data: StationData) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    valid = data.quarters[data.quarters["valid"]]
    located = data.stations[data.stations["status"] == "ok"].set_index("code")
    valid = valid[valid["code"].isin(located.index)]
    periods = sorted(data.quarters.loc[data.quarters["valid"], "period"].unique())
    if not periods:
        raise BuildError("no quarter has enough valid station days to build a grid")
    return valid, located, periods


def _interpolated(
    runner: Runner, options: BuildOptions, data: StationData,
    mask: Callable[[], npt.NDArray[np.bool_]], boundaries_key: str, station_list: Path,
) -> list[Grid]:
    """A grid per period with enough valid station days; fewer than 3 usable stations in a
    period is a :class:`BuildError` saying why."""
    valid, located, periods = _usable(data)
    settings = InterpolationOptions(method="kriging" if options.method == "kriging" else "idw",
                                    max_distance_km=options.max_distance_km,
                                    search_radius_km=options.max_distance_km)
    grids = []
    for period in periods:
        rows = valid[valid["period"] == period]
        points = pd.DataFrame({"lon": located.loc[rows["code"], "lon"].to_numpy(),
                               "lat": located.loc[rows["code"], "lat"].to_numpy(),
                               "pm25": rows["pm25"].to_numpy()}, index=rows["code"].to_numpy())
        key = stage_key("grid", GRID_CODE, options.identity(), period, frame_digest(points),
                        boundaries_key)

        def write(folder: Path, period: str = period, points: pd.DataFrame = points) -> xr.Dataset:
            try:
                result = interpolate(points["lon"], points["lat"], points["pm25"], options.grid,
                                     period, settings, mask=mask())
            except ValueError as e:
                status = ", ".join(f"{n} {k}" for k, n in data.stations["status"].value_counts()
                                   .items())
                raise BuildError(
                    f"{period}: cannot interpolate from {len(points)} stations with status ok "
                    f"and a valid quarterly mean ({e}); station list {station_list}: {status}"
                ) from e
            result.dataset.attrs["merged"] = result.n_merged
            return _store(result.dataset, folder, options.grid)

        dataset, entry = runner.run("grid", key, write, _reader(period, options.grid),
                                    label=period)
        grids.append(Grid(dataset, entry.key, entry))
    return grids


def _daily(
    runner: Runner, options: BuildOptions, data: StationData,
    mask: Callable[[], npt.NDArray[np.bool_]], boundaries_key: str,
) -> list[Grid]:
    """Every day interpolated on Dask and averaged per period (``daily-idw``); periods whose
    days are unchanged are reused."""
    from lantian.layers import scale

    _, _, periods = _usable(data)
    stations = data.stations[data.stations["status"] == "ok"][["code", "lon", "lat", "status"]]
    days = pd.PeriodIndex(data.daily.index, freq="Q").strftime("%YQ%q")
    keys = {p: stage_key("grid", DAILY_CODE, options.identity(), p,
                         frame_digest(data.daily[days == p]), frame_digest(stations),
                         boundaries_key) for p in periods}
    missing = [p for p in periods if runner.cache.get("grid", keys[p]) is None]
    made: dict[str, xr.Dataset] = {}
    if missing:
        runner.cache.root.mkdir(parents=True, exist_ok=True)
        with runner.progress.step(f"Daily IDW on Dask ({len(missing)} periods)"), \
                scale.cluster(options.workers, options.scheduler), \
                tempfile.TemporaryDirectory(prefix=".tmp-zarr-", dir=runner.cache.root) as zarr:
            found = scale.daily_period_grids(
                data.daily[days.isin(missing)], stations, options.grid, missing, Path(zarr),
                options=InterpolationOptions(method="idw", max_distance_km=math.inf,
                                             search_radius_km=math.inf), mask=mask())
        made = {str(ds.attrs["quarter"]): ds for ds in found}
    grids = []
    for period in periods:
        dataset, entry = runner.run(
            "grid", keys[period], partial(_store_made, made, period, options.grid),
            _reader(period, options.grid), label=f"{period} daily-idw")
        grids.append(Grid(dataset, entry.key, entry))
    return grids


def _satellite(
    runner: Runner, inputs: BuildInputs, grid: GridSpec, country: BaseGeometry,
    boundaries_key: str, digests: dict[Path, str],
) -> list[Grid]:
    """Satellite grids regridded onto ``grid`` and clipped to China, in one stage."""
    key = stage_key("satellite", SATELLITE_CODE, grid, boundaries_key,
                    [(p.name, digests[p]) for p in inputs.satellite])

    def write(folder: Path) -> list[xr.Dataset]:
        for ds in satellite_grids(inputs.satellite, grid):
            _store(clip_to_country(ds, country), folder, grid)
        return read(folder)

    def read(folder: Path) -> list[xr.Dataset]:
        periods = sorted(p.stem.removeprefix("grid-") for p in folder.glob("grid-*.json"))
        return [_load(folder, period, grid) for period in periods]

    datasets, entry = runner.run("satellite", key, write, lambda e: read(e.path),
                                 label=f"{len(inputs.satellite)} files")
    return [Grid(ds, f"{entry.key}-{ds.attrs['quarter']}", entry) for ds in datasets]


def _store_made(made: dict[str, xr.Dataset], period: str, grid: GridSpec,
                folder: Path) -> xr.Dataset:
    return _store(made[period], folder, grid)


def _reader(period: str, grid: GridSpec) -> Callable[[Entry], xr.Dataset]:
    return lambda entry: _load(entry.path, period, grid)


def _store(ds: xr.Dataset, folder: Path, grid: GridSpec) -> xr.Dataset:
    """The grid as its release COG plus its attributes; returns what :func:`_load` reads, so
    a grid built now and one reused later are the same values (rounded as the COG holds)."""
    period = str(ds.attrs["quarter"])
    release = folder / "release" / "pm25"
    release.mkdir(parents=True, exist_ok=True)
    write_cog(ds, release)
    attrs = {k: _plain(ds.attrs[k]) for k in (*ATTRS, "merged") if k in ds.attrs}
    (folder / f"grid-{period}.json").write_text(json.dumps(attrs), encoding="utf-8")
    return _load(folder, period, grid)


def _load(folder: Path, period: str, grid: GridSpec) -> xr.Dataset:
    attrs = json.loads((folder / f"grid-{period}.json").read_text(encoding="utf-8"))
    with rasterio.open(folder / "release" / "pm25" / f"pm25_{period}.tif") as src:
        data = src.read()
    if data.shape[1:] != grid.shape:
        raise BuildError(f"cached grid {folder} is {data.shape[1:]}, not {grid.shape}")
    return xr.Dataset(
        {name: (("lat", "lon"), data[i], {"units": "ug m-3"}) for i, name in enumerate(BANDS)},
        coords={"lat": grid.lats, "lon": grid.lons}, attrs=attrs)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _cv(ds: xr.Dataset) -> dict[str, float]:
    a = ds.attrs
    return {"rmse": round(a["cv_rmse"], 2), "mae": round(a["cv_mae"], 2),
            "bias": round(a["cv_bias"], 2), "n": a["cv_n"], "stations": a["n_stations"],
            "merged": a.get("merged", 0)}


def cube(runner: Runner, surface: Surface, title: str) -> Entry:
    """``pm25/pm25_quarterly.nc``: every period in one CF NetCDF cube."""
    key = stage_key("cube", ("layers/writers.py", "pipeline/grids.py"),
                    [g.key for g in surface.grids], title, surface.source)

    def write(folder: Path) -> None:
        (folder / "release" / "pm25").mkdir(parents=True)
        write_cube(surface.datasets, folder / "release" / "pm25" / "pm25_quarterly.nc",
                   title=title, source=surface.source)

    return runner.run("cube", key, write, lambda e: None)[1]


def raster_tiles(runner: Runner, surface: Surface) -> dict[str, dict[str, Entry]]:
    """Map tiles of every period in every colour scale: ``{scale: {period: entry}}``."""
    found: dict[str, dict[str, Entry]] = {}
    for name, colormap in COLORMAPS.items():
        for grid in surface.grids:
            period = grid.period
            rel = f"{name}_{period}.pmtiles"
            description = f"Quarterly mean PM2.5 {period}, {grid.dataset.attrs['method']}"
            key = stage_key("raster_tiles", TILE_CODE, grid.key, name, description,
                            surface.source)

            def write(folder: Path, grid: Grid = grid, rel: str = rel,
                      description: str = description, colormap: Any = colormap) -> None:
                (folder / "release" / "tiles").mkdir(parents=True)
                with (folder / "release" / "tiles" / rel).open("wb") as out:
                    write_raster_pmtiles(out, grid_from_dataset(grid.dataset), colormap,
                                         name=f"PM2.5 {grid.period}", description=description,
                                         attribution=surface.source)

            entry = runner.run("raster_tiles", key, write, lambda e: None,
                               label=f"{name} {period}")[1]
            found.setdefault(name, {})[period] = entry
    return found


def station_tiles(runner: Runner, data: StationData, periods: list[str]) -> tuple[
        Entry, gpd.GeoDataFrame]:
    """``tiles/stations.pmtiles``: every station with coordinates and its period means."""
    points = station_layer(data.stations, data.quarters, periods)
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
    valid = data.quarters[data.quarters["valid"] & data.quarters["code"].isin(used.index)]
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
