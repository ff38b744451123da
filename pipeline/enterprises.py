"""Stages of the enterprises: plant tables geocoded and records matched, their files, their
facts per period and their vector tiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import geopandas as gpd
import pandas as pd
import xarray as xr
from geopy.geocoders import get_geocoder_for_service

from lantian.errors import BuildError
from lantian.geo.address_check import (
    address_summary,
    compare_addresses,
    datum_check,
    named_counties,
)
from lantian.geo.boundaries import Boundaries
from lantian.geo.cems import detect_exceedances, exceedance_records, load_cems, load_limits
from lantian.geo.datum import Datum
from lantian.geo.enterprises import (
    REPORT_COLUMNS,
    load_enterprise_table,
    with_admin_units,
    with_search_keys,
)
from lantian.geo.gazetteer import Gazetteer
from lantian.geo.matching import load_overrides, match_records
from lantian.geo.online import OnlineGeocoder
from lantian.geo.placement import place_unmatched
from lantian.geo.records import OUTPUT_COLUMNS, VIOLATION_COLUMNS, load_output, load_violations
from lantian.geo.sites import merge_sites
from lantian.geo.trackers import PlantTable, plant_table, tracker_tables
from lantian.layers.enterprise_facts import (
    build_timeline,
    quarterly_facts,
    tile_layer,
    tile_properties,
)
from lantian.layers.operating import UNIT_COLUMNS, with_periods
from lantian.layers.periods import quarter_of
from lantian.layers.writers import located, write_enterprises, write_geo
from lantian.pipeline.cache import Entry
from lantian.pipeline.inputs import BuildInputs, BuildOptions
from lantian.pipeline.stages import Runner, stage_key
from lantian.tiles.vector import build_cited_tiles, build_enterprise_tiles

ENTERPRISE_CODE = ("geo", "i18n/en.json", "i18n/zh.json", "layers/operating.py",
                   "pipeline/enterprises.py")
FACT_CODE = ("layers/enterprise_facts.py", "layers/operating.py", "layers/writers.py",
             "layers/periods.py", "pipeline/enterprises.py")
TILE_CODE = ("tiles/vector.py", "pipeline/enterprises.py")


def enterprise_data(
    runner: Runner, inputs: BuildInputs, options: BuildOptions, boundaries: Boundaries,
    digests: dict[Path, str], geocode_cache: Path,
) -> tuple[EnterpriseData, str]:
    """Plant tables geocoded, records loaded and matched (one stage), and the stage's key."""
    files = [*inputs.gem_steel, *inputs.wri_power, *inputs.trackers, *inputs.enterprise_tables,
             *inputs.violations,
             *inputs.output, *inputs.cems,
             *(p for p in (inputs.emission_limits, inputs.match_overrides) if p is not None)]
    key = stage_key(
        "enterprises", ENTERPRISE_CODE, boundaries.key, inputs.records_source,
        {"steel": [p.name for p in inputs.gem_steel], "wri": [p.name for p in inputs.wri_power],
         "trackers": [p.name for p in inputs.trackers],
         "tables": [p.name for p in inputs.enterprise_tables],
         "violations": [p.name for p in inputs.violations],
         "output": [p.name for p in inputs.output], "cems": [p.name for p in inputs.cems],
         "limits": inputs.emission_limits is not None,
         "overrides": inputs.match_overrides is not None},
        [digests[p] for p in files],
        [options.geocoder, options.geocoder_datum, options.geocoder_user_agent],
    )

    def write(folder: Path) -> EnterpriseData:
        online = _online_geocoder(options, geocode_cache)
        try:
            plants = _enterprises(inputs, online, boundaries)
        finally:
            if online is not None:
                online.close()
        plants.store(folder)
        return EnterpriseData.load(folder)

    plants, entry = runner.run("enterprises", key, write, lambda e: EnterpriseData.load(e.path))
    return plants, entry.key


