"""Global Energy Monitor tracker tables → plant layer, geocode report and units.

One loader per layout: GCCT cement plants, GIST steel plants (with the capacity-by-status
sheet), GCPT coal units and GCI chemical plants; ``load_plants`` picks it from the header (and
also reads the older GSPT and WRI layouts of ``geo.enterprises``). Every input row ends up in
the layer, the report or the units table. Coordinates are used as given (WGS-84 assumed: GEM
states no datum); provinces are GEM's English ``Subnational unit``.

Units are what operates, and when: a GCPT unit, a GIST plant × status row, else the plant
itself. A plant rolled up from units takes the status of its most active unit (the order of
``STATUSES``: operating first, then mothballed, idled, construction, retired, plans) and the
summed capacity of the units in that status; "operating pre-retirement" counts as operating.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from .dates import normal_dates
from .datum import Datum
from .enterprises import (
    REPORT_COLUMNS,
    STATUSES,
    combine,
    coordinate_column,
    load_gem_steel,
    load_wri_power,
    located,
    read_table,
    status_column,
)

UNIT_COLUMNS = ["enterprise_id", "unit_id", "capacity", "capacity_unit", "status",
                "start_date", "idled_date", "retired_date", "source_id"]
NO_COORDINATES = "no coordinates in the tracker"
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_LANGUAGE = re.compile(r"\s*\(Chinese\)")
_SHARE = re.compile(r"\s*\[[\d.]+%\]")
_RELEASE = re.compile(r"_(\d{4})-(\d{2})_")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# Text GEM writes for a capacity it does not know (">0": exists, size unknown)
_NO_NUMBER = {"", "unknown", ">0"}
# Statuses in which a unit has run: its start date is the plant's start
_RAN = {"operating", "operating pre-retirement", "mothballed", "idled", "retired"}


@dataclass(frozen=True)
class PlantTable:
    """A loader's result: plants (one row per site of one source), report rows, units."""

    layer: gpd.GeoDataFrame
    report: pd.DataFrame
    units: pd.DataFrame


def load_plants(path: Path) -> PlantTable:
    """The plant table at ``path`` in whichever layout its header shows; an unknown layout is
    an ``InputError`` listing the columns each layout needs."""
    return _layout(path)[1](path)


def load_trackers(paths: Sequence[Path]) -> PlantTable:
    """Several plant tables as one (``combine_tables`` of :func:`tracker_tables`)."""
    return combine_tables([table for _, _, table in tracker_tables(paths)])


def tracker_tables(paths: Sequence[Path]) -> list[tuple[str, Path, PlantTable]]:
    """Each plant table of ``paths`` with its layout name, in the order given. A GIST
    capacity-by-status table goes with the GIST plant table of its prefix
    (``<prefix>_capacity_by_status.csv`` with ``<prefix>_plants.csv``); one without its plant
    table is an ``InputError``."""
    layouts = {path: layout_of(path) for path in paths}
    sheets = {_prefix(p, _CAPACITY_SUFFIX): p for p, name in layouts.items()
              if name == _CAPACITY_SHEET}
    tables = [(name, path, load_gist(path, sheets.pop(_prefix(path, _PLANTS_SUFFIX), None))
               if name == _GIST_PLANTS else load_plants(path))
              for path, name in layouts.items() if name != _CAPACITY_SHEET]
    if sheets:
        orphan = next(iter(sheets.values()))
        raise InputError(orphan, "a GIST capacity-by-status table without its plant table "
                         f"{_prefix(orphan, _CAPACITY_SUFFIX)}{_PLANTS_SUFFIX} among the inputs")
    return tables


def layout_of(path: Path) -> str:
    """The name of the layout of the plant table at ``path`` (a key of ``TRACKER_SOURCES``)."""
    return _layout(path)[0]


def plant_table(layer: gpd.GeoDataFrame, report: pd.DataFrame) -> PlantTable:
    """A loader's layer and report with one unit per plant (sources without units)."""
    return PlantTable(layer, report, plant_units(layer))


