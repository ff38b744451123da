"""CNEMC station lists: loading either published layout and checking each station's location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.prepared import PreparedGeometry, prep

from ..errors import InputError
from ..i18n import Lang, translate
from .gazetteer import Gazetteer, short_name

COLUMNS = ["code", "name", "city", "province", "lon", "lat"]
LAYOUTS: dict[str, dict[str, str]] = {
    # versey-sherry/china_air match1.csv
    "match1": {"id": "code", "cityid": "city", "provinceid": "province", "lon": "lon",
               "lat": "lat"},
    # the quotsoft / CNEMC station list
    "cnemc": {"监测点编码": "code", "监测点名称": "name", "城市": "city", "经度": "lon",
              "纬度": "lat"},
}
BORDER_TOLERANCE_DEG = 0.02  # ≈ 2 km: stations on a border are not flagged
FAR_FROM_CITY_KM = 250.0  # municipalities such as 重庆 span > 300 km


def load_stations(path: Path) -> pd.DataFrame:
    """One row per station code (columns ``COLUMNS``). A code repeated with the same coordinates
    keeps its first row; ``attrs["duplicate_rows"]`` lists the rows of each repeated code
    (code → 1-based rows). A code repeated with other
    coordinates is an :class:`InputError`. Missing coordinates (blank or ``-``) become NaN."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    layout = next((m for m in LAYOUTS.values() if set(m) <= set(raw.columns)), None)
    if layout is None:
        expected = " or ".join(",".join(m) for m in LAYOUTS.values())
        raise InputError(path, f"unrecognised station list header; expected {expected}")
    table = raw[list(layout)].rename(columns=layout)
    for column in COLUMNS:
        if column not in table:
            table[column] = ""
    table["code"] = table["code"].str.strip().str.removeprefix("X")
    for row, code in enumerate(table["code"], start=1):
        if not code:
            raise InputError(path, "empty station code", row=row, field="code")
    for axis, low, high in (("lon", -180, 180), ("lat", -90, 90)):
        text = table[axis].str.strip().replace({"-": "", "—": ""})
        values = pd.to_numeric(text, errors="coerce")
        bad = (text != "") & (values.isna() | (values < low) | (values > high))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            value = values.iloc[row - 1]
            hint = (" (latitude and longitude swapped?)"
                    if axis == "lat" and np.isfinite(value) and abs(value) <= 180 else "")
            raise InputError(path, f"not a coordinate: {table[axis].iloc[row - 1]!r}{hint}",
                             row=row, field=axis)
        table[axis] = values
    duplicated = table["code"].duplicated()
    rows: dict[str, list[int]] = {}
    for position in np.flatnonzero(table["code"].duplicated(keep=False).to_numpy()):
        rows.setdefault(str(table["code"].iloc[position]), []).append(int(position) + 1)
    for code, where in rows.items():
        first = table.iloc[where[0] - 1]
        for row in where[1:]:
            again = table.iloc[row - 1]
            same = all(
                (np.isnan(first[a]) and np.isnan(again[a])) or abs(first[a] - again[a]) < 1e-6
                for a in ("lon", "lat"))
            if not same:
                raise InputError(path, f"station {code} listed again with other coordinates "
                                 f"({again['lon']}, {again['lat']}) than at row {where[0]} "
                                 f"({first['lon']}, {first['lat']})", row=row, field="code")
    stations = table.loc[~duplicated, COLUMNS].reset_index(drop=True)
    stations.attrs["duplicate_rows"] = rows
    return stations