def enterprise_files(runner: Runner, plants: EnterpriseData, plants_key: str) -> tuple[
        Entry, gpd.GeoDataFrame]:
    """``enterprises/`` and ``records/`` of the release, and the enterprises with their
    record counts."""
    enterprises = _with_counts(plants.layer, plants.violations)
    key = stage_key("enterprise_files", FACT_CODE, plants_key)

    def write(folder: Path) -> None:
        _write_enterprise_files(folder / "release", plants, enterprises)

    return runner.run("enterprise_files", key, write, lambda e: None)[1], enterprises


def facts(
    runner: Runner, plants: EnterpriseData, plants_key: str, enterprises: gpd.GeoDataFrame,
    grids: list[xr.Dataset], grid_keys: list[str],
) -> tuple[pd.DataFrame, list[str], str, Entry]:
    """Each enterprise's facts per quarter of the timeline (records, output change, PM2.5
    nearby): the table, the timeline, the stage key and the entry holding
    ``enterprises/enterprise_quarters.*``."""
    quarters = [str(ds.attrs["quarter"]) for ds in grids]
    timeline = build_timeline(quarters, _enterprise_record_quarters(plants))
    key = stage_key("facts", FACT_CODE, plants_key, grid_keys, timeline)

    def write(folder: Path) -> pd.DataFrame:
        table = quarterly_facts(plants.layer, plants.violations, plants.output, grids, timeline,
                                plants.units)
        table.to_parquet(folder / "facts.parquet")
        out = folder / "release" / "enterprises"
        out.mkdir(parents=True)
        table.to_csv(out / "enterprise_quarters.csv", index=False)
        points = enterprises.set_index("id").geometry
        write_geo(located(table, points, "id"), out, "enterprise_quarters")
        return pd.read_parquet(folder / "facts.parquet")

    table, entry = runner.run("facts", key, write,
                              lambda e: pd.read_parquet(e.file("facts.parquet")))
    return table, timeline, entry.key, entry


def enterprise_tiles(
    runner: Runner, plants: EnterpriseData, enterprises: gpd.GeoDataFrame, table: pd.DataFrame,
    facts_key: str,
) -> tuple[Entry, gpd.GeoDataFrame]:
    """``tiles/enterprises.pmtiles`` (every plant at every zoom, with its operating period)
    and ``tiles/cited.pmtiles`` (the plants with records); returns the entry and the cited
    plants."""
    tiled, tile_fields = tile_layer(enterprises, tile_properties(table))
    fact_fields = ["records", "approx", *tile_fields]
    cited = tiled[tiled["id"].isin(_attached_ids(plants))]
    key = stage_key("enterprise_tiles", TILE_CODE, facts_key)

    def write(folder: Path) -> None:
        tiles = folder / "release" / "tiles"
        build_enterprise_tiles(tiled, tiles / "enterprises.pmtiles", extra_fields=fact_fields)
        if len(cited):
            build_cited_tiles(cited, tiles / "cited.pmtiles", extra_fields=fact_fields)

    return runner.run("enterprise_tiles", key, write, lambda e: None)[1], cited


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
    units: pd.DataFrame  # what operates when: ``layers.operating.UNIT_COLUMNS``
    address_check: pd.DataFrame  # one row: address-geocoding distances and the datum check
    exceedances: pd.DataFrame | None  # CEMS episodes, when CEMS data was given
    coverage: pd.DataFrame | None  # CEMS hours assessed per outlet and pollutant

    def store(self, folder: Path) -> None:
        """Every table as (Geo)Parquet in ``folder``."""
        for item in fields(self):
            table = getattr(self, item.name)
            if table is not None:
                table.to_parquet(folder / f"{item.name}.parquet")

    @classmethod
    def load(cls, folder: Path) -> EnterpriseData:
        def read(name: str) -> pd.DataFrame | None:
            path = folder / f"{name}.parquet"
            return pd.read_parquet(path) if path.is_file() else None

        layer = gpd.read_parquet(folder / "layer.parquet")
        tables = {item.name: read(item.name) for item in fields(cls) if item.name != "layer"}
        return cls(layer=layer, **tables)