def load_gcct(path: Path) -> PlantTable:
    """Global Cement and Concrete Tracker plants: capacity in Mt/a of cement (``>0``, unknown
    or blank → NaN), ``products`` the plant type (integrated, grinding, clinker only)."""
    raw = read_table(path, ["GEM Plant ID", "GEM Asset name (English)",
                            "Asset name (other language)", "Operating status", "lat", "lon"])
    ids = _ids(path, raw, "GEM Plant ID")
    name_zh, name_en = _text(raw["Asset name (other language)"]), _text(
        raw["GEM Asset name (English)"])
    table = pd.DataFrame({
        "id": "gem:" + ids,
        "name": _names(path, name_zh, name_en, "GEM Asset name (English)"),
        "name_zh": name_zh,
        "name_en": name_en,
        "industry": "cement",
        "capacity": _number(path, raw, "Cement Capacity (millions metric tonnes per annum)"),
        "capacity_unit": "Mt/a cement",
        "owner": _owner(_column(raw, "Owner name (English)")),
        "owner_zh": _owner(_column(raw, "Owner name (other language)")),
        "province": _column(raw, "Subnational unit"),
        "city": _known(_column(raw, "Municipality")),
        "products": _known(_column(raw, "Plant type")),
        "status": status_column(path, raw, "Operating status"),
        "start_date": normal_dates(path, _column(raw, "Start date"), "Start date"),
        **_gem_point(raw, _attribution("Global Cement and Concrete Tracker", path)),
    })
    return plant_table(*_place(path, raw, table))


def load_gist(plants: Path, capacity: Path | None = None) -> PlantTable:
    """Global Iron and Steel Tracker: the plant sheet and its capacity-by-status sheet
    (``capacity``; by default ``<prefix>_capacity_by_status.csv`` beside
    ``<prefix>_plants.csv``).

    Each status row is a unit ``gem:<Plant ID>#<status>`` with its nominal crude steel
    capacity (ttpa) and start date; a retired row ends at the plant's Retired date, a
    mothballed or idled one at its Idled date. ``address`` is the Chinese street address;
    ``coking`` marks plants with a coking plant (a capacity, or GEM's ``>0``)."""
    capacity = capacity or plants.with_name(_prefix(plants, _PLANTS_SUFFIX) + _CAPACITY_SUFFIX)
    if not capacity.is_file():
        raise InputError(plants, f"the GIST capacity-by-status table {capacity.name} is not "
                         "beside it")
    raw = read_table(plants, ["Plant ID", "Plant name (English)", "Plant name (other language)",
                              "lat", "lon"])
    ids = _ids(plants, raw, "Plant ID")
    name_zh, name_en = _text(raw["Plant name (other language)"]), _text(
        raw["Plant name (English)"])
    coking = _column(raw, "Coking plant capacity (ttpa)").str.strip()
    coking_capacity = _number(plants, raw, "Coking plant capacity (ttpa)")
    table = pd.DataFrame({
        "id": "gem:" + ids,
        "name": _names(plants, name_zh, name_en, "Plant name (English)"),
        "name_zh": name_zh,
        "name_en": name_en,
        "industry": "steel",
        "capacity_unit": "ttpa crude steel",
        "owner": _text(_column(raw, "Owner")),
        "owner_zh": _text(_column(raw, "Owner (other language)")),
        "province": _column(raw, "Subnational unit (province/state)"),
        "city": _known(_column(raw, "Municipality")),
        "address": _text(_column(raw, "Other language location address")),
        "coking_capacity": coking_capacity,
        "coking": ((coking_capacity > 0) | (coking == ">0")).astype(int),
        "products": _known(_column(raw, "Main production equipment")),
        **{f"{kind}_date": normal_dates(plants, _column(raw, f"{kind.title()} date"),
                                        f"{kind.title()} date")
           for kind in ("start", "idled", "retired")},
        **_gem_point(raw, _attribution("Global Iron and Steel Tracker", plants)),
    })
    units = _gist_units(capacity, table)
    rolled = _roll_up(units)
    table = table.assign(status=rolled["status"].reindex(table["id"]).fillna("").to_numpy(),
                         capacity=rolled["capacity"].reindex(table["id"]).to_numpy())
    layer, report = _place(plants, raw, table)
    return PlantTable(layer, report, _units_of(units, layer))


