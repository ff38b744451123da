"""Every stage of a release in order, their files linked into the release, and its manifest
content."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from lantian.geo.boundaries import Boundaries, default_boundary_source, load_boundaries, source_key
from lantian.layers.periods import PERIOD_TYPES, period_type
from lantian.layers.stats import regional_stats, station_cities
from lantian.layers.writers import ADJECTIVES, write_stats
from lantian.pipeline import catalog
from lantian.pipeline.cache import Entry, tree_bytes
from lantian.pipeline.enterprises import (
    _record_quarters as record_quarters,
)
from lantian.pipeline.enterprises import (
    enterprise_data,
    enterprise_files,
    enterprise_tiles,
    facts,
)
from lantian.pipeline.grids import (
    SPARSE_KM,
    cubes,
    raster_tiles,
    sparse_tiles,
    station_tiles,
    surface,
)
from lantian.pipeline.inputs import SOURCES, BuildInputs, BuildOptions
from lantian.pipeline.observations import StationData, station_data
from lantian.pipeline.stages import Runner, frame_digest, stage_key, stage_totals
from lantian.tiles.basemap import BASEMAP_LAYERS, BASEMAP_MAXZOOM, build_basemap
from lantian.tiles.colormaps import COLORMAPS, UNITS
from lantian.tiles.manifest import Layer, ReleaseContent, VectorLayer
from lantian.tiles.raster import native_zoom
from lantian.tiles.stac import STAC_DIR, write_catalog
from lantian.tiles.vector import ENTERPRISE_MAXZOOM, SPARSE_MAXZOOM, STATION_MAXZOOM

BOUNDARY_TABLES = ("country", "provinces", "cities", "counties")
STATS_CODE = ("layers/stats.py", "layers/observations.py", "layers/writers.py",
              "geo/regions.py", "geo/gazetteer.py", "layers/periods.py",
              "pipeline/assemble.py")


def assemble(
    tmp: Path, inputs: BuildInputs, options: BuildOptions, runner: Runner,
    digests: dict[Path, str], cache: Path,
) -> ReleaseContent:
    """Run (or reuse) every stage and link its files into ``tmp``."""
    boundaries = _boundaries(runner, inputs, cache)
    country = boundaries.country.union_all()
    entries = [_basemap(runner, boundaries), _boundary_package(runner, boundaries)]

    plants, plants_key = enterprise_data(runner, inputs, options, boundaries, digests,
                                         cache / "geocode.sqlite")
    data = station_data(runner, inputs, boundaries, digests)
    source = _grid_source(inputs)
    pm25 = surface(runner, inputs, options, data, country, boundaries.key, digests, source)
    periods = pm25.periods
    by_type = {kind: [p for p in periods if period_type(p) == kind] for kind in PERIOD_TYPES}
    quarterly = [g for g in pm25.grids if period_type(g.period) == "quarter"]
    entries += list({g.entry.path: g.entry for g in pm25.grids}.values())
    entries += cubes(runner, pm25, inputs.title)
    tiles = raster_tiles(runner, pm25)
    entries += [e for by_period in tiles.values() for e in by_period.values()]

    files_entry, enterprises = enterprise_files(runner, plants, plants_key)
    table, timeline, facts_key, facts_entry = facts(
        runner, plants, plants_key, enterprises, [g.load() for g in quarterly],
        [g.key for g in quarterly])
    tiles_entry, cited = enterprise_tiles(runner, plants, enterprises, table, facts_key)
    stations_entry, station_points = station_tiles(runner, data, periods)
    sparse_entry = (sparse_tiles(runner, data, periods, country, boundaries.key)
                    if not inputs.satellite else None)
    stats, stats_entry = _statistics(runner, data, boundaries)
    entries += [files_entry, facts_entry, tiles_entry, stations_entry, stats_entry,
                *([sparse_entry] if sparse_entry is not None else [])]

    for entry in entries:
        _link_entry(entry, tmp)
    _station_tables(runner, data, boundaries, tmp)

    layers = [*_raster_layers(tiles, options), *_vector_layers(
        tmp, enterprises, cited, boundaries, station_points)]
    summary: dict[str, Any] = {
        "method": pm25.method,
        "stations": data.stations["status"].value_counts().to_dict(),
        "cross_validation": pm25.cv,
        "enterprises": enterprises["industry"].value_counts().to_dict(),
        "geocode_report": plants.report["status"].value_counts().to_dict(),
        "records": catalog.records_summary(plants),
        "regional_quarterly": catalog.headline(stats),
    }
    started = time.perf_counter()
    with runner.progress.step("STAC catalog"):
        collections = catalog.collections(tmp, pm25, timeline,
                                          {layer.id: layer.bounds for layer in layers},
                                          record_quarters(plants, timeline))
        sources = catalog.release_sources(inputs)
        titles = write_catalog(tmp, inputs.title, catalog.CATALOG_DESCRIPTION, collections,
                               sources)
    runner.record("catalog", "", "built", time.perf_counter() - started,
                  tree_bytes(tmp / STAC_DIR), "")
    summary["stages"] = runner.report()
    summary["timings_s"] = stage_totals(summary["stages"])
    return ReleaseContent(
        title=inputs.title,
        title_zh=inputs.title_zh,
        synthetic=inputs.synthetic,
        quarters=by_type["quarter"],
        periods=by_type,
        timeline=timeline,
        layers=layers,
        sources=sources,
        summary=summary,
        colormaps={name: cmap.to_json() for name, cmap in COLORMAPS.items()},
        file_titles=titles,
    )


def _boundaries(runner: Runner, inputs: BuildInputs, cache: Path) -> Boundaries:
    """The boundaries, derived once per source into their own cache folder."""
    source = inputs.boundaries or default_boundary_source()
    start = time.perf_counter()
    key = source_key(source)
    status: Literal["built", "reused"] = "reused" if (cache / key).is_dir() else "built"
    with runner.progress.step("Boundaries of China and its neighbours"):
        boundaries = load_boundaries(source, cache)
    size = tree_bytes(cache / key)
    runner.record("boundaries", "", status, time.perf_counter() - start, size, key)
    return boundaries


def _basemap(runner: Runner, boundaries: Boundaries) -> Entry:
    """``tiles/boundaries.pmtiles``: land, countries, boundaries and place names."""
    key = stage_key("basemap", ("tiles/basemap.py", "tiles/vector.py"), boundaries.key)
    return runner.run("basemap", key, lambda folder: build_basemap(
        boundaries, folder / "release" / "tiles" / "boundaries.pmtiles") and None,
        lambda e: None)[1]


def _boundary_package(runner: Runner, boundaries: Boundaries) -> Entry:
    """``boundaries/boundaries.gpkg``: China, its provinces, cities and counties."""
    key = stage_key("boundary_package", ("pipeline/assemble.py",), boundaries.key, BOUNDARY_TABLES)

    def write(folder: Path) -> None:
        out = folder / "release" / "boundaries" / "boundaries.gpkg"
        out.parent.mkdir(parents=True)
        for name in BOUNDARY_TABLES:
            getattr(boundaries, name).to_file(out, layer=name, driver="GPKG")

    return runner.run("boundary_package", key, write, lambda e: None)[1]


def _statistics(runner: Runner, data: StationData, boundaries: Boundaries) -> tuple[
        pd.DataFrame, Entry]:
    """``stats/region_stats.{csv,json}`` and ``stats/regions.json``: cities, provinces, regions
    and all cities nationally per month, quarter and year."""
    cities = pd.DataFrame(boundaries.cities.drop(columns="geometry"))
    key = stage_key("statistics", STATS_CODE, data.key, frame_digest(data.stations),
                    boundaries.key)

    def write(folder: Path) -> pd.DataFrame:
        stats = regional_stats(data.daily, data.stations, cities)
        (folder / "release" / "stats").mkdir(parents=True)
        write_stats(stats, folder / "release" / "stats", cities=cities)
        stats.to_parquet(folder / "stats.parquet")
        return pd.read_parquet(folder / "stats.parquet")

    return runner.run("statistics", key, write,
                      lambda e: pd.read_parquet(e.file("stats.parquet")))


def _station_tables(runner: Runner, data: StationData, boundaries: Boundaries,
                    tmp: Path) -> None:
    """``stations/stations.csv`` (with ``city_adcode``: the city the statistics count the
    station in) and ``stations/station_{monthly,quarterly,annual}.csv`` (small: written)."""
    start = time.perf_counter()
    (tmp / "stations").mkdir(exist_ok=True)
    cities = station_cities(data.stations, pd.DataFrame(boundaries.cities.drop(
        columns="geometry"))).set_index("code")["city"]
    data.stations.assign(city_adcode=data.stations["code"].map(cities)).to_csv(
        tmp / "stations" / "stations.csv", index=False)
    for kind, adjective in ADJECTIVES.items():
        means = data.means[data.means["period_type"] == kind].drop(columns="period_type")
        means.to_csv(tmp / "stations" / f"station_{adjective}.csv", index=False)
    runner.record("station_tables", "", "built", time.perf_counter() - start,
                  tree_bytes(tmp / "stations"), "")


def _link_entry(entry: Entry, tmp: Path) -> None:
    """The entry's ``release/`` files into the release at the same paths: hard links (the
    cache never rewrites an entry's files), else copies."""
    for name in entry.files:
        if not name.startswith("release/"):
            continue
        target = tmp / name.removeprefix("release/")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(entry.path / name, target)
        except OSError:
            shutil.copyfile(entry.path / name, target)


