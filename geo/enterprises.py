"""Enterprise tables → one WGS-84 GeoDataFrame with geocode provenance, plus a report.

Every input row ends up either in the layer or in the report with a reason: none is dropped
silently. Malformed values (a latitude of 'abc', an unknown datum) raise ``InputError`` naming
file, row and field; rows that are well-formed but cannot be placed go to the report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pypinyin import lazy_pinyin

from ..errors import InputError
from .dates import normal_dates
from .datum import Datum, to_wgs84
from .gazetteer import Gazetteer
from .online import OnlineGeocoder

COLUMNS = [
    "id", "name", "name_zh", "name_en", "industry", "capacity", "capacity_unit", "owner",
    "province", "city", "county", "address", "geocode_source", "geocode_precision",
    "coordinate_accuracy", "source_datum", "data_source", "status", "start_date", "idled_date",
    "retired_date", "owner_zh", "coking_capacity", "coking", "products", "source_ids",
]
REPORT_COLUMNS = [
    "file", "row", "id", "name", "status", "reason", "score", "other_id", "distance_km",
    "address", "address_adcode", "address_unit", "address_lon", "address_lat",
    "address_distance_km", "county_size_km", "address_flag",
]
# A plant's life, most active first: the order in which a plant's status is chosen from its
# units' (any unit operating → operating; else the first state of this list a unit is in).
STATUSES = (
    "operating", "operating pre-retirement", "mothballed", "idled", "construction", "retired",
    "permitted", "pre-permit", "announced", "shelved", "cancelled",
)
# China's extent (west, south, east, north), South China Sea islands included: a plant outside
# it is a wrong coordinate (or a plant in another country) and goes to the report, not the map.
CHINA_BOUNDS = (73.4, 3.8, 135.1, 53.6)
_HAN = re.compile(r"[\u4e00-\u9fff]")
GEM_SOURCE = "Global Energy Monitor, Global Steel Plant Tracker (CC BY 4.0)"
WRI_SOURCE = "WRI Global Power Plant Database (CC BY 4.0)"
WRI_STATUS = {"operational": "operating", "shutdown": "retired",
              "under construction": "construction"}
# Values the loaders give the new columns when a source has nothing to say
_DEFAULTS: dict[str, object] = {
    "county": "", "address": "", "status": "", "start_date": "", "idled_date": "",
    "retired_date": "", "owner_zh": "", "coking_capacity": np.nan, "products": "",
}


def empty_report() -> pd.DataFrame:
    return pd.DataFrame(columns=REPORT_COLUMNS)


def load_gem_steel(path: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Global Steel Plant Tracker rows (``lat``/``lon`` split from GEM's Coordinates).

    GEM's ``Coordinate accuracy`` (``exact`` or ``approximate``) is kept in
    ``coordinate_accuracy``; the precision of a source point is always ``point``. The source id
    is ``gspt:<Plant ID>`` (GIST, its successor, uses ``gem:``: the same id, another source)."""
    raw = read_table(path, ["Plant ID", "plant_name_en", "plant_name_zh", "lat", "lon"])
    lon = coordinate_column(path, raw, "lon", -180, 180)
    lat = coordinate_column(path, raw, "lat", -90, 90)
    accuracy = raw.get("Coordinate accuracy", pd.Series("", index=raw.index))
    table = pd.DataFrame({
        "id": "gem:" + raw["Plant ID"].str.strip(),
        "name": raw["plant_name_zh"].where(raw["plant_name_zh"] != "", raw["plant_name_en"]),
        "name_zh": raw["plant_name_zh"],
        "name_en": raw["plant_name_en"],
        "industry": "steel",
        "capacity": pd.to_numeric(raw.get("Nominal crude steel capacity (ttpa)"),
                                  errors="coerce"),
        "capacity_unit": "ttpa crude steel",
        "owner": raw.get("Owner", ""),
        "province": raw.get("province", ""),
        "city": raw.get("Municipality", "").replace("unknown", ""),
        "county": "",
        "address": "",
        "geocode_source": "source_coordinates",
        "geocode_precision": "point",
        "coordinate_accuracy": accuracy,
        "source_datum": Datum.WGS84.value,
        "data_source": GEM_SOURCE,
        "status": status_column(path, raw, "Status"),
        "start_date": normal_dates(path, raw.get("start_date", pd.Series("", index=raw.index)),
                                   "start_date"),
        "coking_capacity": pd.to_numeric(raw.get("Coking plant capacity (ttpa)"),
                                         errors="coerce"),
        "products": raw.get("Main production equipment", ""),
        "source_ids": "gspt:" + raw["Plant ID"].str.strip(),
    })
    return located(path, table, lon, lat)