def load_gcpt(path: Path) -> PlantTable:
    """Global Coal Plant Tracker units, rolled up into plants by ``GEM location ID``.

    A plant is named by its local (Chinese) name, else its English one; it takes its point,
    county, address and accuracy from its first unit in its rolled-up status, its owners from
    all units (``; ``-joined), its start from the earliest unit that ran (else the earliest
    planned) and, when retired, its retired date from the last unit retired. Each further unit
    is a report row ``merged`` (other_id the plant, distance_km from its point)."""
    raw = read_table(path, ["GEM unit/phase ID", "GEM location ID", "Plant name", "Unit name",
                            "Capacity (MW)", "Status", "Latitude", "Longitude"])
    unit_ids = _ids(path, raw, "GEM unit/phase ID")
    location = _ids(path, raw, "GEM location ID", unique=False)
    name_zh, name_en = _text(_column(raw, "Plant name (local)")), _text(raw["Plant name"])
    names = _names(path, name_zh, name_en, "Plant name")
    lon = coordinate_column(path, raw, "Longitude", -180, 180)
    lat = coordinate_column(path, raw, "Latitude", -90, 90)
    units = pd.DataFrame({
        "enterprise_id": "gem:" + location,
        "unit_id": "gem:" + unit_ids,
        "capacity": _number(path, raw, "Capacity (MW)"),
        "capacity_unit": "MW",
        "status": status_column(path, raw, "Status"),
        "start_date": normal_dates(path, raw.get("Start year", _blank(raw)), "Start year"),
        "idled_date": "",
        "retired_date": normal_dates(path, raw.get("Retired year", _blank(raw)), "Retired year"),
        "source_id": "gem:" + location,
    })
    rolled = _roll_up(units)
    plant_status = rolled["status"].reindex(units["enterprise_id"]).to_numpy()
    in_status = _group(units["status"]).to_numpy() == _group(pd.Series(plant_status)).to_numpy()
    # the representative unit: the first in the plant's status (a plant has one, at least)
    first = units.index.isin(units[in_status].drop_duplicates("enterprise_id").index)
    ran = units[units["status"].isin(_RAN)]
    start = ran.groupby("enterprise_id")["start_date"].agg(_earliest).combine_first(
        units.groupby("enterprise_id")["start_date"].agg(_earliest))
    retired = units.groupby("enterprise_id")["retired_date"].agg(lambda d: max(d, default=""))
    owners = _column(raw, "Owner").groupby(units["enterprise_id"]).agg(
        lambda o: "; ".join(dict.fromkeys(x for x in o if x.strip())))
    plant = units.loc[first, "enterprise_id"]
    table = pd.DataFrame({
        "id": plant,
        "name": names[first],
        "name_zh": name_zh[first],
        "name_en": name_en[first],
        "industry": "coal_power",
        "capacity": rolled["capacity"].reindex(plant).to_numpy(),
        "capacity_unit": "MW",
        "owner": owners.reindex(plant).to_numpy(),
        "province": _column(raw, "Subnational unit (province, state)")[first],
        "city": _column(raw, "Major area (prefecture, district)")[first],
        "county": _column(raw, "Local area (taluk, county)")[first],
        "address": _column(raw, "Location")[first],
        "status": rolled["status"].reindex(plant).to_numpy(),
        "start_date": start.reindex(plant).fillna("").to_numpy(),
        "retired_date": np.where(rolled["status"].reindex(plant) == "retired",
                                 retired.reindex(plant).fillna(""), ""),
        "geocode_source": "source_coordinates",
        "geocode_precision": "point",
        "coordinate_accuracy": _column(raw, "Location accuracy")[first],
        "source_datum": Datum.WGS84.value,
        "data_source": _attribution("Global Coal Plant Tracker", path),
    })
    layer, report = located(path, table, lon[first], lat[first], NO_COORDINATES)
    further = units[~first]
    at = table.set_index("id").index.get_indexer(further["enterprise_id"])
    merged = pd.DataFrame({
        "file": path.name,
        "row": further.index + 1,
        "id": further["unit_id"],
        "name": names[~first] + " " + _column(raw, "Unit name")[~first],
        "status": "merged",
        "reason": "a further unit of GEM location " + location[~first]
                  + "; its capacity counts in its plant's by status",
        "other_id": further["enterprise_id"],
        "distance_km": _haversine_km(lon[~first].to_numpy(), lat[~first].to_numpy(),
                                     lon[first].to_numpy()[at], lat[first].to_numpy()[at]),
    }, columns=REPORT_COLUMNS).round({"distance_km": 3})
    return PlantTable(layer, _concat_reports([report, merged]), _units_of(units, layer))