def _grid_source(inputs: BuildInputs) -> str:
    if inputs.satellite:
        return "Satellite PM2.5 product: " + ", ".join(p.name for p in inputs.satellite)
    return SOURCES["cnemc"].attribution


def _raster_layers(tiles: dict[str, dict[str, Entry]], options: BuildOptions) -> list[Layer]:
    return [
        Layer(id=name, kind="raster", title=COLORMAPS[name].title, units=UNITS, colormap=name,
              minzoom=0, maxzoom=native_zoom(options.grid.res), bounds=options.grid.bounds,
              files={period: f"tiles/{name}_{period}.pmtiles" for period in by_period})
        for name, by_period in tiles.items()
    ]


def _vector_layers(tmp: Path, enterprises: Any, cited: Any, boundaries: Boundaries,
                   station_points: Any) -> list[Layer]:
    bounds = catalog.bounds_of
    return [
        Layer(id="enterprises", kind="vector", title="Enterprises", minzoom=0,
              maxzoom=ENTERPRISE_MAXZOOM, bounds=bounds(enterprises),
              files={"all": "tiles/enterprises.pmtiles"},
              vector_layers=[VectorLayer(id="enterprises")]),
        *([Layer(id="cited", kind="vector", title="Plants with records", minzoom=0,
                 maxzoom=ENTERPRISE_MAXZOOM, bounds=bounds(cited),
                 files={"all": "tiles/cited.pmtiles"},
                 vector_layers=[VectorLayer(id="cited")])] if len(cited) else []),
        Layer(id="boundaries", kind="vector",
              title="Basemap: land, countries, boundaries and place names", minzoom=0,
              maxzoom=BASEMAP_MAXZOOM, bounds=bounds(boundaries.neighbours),
              files={"all": "tiles/boundaries.pmtiles"},
              vector_layers=[VectorLayer(id=name) for name in BASEMAP_LAYERS]),
        Layer(id="stations", kind="vector", title="Monitoring stations", minzoom=0,
              maxzoom=STATION_MAXZOOM, bounds=bounds(station_points),
              files={"all": "tiles/stations.pmtiles"},
              vector_layers=[VectorLayer(id="stations")]),
        *([Layer(id="sparse", kind="vector",
                 title=f"Farther than {SPARSE_KM:g} km from every station used",
                 minzoom=0, maxzoom=SPARSE_MAXZOOM, bounds=bounds(boundaries.country),
                 files={"all": "tiles/sparse.pmtiles"},
                 vector_layers=[VectorLayer(id="sparse")])]
          if (tmp / "tiles" / "sparse.pmtiles").is_file() else []),
    ]