def load_wri_power(
    path: Path, fuels: Sequence[str] = ("Coal",)
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """WRI Global Power Plant Database (China source file), plants burning ``fuels``.

    Rows sharing a Power Plant ID are units of one plant: they become one enterprise with the
    summed capacity, and the merge is noted in the report. ``Operational Status`` becomes
    ``status`` (Operational → operating, Shutdown → retired, Under Construction →
    construction) and ``Commissioning Date`` ``start_date`` (a range ``1992-2006``: its first
    year, when the first unit started)."""
    raw = read_table(path, ["Power Plant ID", "Name", "Fuel", "Latitude", "Longitude"])
    raw = raw[raw["Fuel"].isin(fuels)]
    lon = coordinate_column(path, raw, "Longitude", -180, 180)
    lat = coordinate_column(path, raw, "Latitude", -90, 90)
    repeated = raw["Power Plant ID"].duplicated()
    merged = pd.DataFrame({
        "file": path.name, "row": raw.index[repeated] + 1,
        "id": "wri:" + raw.loc[repeated, "Power Plant ID"], "name": raw.loc[repeated, "Name"],
        "status": "merged", "reason": "a further unit of the same Power Plant ID; capacity summed",
    }, columns=REPORT_COLUMNS)
    capacity = pd.to_numeric(raw.get("Capacity (MW)"), errors="coerce")
    raw = raw.assign(**{"Capacity (MW)": capacity.groupby(raw["Power Plant ID"]).transform(
        "sum", min_count=1)})[~repeated]
    lon, lat = lon[~repeated], lat[~repeated]
    industry = raw["Fuel"].str.lower().str.replace(" ", "_") + "_power"
    commissioned = raw.get("Commissioning Date", pd.Series("", index=raw.index))
    table = pd.DataFrame({
        "id": "wri:" + raw["Power Plant ID"].str.strip(),
        "name": raw["Name"],
        "name_zh": "",
        "name_en": raw["Name"],
        "industry": industry,
        "capacity": raw["Capacity (MW)"],
        "capacity_unit": "MW",
        "owner": raw.get("Owner", ""),
        "province": "",
        "city": raw.get("Municipality", ""),
        "county": "",
        "address": raw.get("Location", ""),
        "geocode_source": "source_coordinates",
        "geocode_precision": "point",
        "coordinate_accuracy": "",
        "source_datum": Datum.WGS84.value,
        "data_source": WRI_SOURCE,
        "status": status_column(path, raw, "Operational Status", WRI_STATUS),
        "start_date": normal_dates(path, commissioned.str.replace(
            r"^(\d{4})-\d{4}$", r"\1", regex=True), "Commissioning Date"),
    })
    layer, report = located(path, table, lon, lat)
    return layer, pd.concat([report, merged], ignore_index=True) if len(merged) else report


def load_enterprise_table(
    path: Path, gazetteer: Gazetteer, online: OnlineGeocoder | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """A generic table: ``name, industry`` and ``lat, lon[, datum]`` and/or ``province, city,
    county, address`` (optional: ``status``, ``start_date``, ``idled_date``, ``retired_date``,
    ``owner_zh``, ``coking_capacity``, ``products``). Given coordinates are converted to
    WGS-84. Rows without them are sent to the ``online`` provider when one is configured and
    the row has a street address, and otherwise (or when it finds nothing) geocoded from the
    gazetteer to county, city or province precision. Ids are ``csv:<id>`` from an optional
    ``id`` column, else ``csv:<row>``; a repeated id, an empty name, a bad coordinate, an
    unknown datum, status or date raises ``InputError``, while rows that cannot be placed go
    to the report."""
    raw = read_table(path, ["name", "industry"])
    for column in ("name_zh", "name_en", "province", "city", "county", "address", "owner",
                   "datum", "lat", "lon", "capacity", "capacity_unit", "id", "status",
                   "start_date", "idled_date", "retired_date", "owner_zh", "coking_capacity",
                   "products"):
        if column not in raw:
            raw[column] = ""
    for row, name in enumerate(raw["name"], start=1):
        if not name.strip():
            raise InputError(path, "empty enterprise name", row=row, field="name")
    given = raw["id"].str.strip()
    repeated = given.duplicated() & (given != "")
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0]) + 1
        raise InputError(path, f"id {given.iloc[row - 1]!r} is used twice", row=row, field="id")
    lon = coordinate_column(path, raw, "lon", -180, 180)
    lat = coordinate_column(path, raw, "lat", -90, 90)
    datums = [_datum(path, row, text) for row, text in enumerate(raw["datum"], start=1)]
    table = pd.DataFrame({
        "id": [f"csv:{i or row}" for row, i in enumerate(given, start=1)],
        "name": raw["name"].str.strip(),
        "name_zh": raw["name_zh"],
        "name_en": raw["name_en"],
        "industry": raw["industry"].str.strip(),
        "capacity": pd.to_numeric(raw["capacity"], errors="coerce"),
        "capacity_unit": raw["capacity_unit"],
        "owner": raw["owner"],
        "province": raw["province"],
        "city": raw["city"],
        "county": raw["county"],
        "address": raw["address"],
        "geocode_source": "source_coordinates",
        "geocode_precision": "point",
        "coordinate_accuracy": "",
        "source_datum": [d.value for d in datums],
        "data_source": str(path.name),
        "status": status_column(path, raw, "status"),
        **{f: normal_dates(path, raw[f], f) for f in ("start_date", "idled_date", "retired_date")},
        "owner_zh": raw["owner_zh"],
        "coking_capacity": pd.to_numeric(raw["coking_capacity"], errors="coerce"),
        "products": raw["products"],
    }, index=raw.index)
    lon_out, lat_out = np.array(lon, dtype=float), np.array(lat, dtype=float)
    for i, (idx, datum) in enumerate(zip(raw.index, datums, strict=True)):
        if np.isfinite(lon_out[i]) and np.isfinite(lat_out[i]):
            x, y = to_wgs84(lon_out[i], lat_out[i], datum)
            lon_out[i], lat_out[i] = float(x), float(y)
            continue
        admin = {k: str(raw.at[idx, k]) for k in ("province", "city", "county", "address")}
        if online is not None and admin["address"].strip():
            point = online.locate("".join(admin.values()))
            if point is not None:
                lon_out[i], lat_out[i] = point.lon, point.lat
                table.loc[idx, ["geocode_source", "geocode_precision", "source_datum"]] = [
                    point.source, "point", point.source_datum.value]
                continue
        found = gazetteer.locate(**admin)
        if found is not None:
            lon_out[i], lat_out[i] = found.lon, found.lat
            table.loc[idx, ["geocode_source", "geocode_precision", "source_datum"]] = [
                "gazetteer", found.precision, found.source_datum.value]
    return located(path, table, pd.Series(lon_out, index=raw.index),
                    pd.Series(lat_out, index=raw.index))