def load_gci(path: Path) -> PlantTable:
    """Global Chemicals Inventory plants (no status, dates or capacity in the source).
    A plant whose Feedstock includes coke oven gas is a coking plant's by-product works:
    industry ``coking``, ``coking`` 1, its products kept. Zero-width characters are removed."""
    raw = read_table(path, ["GEM plant ID", "Plant name (English)",
                            "Plant name (other language)", "Feedstock", "lat", "lon"])
    ids = _ids(path, raw, "GEM plant ID")
    name_zh, name_en = _text(raw["Plant name (other language)"]), _text(
        raw["Plant name (English)"])
    coke_gas = raw["Feedstock"].str.lower().str.contains("coke oven gas", regex=False)
    table = pd.DataFrame({
        "id": "gem:" + ids,
        "name": _names(path, name_zh, name_en, "Plant name (English)"),
        "name_zh": name_zh,
        "name_en": name_en,
        "industry": np.where(coke_gas, "coking", "chemical"),
        "capacity": np.nan,
        "capacity_unit": "",
        "owner": _owner(_column(raw, "Owner (English)")),
        "owner_zh": _owner(_column(raw, "Owner (other language)")),
        "province": _column(raw, "Subnational unit"),
        "city": _known(_column(raw, "Municipality")),
        "products": _text(_column(raw, "Primary products")),
        "coking": coke_gas.astype(int),
        **_gem_point(raw, _attribution("Global Chemicals Inventory", path)),
    })
    return plant_table(*_place(path, raw, table))


def plant_units(layer: pd.DataFrame) -> pd.DataFrame:
    """One unit per plant, the plant itself (sources without units, plants placed from
    records): its ``capacity``, ``capacity_unit``, ``status`` and dates as text, blank where
    the layer lacks them or has no value; ``source_id`` its ``source_ids`` (else its id)."""
    def text(name: str, default: pd.Series | str = "") -> pd.Series:
        values = layer[name] if name in layer.columns else pd.Series(default, index=layer.index)
        return values.fillna("").astype(str).str.strip()

    ids = layer["id"].astype(str)
    return pd.DataFrame({
        "enterprise_id": ids,
        "unit_id": ids,
        "capacity": pd.to_numeric(layer["capacity"], errors="coerce") if "capacity" in layer
        else np.nan,
        **{c: text(c) for c in ("capacity_unit", "status", "start_date", "idled_date",
                                "retired_date")},
        "source_id": text("source_ids", ids),
    }, columns=UNIT_COLUMNS).reset_index(drop=True)


def combine_tables(parts: Sequence[PlantTable]) -> PlantTable:
    """One table from several loaders (``geo.enterprises.combine`` for layer and report: an
    id may repeat across sources, never within one); unit ids must be unique."""
    layer, report = combine([(p.layer, p.report) for p in parts])
    tables = [p.units for p in parts if len(p.units)]
    units = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=UNIT_COLUMNS)
    repeated = units["unit_id"][units["unit_id"].duplicated()]
    if len(repeated):
        raise ValueError(f"unit ids are not unique: {', '.join(repeated[:5])}")
    return PlantTable(layer, report, units)