ATTACHED = ("given_id", "pinned", "matched", "new_enterprise")


def _enterprises(
    inputs: BuildInputs, online: OnlineGeocoder | None, boundaries: Boundaries
) -> EnterpriseData:
    """Plant tables loaded, one plant per site, GIST's addresses checked against its
    coordinates, operating periods from the units, records loaded and matched, record-only
    plants placed."""
    gazetteer = Gazetteer()
    sources = _plant_sources(inputs, gazetteer, online)
    if not sources:
        raise BuildError("no enterprise table given")
    layer, units, sites = merge_sites(sources, gazetteer=gazetteer)
    checked = compare_addresses(layer, gazetteer, boundaries.counties)
    report = _report([*(t.report for t in sources.values()), sites, checked])
    named = named_counties(layer, gazetteer, boundaries.counties)
    address_check = {**address_summary(checked),
                     "datum_addresses": datum_check(layer, checked, boundaries.counties),
                     "datum_counties": datum_check(layer, named, boundaries.counties)}
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
    layer = with_admin_units(layer, boundaries.provinces, boundaries.cities, gazetteer)
    return EnterpriseData(
        layer=with_search_keys(gpd.GeoDataFrame(with_periods(layer, units), crs="EPSG:4326")),
        report=report,
        units=units[UNIT_COLUMNS].reset_index(drop=True),
        address_check=pd.DataFrame([_flat(address_check)]),
        violations=_attach(violations, matches),
        output=_attach(output, matches),
        matches=matches,
        exceedances=exceedances,
        coverage=coverage,
    )


# Merge precedence: the most detailed source of an industry first (GIST has addresses, dates
# and status rows; GCPT has units with dates), then the older or coarser ones.
PRECEDENCE = ("GIST steel plants", "GSPT steel plants", "GCPT coal units", "WRI power plants",
              "GCCT cement plants", "GCI chemical plants")


def _plant_sources(
    inputs: BuildInputs, gazetteer: Gazetteer, online: OnlineGeocoder | None
) -> dict[str, PlantTable]:
    """Every plant table by file name, in merge precedence (generic tables last)."""
    found = tracker_tables([*inputs.trackers, *inputs.gem_steel, *inputs.wri_power])
    ordered = sorted(found, key=lambda item: PRECEDENCE.index(item[0]))
    sources = {path.name: table for _, path, table in ordered}
    for path in inputs.enterprise_tables:
        sources[path.name] = plant_table(*load_enterprise_table(path, gazetteer, online))
    return sources


def _report(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One geocode report (``REPORT_COLUMNS``) from the loaders', the merge's and the address
    check's rows."""
    present = [p.reindex(columns=REPORT_COLUMNS) for p in parts if len(p)]
    if not present:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    return pd.concat(present, ignore_index=True)


def _flat(summary: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """A nested summary as one flat row (``datum.verdict``…)."""
    row: dict[str, object] = {}
    for key, value in summary.items():
        if isinstance(value, Mapping):
            row |= _flat(value, f"{prefix}{key}.")
        else:
            row[f"{prefix}{key}"] = value
    return row


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
    tmp: Path, plants: EnterpriseData, enterprises: gpd.GeoDataFrame
) -> None:
    """Enterprises and the records, each record at its enterprise's point (null geometry when
    it has none), as CSV and in the geo formats."""
    for sub in ("enterprises", "records"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    write_enterprises(enterprises, tmp / "enterprises")
    points = enterprises.set_index("id").geometry
    plants.report.to_csv(tmp / "enterprises" / "geocode_report.csv", index=False)
    plants.units.to_csv(tmp / "enterprises" / "units.csv", index=False)
    plants.address_check.to_csv(tmp / "enterprises" / "address_check.csv", index=False)
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