def merge_names(stations: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Fill empty names (and cities) from another list of the same stations."""
    lookup = other.set_index("code")
    merged = stations.copy()
    for column in ("name", "city"):
        empty = merged[column].fillna("") == ""
        merged.loc[empty, column] = merged.loc[empty, "code"].map(lookup[column]).fillna("")
    return merged


def validate_stations(
    stations: pd.DataFrame,
    cities: gpd.GeoDataFrame,
    provinces: gpd.GeoDataFrame,
    gazetteer: Gazetteer,
) -> pd.DataFrame:
    """Add ``status``, ``reason`` and ``reason_zh`` (the reason in Chinese): is each station
    inside its city (or province) polygon, or at least near its city's gazetteer point? Only
    ``ok`` stations should be used. A
    station outside its city is ``outside_province`` when it lies in a city of another
    province (``cities`` with a ``province`` column), and the reason says where it lies."""
    city_shapes = _prepared(cities)
    province_shapes = _prepared(provinces)
    province_of = (dict(zip(cities["name"].map(short_name), cities["province"], strict=True))
                   if "province" in cities else {})
    checks = [_check(row, city_shapes, province_shapes, gazetteer, province_of)
              for row in stations.itertuples(index=False)]
    return stations.assign(
        status=[status for status, _, _ in checks],
        reason=[_reason("en", key, params) for _, key, params in checks],
        reason_zh=[_reason("zh", key, params) for _, key, params in checks],
    )


Check = tuple[str, str, dict[str, str]]  # status, reason key ("" when ok), its parameters


def _reason(lang: Lang, key: str, params: dict[str, str]) -> str:
    """The reason's sentence in ``lang`` from the message catalogue (``station.reason.*``)."""
    return translate(lang, f"station.reason.{key}", **params) if key else ""


def _prepared(boundaries: gpd.GeoDataFrame) -> dict[str, PreparedGeometry]:
    """Short name → boundary grown by the border tolerance, prepared for fast tests."""
    grown = shapely.buffer(boundaries.geometry.to_numpy(), BORDER_TOLERANCE_DEG)
    return {short_name(n): prep(g) for n, g in zip(boundaries["name"], grown, strict=True)}


def _check(
    row: Any,
    city_shapes: dict[str, PreparedGeometry],
    province_shapes: dict[str, PreparedGeometry],
    gazetteer: Gazetteer,
    province_of: dict[str, str],
) -> Check:
    lon, lat = float(row.lon), float(row.lat)
    city = short_name(str(row.city or ""))
    province = short_name(str(row.province or ""))
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return "missing_coordinates", "missing_coordinates", {}
    point = Point(lon, lat)
    at = {"lon": f"{lon:.4f}", "lat": f"{lat:.4f}", "city": city}
    centroid = gazetteer.centroid_of_city(city) if city else None
    if city in city_shapes:
        if city_shapes[city].contains(point):
            return "ok", "", {}
        return _outside(point, at, city_shapes, province_of)
    if centroid is None:
        return "unknown_city", "unknown_city", {"city": str(row.city)}
    province = province or short_name(_province_of(centroid.adcode, gazetteer))
    if province in province_shapes:
        if province_shapes[province].contains(point):
            return "ok", "", {}
        return "outside_province", "outside_province", {**at, "province": province}
    distance = _haversine_km(lon, lat, centroid.lon, centroid.lat)
    if distance > FAR_FROM_CITY_KM:
        return "far_from_city", "far_from_city", {"km": f"{distance:.0f}", "city": city}
    return "ok", "", {}


def _outside(
    point: Point, at: dict[str, str], city_shapes: dict[str, PreparedGeometry],
    province_of: dict[str, str],
) -> Check:
    """Status and reason of a station outside its city: where it lies instead."""
    city = at["city"]
    found = next((name for name, shape in city_shapes.items() if shape.contains(point)), None)
    if found is None:
        return "outside_city", "no_city", at
    mine, theirs = province_of.get(city, ""), province_of.get(found, "")
    if mine and theirs and mine != theirs:
        return ("outside_province", "other_province",
                {**at, "found": found, "theirs": theirs, "mine": mine})
    return "outside_city", "other_city", {**at, "found": found}


def _province_of(adcode: str, gazetteer: Gazetteer) -> str:
    found = gazetteer.by_adcode(adcode[:2])
    return found.name if found is not None else ""


def _haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(a)))