def _gist_units(path: Path, plants: pd.DataFrame) -> pd.DataFrame:
    raw = read_table(path, ["Plant ID", "Status", "Start date",
                            "Nominal crude steel capacity (ttpa)"])
    plant = "gem:" + _ids(path, raw, "Plant ID", unique=False)
    status = status_column(path, raw, "Status")
    unknown = ~plant.isin(plants["id"])
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(path, f"plant {plant.iloc[row]!r} is not in the plant sheet",
                         row=row + 1, field="Plant ID")
    repeated = (plant + "#" + status).duplicated()
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0])
        raise InputError(path, f"status {status.iloc[row]!r} of plant {plant.iloc[row]!r} is "
                         "given twice", row=row + 1, field="Status")
    dates = plants.set_index("id")
    ended = {"retired": "retired_date", "mothballed": "idled_date", "idled": "idled_date"}
    units = pd.DataFrame({
        "enterprise_id": plant,
        "unit_id": plant + "#" + status.replace("", "unknown"),
        "capacity": _number(path, raw, "Nominal crude steel capacity (ttpa)"),
        "capacity_unit": "ttpa crude steel",
        "status": status,
        "start_date": normal_dates(path, raw["Start date"], "Start date"),
        **{column: [str(dates.at[p, column]) if ended.get(s) == column else ""
                    for p, s in zip(plant, status, strict=True)]
           for column in ("idled_date", "retired_date")},
        "source_id": plant,
    })
    # a plant without status rows is one unit of unknown status, with the plant's dates
    bare = plants[~plants["id"].isin(plant)]
    return pd.concat([units, pd.DataFrame({
        "enterprise_id": bare["id"], "unit_id": bare["id"] + "#unknown", "capacity": np.nan,
        "capacity_unit": "ttpa crude steel", "status": "", "source_id": bare["id"],
        **{c: bare[c] for c in ("start_date", "idled_date", "retired_date")},
    })], ignore_index=True)


def _roll_up(units: pd.DataFrame) -> pd.DataFrame:
    """Per ``enterprise_id``: ``status`` of its most active unit, ``capacity`` summed over its
    units in that status (NaN when none is known)."""
    rank = units["status"].map({s: i for i, s in enumerate(STATUSES)}).fillna(len(STATUSES))
    best = rank.groupby(units["enterprise_id"]).transform("min")
    status = units["status"][rank == best].groupby(units["enterprise_id"]).first()
    plant_group = _group(status.reindex(units["enterprise_id"])).to_numpy()
    counted = units["capacity"].where(_group(units["status"]).to_numpy() == plant_group)
    capacity = counted.groupby(units["enterprise_id"]).sum(min_count=1)
    return pd.DataFrame({"status": status, "capacity": capacity})


def _group(status: pd.Series) -> pd.Series:
    return status.replace("operating pre-retirement", "operating")


def _earliest(dates: pd.Series) -> str | None:
    known = [d for d in dates if d]
    return min(known) if known else None


def _units_of(units: pd.DataFrame, layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """The units of plants that were placed (the others are in the report)."""
    return units[units["enterprise_id"].isin(layer["id"])][UNIT_COLUMNS].reset_index(drop=True)


def _place(
    path: Path, raw: pd.DataFrame, table: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    lon = coordinate_column(path, raw, "lon", -180, 180)
    lat = coordinate_column(path, raw, "lat", -90, 90)
    return located(path, table, lon, lat, NO_COORDINATES)


def _gem_point(raw: pd.DataFrame, source: str) -> dict[str, object]:
    return {
        "geocode_source": "source_coordinates",
        "geocode_precision": "point",
        "coordinate_accuracy": _column(raw, "Coordinate accuracy"),
        "source_datum": Datum.WGS84.value,
        "data_source": source,
    }


def _attribution(tracker: str, path: Path) -> str:
    """GEM's attribution, with the release read from a file name like ``gem_gcct_2025-07_…``."""
    found = _RELEASE.search(path.name)
    release = f", {_MONTHS[int(found[2]) - 1]} {found[1]}" if found and 1 <= int(
        found[2]) <= 12 else ""
    return f"Global Energy Monitor, {tracker}{release} (CC BY 4.0)"


def _ids(path: Path, raw: pd.DataFrame, column: str, unique: bool = True) -> pd.Series:
    ids = raw[column].astype(str).str.strip()
    bad = (ids == "") | (ids.duplicated() if unique else False)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        problem = "empty id" if ids.iloc[row] == "" else f"id {ids.iloc[row]!r} is used twice"
        raise InputError(path, problem, row=row + 1, field=column)
    return ids


def _names(path: Path, name_zh: pd.Series, name_en: pd.Series, field: str) -> pd.Series:
    """The Chinese name, else the English one; neither is an ``InputError`` on ``field``."""
    names = name_zh.where(name_zh != "", name_en)
    if (names == "").any():
        row = int(np.flatnonzero((names == "").to_numpy())[0])
        raise InputError(path, "empty plant name", row=row + 1, field=field)
    return names


def _number(path: Path, raw: pd.DataFrame, column: str) -> pd.Series:
    """``raw[column]`` as numbers; blank, ``unknown`` and ``>0`` are NaN, other text an
    ``InputError``."""
    text = _column(raw, column).str.strip()
    values = pd.to_numeric(text.where(~text.str.lower().isin(_NO_NUMBER)), errors="coerce")
    bad = values.isna() & ~text.str.lower().isin(_NO_NUMBER)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"not a number: {text.iloc[row]!r}", row=row + 1, field=column)
    return values.astype(float)


def _column(raw: pd.DataFrame, column: str) -> pd.Series:
    return raw[column].astype(str) if column in raw else _blank(raw)


def _blank(raw: pd.DataFrame) -> pd.Series:
    return pd.Series("", index=raw.index, dtype=str)


def _text(values: pd.Series) -> pd.Series:
    """Without zero-width characters, GEM's `` (Chinese)`` language tags and outer spaces."""
    return values.str.replace(_ZERO_WIDTH, "", regex=True).str.replace(
        _LANGUAGE, "", regex=True).str.strip()


def _owner(values: pd.Series) -> pd.Series:
    """Owner text without GEM's ``[100.0%]`` shares: ``A [60%]; B [40%]`` → ``A; B``."""
    return _text(values.str.replace(_SHARE, "", regex=True))


def _known(values: pd.Series) -> pd.Series:
    return values.where(values.str.strip().str.lower() != "unknown", "")


def _concat_reports(reports: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([r for r in reports if len(r)] or reports[:1], ignore_index=True)


def _haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray,
                  lat2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(a)))


