"""The release's STAC catalog, its sources and the manifest's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from lantian.geo.trackers import TRACKER_SOURCES, layout_of
from lantian.layers.periods import period_type
from lantian.layers.writers import ADJECTIVES
from lantian.pipeline.enterprises import EnterpriseData
from lantian.pipeline.grids import CUBE_FILES, SPARSE_KM, Surface
from lantian.pipeline.inputs import IPE_DEMO_SOURCE, SOURCES, BuildInputs
from lantian.tiles.colormaps import COLORMAPS
from lantian.tiles.manifest import Source
from lantian.tiles.stac import AssetSpec, CollectionSpec, ItemSpec

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


def collections(
    tmp: Path,
    surface: Surface,
    timeline: list[str],
    bounds: dict[str, tuple[float, float, float, float]],
    record_quarters: tuple[str, str],
) -> list[CollectionSpec]:
    """The release's files grouped into STAC collections, each file with its title."""
    labels = surface.periods
    quarters = [q for q in labels if period_type(q) == "quarter"]
    pm25_items = tuple(ItemSpec(
        id=f"pm25_{q}", title=f"PM2.5 {q}", bbox=bounds["pm25"], quarters=(q, q),
        assets={
            **_assets(f"pm25/pm25_{q}", f"PM2.5 {q}: {ADJECTIVES[period_type(q)]} mean (band 1) "
                      "and its uncertainty (band 2), µg/m³", ("tif",)),
            **{key: spec for name, cmap in COLORMAPS.items() for key, spec in _assets(
                f"tiles/{name}_{q}", f"PM2.5 {q} map tiles, {_scale(cmap.title)}", ("pmtiles",),
                ("visual",)).items()},
        },
    ) for q in labels)
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
            id="pm25", title="PM2.5 by month, quarter and year", sources=("cnemc", "stations"),
            description=f"Mean PM2.5 ({surface.method}) per month, quarter and year on "
                        "a 0.01° grid with its uncertainty, in µg/m³: a cloud-optimised GeoTIFF "
                        "and map tiles in two colour scales per period, a CF NetCDF cube per "
                        "period type, and the monitoring stations used.",
            items=pm25_items,
            assets={
                **{key: spec for kind, name in CUBE_FILES.items() for key, spec in _assets(
                    f"pm25/{name.removesuffix('.nc')}",
                    f"PM2.5 and its uncertainty, every {kind}", ("nc",)).items()
                   if (tmp / spec.path).is_file()},
                **_assets("stations/stations", "Monitoring stations with coordinate status",
                          ("csv",), ("metadata",)),
                **{key: spec for kind, adjective in ADJECTIVES.items() for key, spec in _assets(
                    f"stations/station_{adjective}", f"{adjective.capitalize()} PM2.5 mean per "
                    "station", ("csv",)).items()},
                **_assets("tiles/stations", "Monitoring stations with their period means, "
                          "vector map tiles", ("pmtiles",), ("visual",)),
                **sparse,
            },
        ),
        CollectionSpec(
            id="enterprises", title="Enterprises",
            sources=("gist", "gem", "gcpt", "wri", "gcct", "gci", "gazetteer", "ipe", "records"),
            description="Steel, coking, cement, coal power and chemical plants, one per site "
                        "across the trackers, with location, industry, capacity, status and "
                        "operating dates, their units, and their facts per quarter of "
                        "operation (violations, output change, operating capacity, PM2.5 "
                        "within 5 and 10 km).",
            items=(ItemSpec(
                id="enterprises", title="Enterprises", bbox=bounds["enterprises"], quarters=span,
                assets={
                    **_assets("enterprises/enterprises", "Enterprises"),
                    **_assets("tiles/enterprises", "Enterprises, vector map tiles",
                              ("pmtiles",), ("visual",)),
                    **_assets("enterprises/geocode_report", "How each enterprise was located: "
                              "rows not placed, sites merged across trackers and near misses "
                              "with their scores, addresses geocoded against the given "
                              "coordinates", ("csv",), ("metadata",)),
                    **_assets("enterprises/units", "Units of each plant (coal units, steel "
                              "capacity by status) with their status and dates", ("csv",)),
                    **_assets("enterprises/address_check", "Address geocoding against the "
                              "trackers' coordinates: distances and the datum check",
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
            description="PM2.5 by city, province, region (2+26, Fen-Wei, Yangtze and Pearl "
                        "River Deltas) and nationally per month, quarter and year, computed from "
                        "station daily means as the Ministry of Ecology and Environment does "
                        "(GB 3095-2012 validity, HJ 663-2013), with days above 75 µg/m³, changes "
                        "and city ranks, and the boundaries of China, its provinces, cities "
                        "and counties.",
            items=(ItemSpec(
                id="region_stats", title="Regional PM2.5 statistics", bbox=bounds["boundaries"],
                quarters=(quarters[0], quarters[-1]),
                assets={
                    **_assets("stats/region_stats", "Regional PM2.5 statistics",
                              ("csv", "json")),
                    **_assets("stats/regions", "Members of each region: groups, provinces and "
                              "their cities", ("json",), ("metadata",)),
                    **_assets("tiles/boundaries", "Basemap: land, countries, boundaries and "
                              "place names, vector map tiles", ("pmtiles",), ("visual",)),
                    **_assets("boundaries/boundaries", "Boundaries of China, its provinces, "
                              "cities and counties (a layer each)", ("gpkg",)),
                },
            ),),
        ),
    ]


def records_summary(plants: EnterpriseData) -> dict[str, Any]:
    matches = plants.matches
    return {
        "violations": len(plants.violations),
        "output": len(plants.output),
        "match_status": matches["status"].value_counts().to_dict() if len(matches) else {},
        "exceedance_episodes": 0 if plants.exceedances is None else len(plants.exceedances),
    }


def release_sources(inputs: BuildInputs) -> list[Source]:
    keys = ["cnemc", "stations", "boundaries", "gazetteer"]
    keys += ["gem"] if inputs.gem_steel else []
    keys += ["wri"] if inputs.wri_power else []
    keys += sorted({TRACKER_SOURCES[layout_of(p)] for p in inputs.trackers} - set(keys))
    if inputs.violations or inputs.output or inputs.cems:
        keys += ["ipe"] if inputs.records_source == IPE_DEMO_SOURCE else ["records"]
    return [SOURCES[k] for k in keys]


def bounds_of(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    return west, south, east, north


def headline(stats: pd.DataFrame) -> list[dict[str, Any]]:
    """Quarterly means of the 2+26 and Fen-Wei regions, for the manifest summary."""
    quarterly = stats[stats["period_type"] == "quarter"]
    rows = quarterly[quarterly["region_type"].isin(["2+26", "Fenwei"])]
    return [
        {"region": r.region, "period": r.period, "pm25": round(float(r.pm25), 1)}
        for r in rows.itertuples()
    ]