def with_admin_units(
    layer: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    cities: gpd.GeoDataFrame,
    gazetteer: Gazetteer,
) -> gpd.GeoDataFrame:
    """``province`` and ``city`` as the official Chinese names of the polygons each plant lies
    in (``province_en``, ``city_en`` their English names); a plant outside every polygon (on
    the coast, offshore) keeps its table's names, the province as its official name
    (``Hebei`` → ``河北省``)."""
    points = gpd.GeoDataFrame(geometry=layer.geometry.to_numpy(), crs=layer.crs)
    province = _containing(points, provinces)
    city = _containing(points, cities)
    given = pd.Series([gazetteer.province_name(str(p)) for p in layer["province"].fillna("")],
                      index=layer.index)
    found_province, found_city = province["name"].notna(), city["name"].notna()
    return layer.assign(
        province=province["name"].where(found_province, given).fillna("").to_numpy(),
        province_en=province["name_en"].fillna("").to_numpy(),
        city=city["name"].where(found_city, layer["city"].fillna("").to_numpy()).to_numpy(),
        city_en=city["name_en"].fillna("").to_numpy(),
    )


def _containing(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> pd.DataFrame:
    """``name`` and ``name_en`` of the polygon containing each point (NaN where none does;
    the first polygon where borders overlap), in the points' order."""
    joined = gpd.sjoin(points, polygons[["name", "name_en", "geometry"]], how="left",
                       predicate="within")
    first = joined[~joined.index.duplicated(keep="first")]
    return pd.DataFrame(first[["name", "name_en"]]).reindex(points.index)


def with_search_keys(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer with ``name_pinyin``: toneless pinyin of the Chinese name (or of ``name``),
    lowercase without spaces, so 荣信 is found by ``rongxin``."""
    chinese = layer["name_zh"].fillna("").astype(str)
    chinese = chinese.where(chinese != "", layer["name"].fillna("").astype(str))
    return layer.assign(name_pinyin=[pinyin_key(text) for text in chinese])


def pinyin_key(text: str) -> str:
    """Toneless pinyin of Chinese ``text``, lowercase without spaces (荣信 → ``rongxin``);
    ``""`` when ``text`` has no Chinese."""
    return "".join(lazy_pinyin(text)).lower().replace(" ", "") if _HAN.search(text) else ""


def combine(parts: Sequence[tuple[gpd.GeoDataFrame, pd.DataFrame]]) -> tuple[
        gpd.GeoDataFrame, pd.DataFrame]:
    """One layer and one report from several loaders. An id may repeat across sources (GSPT
    and GIST share GEM's Plant IDs: ``geo.sites.merge_sites`` makes them one site), not within
    one: a repeated ``source_ids`` value raises ``ValueError``."""
    layers = [p[0] for p in parts if len(p[0])]
    layer = gpd.GeoDataFrame(pd.concat(layers, ignore_index=True), crs="EPSG:4326") if layers \
        else gpd.GeoDataFrame(columns=[*COLUMNS, "geometry"], geometry="geometry", crs=4326)
    repeated = layer["id"][layer["source_ids"].duplicated()]
    if len(repeated):
        raise ValueError(f"enterprise ids are not unique: {', '.join(repeated[:5])}")
    reports = [p[1] for p in parts if len(p[1])]
    report = pd.concat(reports, ignore_index=True) if reports else empty_report()
    return layer, report


def status_column(
    path: Path, raw: pd.DataFrame, column: str, aliases: dict[str, str] | None = None
) -> pd.Series:
    """``raw[column]`` lowercased, through ``aliases``, as one of ``STATUSES`` or ``""`` (also
    when the column is absent); another value is an ``InputError`` naming row and field."""
    if column not in raw:
        return pd.Series("", index=raw.index, dtype=str)
    text = raw[column].astype(str).str.strip().str.lower()
    status = text.replace(aliases) if aliases else text
    bad = ~status.isin(["", *STATUSES])
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"unknown status {raw[column].iloc[position]!r} (expected one of "
                         f"{', '.join(STATUSES)})", row=int(raw.index[position]) + 1, field=column)
    return status


def read_table(path: Path, required: list[str]) -> pd.DataFrame:
    """A CSV as text (no NA parsing); a missing ``required`` column is an ``InputError``."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputError(path, f"cannot read table: {e}") from e
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise InputError(path, f"missing column(s): {', '.join(missing)}", field=missing[0])
    return raw


def coordinate_column(
    path: Path, raw: pd.DataFrame, column: str, low: float, high: float
) -> pd.Series:
    """``raw[column]`` as numbers (NaN when blank); a value outside [low, high] or not a number
    is an ``InputError`` naming row and field."""
    text = raw[column].astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = (text != "") & (values.isna() | (values < low) | (values > high))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(raw.index[position]) + 1
        hint = " (latitude and longitude swapped?)" if high == 90 and abs(
            values.iloc[position]) <= 180 else ""
        raise InputError(path, f"not a coordinate in [{low}, {high}]: "
                         f"{text.iloc[position]!r}{hint}", row=row, field=column)
    return values


def _datum(path: Path, row: int, text: str) -> Datum:
    if not text.strip():
        return Datum.WGS84
    try:
        return Datum.parse(text)
    except ValueError as e:
        raise InputError(path, str(e), row=row, field="datum") from e


def located(
    path: Path, table: pd.DataFrame, lon: pd.Series, lat: pd.Series,
    missing: str = "no coordinates and the gazetteer found no admin unit",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Split rows with a point from rows that could not be placed (reported with a reason,
    ``missing`` for rows without coordinates). Columns of ``COLUMNS`` the table lacks get
    their empty value; ``source_ids`` defaults to ``id`` and ``coking`` to 1 for industry
    ``coking`` or a coking capacity above 0."""
    table = table.assign(**{k: v for k, v in _DEFAULTS.items() if k not in table})
    if "source_ids" not in table:
        table["source_ids"] = table["id"]
    if "coking" not in table:
        table["coking"] = ((table["industry"] == "coking")
                           | (table["coking_capacity"] > 0)).astype(int)
    placed = lon.notna().to_numpy() & lat.notna().to_numpy()
    swapped = placed & (lat.abs().to_numpy() > 60) & (lon.abs().to_numpy() < 60)
    west, south, east, north = CHINA_BOUNDS
    x, y = lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)
    abroad = placed & ~swapped & ~((x >= west) & (x <= east) & (y >= south) & (y <= north))
    failed = ~placed | swapped | abroad
    reasons = np.where(
        swapped, "latitude and longitude look swapped; row not placed",
        np.where(abroad, [f"({a:.4f}, {b:.4f}) lies outside China ({west}–{east}°E, "
                          f"{south}–{north}°N); row not placed" for a, b in zip(x, y, strict=True)],
                 missing))
    report = pd.DataFrame({
        "file": path.name,
        "row": np.asarray(table.index, int)[failed] + 1,
        "id": table["id"].to_numpy()[failed],
        "name": table["name"].to_numpy()[failed],
        "status": "failed",
        "reason": reasons[failed],
    }, columns=REPORT_COLUMNS)
    keep = ~failed
    layer = gpd.GeoDataFrame(
        table.loc[keep, COLUMNS].reset_index(drop=True),
        geometry=gpd.points_from_xy(lon[keep], lat[keep]),
        crs="EPSG:4326",
    )
    return layer, report