def _layout(path: Path) -> tuple[str, Callable[[Path], PlantTable]]:
    try:
        header = set(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as e:
        raise InputError(path, f"cannot read table: {e}") from e
    for name, columns, load in _LAYOUTS:
        if set(columns) <= header:
            return name, load
    expected = "; ".join(f"{name}: {', '.join(columns)}" for name, columns, _ in _LAYOUTS)
    raise InputError(path, f"unknown plant table layout; expected the columns of one of: "
                     f"{expected}")


def _prefix(path: Path, suffix: str) -> str:
    return path.name.removesuffix(suffix)


def _gist_capacity_sheet(path: Path) -> PlantTable:
    raise InputError(path, "a GIST capacity-by-status table: load the plant sheet beside it "
                     "(…_plants.csv), which reads this one")


def _gspt(path: Path) -> PlantTable:
    return plant_table(*load_gem_steel(path))


def _wri(path: Path) -> PlantTable:
    return plant_table(*load_wri_power(path))


_GIST_PLANTS, _CAPACITY_SHEET = "GIST steel plants", "GIST capacity by status"
_PLANTS_SUFFIX, _CAPACITY_SUFFIX = "_plants.csv", "_capacity_by_status.csv"
_LAYOUTS: tuple[tuple[str, tuple[str, ...], Callable[[Path], PlantTable]], ...] = (
    ("GCCT cement plants", ("GEM Plant ID", "Operating status", "lat", "lon"), load_gcct),
    (_GIST_PLANTS, ("Plant ID", "Other language location address", "lat", "lon"),
     load_gist),
    ("GCPT coal units", ("GEM unit/phase ID", "GEM location ID", "Latitude", "Longitude"),
     load_gcpt),
    ("GCI chemical plants", ("GEM plant ID", "Primary products", "lat", "lon"), load_gci),
    ("GSPT steel plants", ("Plant ID", "plant_name_en", "lat", "lon"), _gspt),
    ("WRI power plants", ("Power Plant ID", "Fuel", "Latitude", "Longitude"), _wri),
    # after GSPT, whose export has these columns too
    (_CAPACITY_SHEET, ("Plant ID", "Status", "Nominal crude steel capacity (ttpa)"),
     _gist_capacity_sheet),
)
# The release's source (``pipeline.inputs.SOURCES``) of each layout.
TRACKER_SOURCES = {
    "GCCT cement plants": "gcct", _GIST_PLANTS: "gist", "GCPT coal units": "gcpt",
    "GCI chemical plants": "gci", "GSPT steel plants": "gem", "WRI power plants": "wri",
    _CAPACITY_SHEET: "gist",
}
