"""Cities, provinces and region groups of a release: statistics rows, membership, stations and
plants per city, indexed once per release (``region_index``).

Membership comes from ``stats/regions.json`` (``{"groups", "provinces", "cities"}``, written
with the statistics); a release without it gets the regions named by its statistics rows, with
no membership. Stations come from ``stations/stations.csv`` with their values per period from
``stations/station_{monthly,quarterly,annual}.csv`` (releases before months: quarterly only);
a station or plant is placed in a city by its ``city_adcode`` when the table has one, else by
its province and city names.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cachetools import LRUCache

from ...geo.gazetteer import short_name
from ...layers.periods import PERIOD_TYPES, period_type, sort_key
from ..errors import InvalidParameterError, NotFoundError, ReleaseUnavailableError, reason
from ..releases.records import province_key, read_rows
from ..releases.release import Release

Row = Mapping[str, Any]

REGIONS_PATH = "stats/regions.json"
STATIONS_PATH = "stations/stations.csv"
STATION_VALUE_PATHS = ("stations/station_monthly.csv", "stations/station_quarterly.csv",
                       "stations/station_annual.csv")
BOUNDARIES_PATH = "boundaries/boundaries.gpkg"
NATIONAL = "national"
GROUPS = ("2+26", "Fenwei", "YRD", "PRD")  # the region groups the statistics report
REGION_TYPES = ("city", "province", *GROUPS, NATIONAL)
STATION_FIELDS = ("code", "name", "lon", "lat", "status", "reason", "reason_zh")
ANNUAL_LIMIT = 35.0  # µg/m³, GB 3095-2012 Table 1, annual mean, grade II
DAILY_LIMIT = 75.0  # µg/m³, GB 3095-2012 Table 1, 24-hour mean, grade II


@dataclass(frozen=True)
class Region:
    """A city, a province, a group of cities or the nation."""

    kind: str  # city, province, group, national
    code: str  # adcode, group id or "national"
    name_zh: str
    name_en: str
    province: str | None = None  # cities: the province's adcode
    groups: tuple[str, ...] = ()  # cities: the group ids
    cities: tuple[str, ...] = ()  # provinces, groups, the nation: member adcodes

    @property
    def region_type(self) -> str:
        """The ``region_type`` of the region's statistics rows."""
        return self.code if self.kind == "group" else self.kind

    def names(self) -> dict[str, str]:
        return {"name_zh": self.name_zh, "name_en": self.name_en}


@dataclass(frozen=True)
class Station:
    code: str
    city: str  # adcode ("" when unplaced)
    fields: Row  # STATION_FIELDS


@dataclass(frozen=True)
class RegionIndex:
    """What the statistics, rankings, city and feed answers read, built once per release."""

    rows: Mapping[tuple[str, str], Mapping[str, Row]]  # (region_type, code) → period → row
    periods: Mapping[str, tuple[str, ...]]  # statistics periods by type, in order
    cities: Mapping[str, Region]
    provinces: Mapping[str, Region]
    groups: Mapping[str, Region]
    stations: Mapping[str, tuple[Station, ...]]  # city adcode → stations
    station_values: Mapping[str, Mapping[str, Row]]  # station code → period → values
    plants: Mapping[str, tuple[int, ...]]  # city adcode → enterprise indexes
    region_types: frozenset[str]
    bboxes: Mapping[str, tuple[float, float, float, float]] = field(default_factory=dict)

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(p for labels in self.periods.values() for p in labels)

    def row(self, region: Region, period: str) -> Row | None:
        return self.rows.get((region.region_type, region.code), {}).get(period)

    def series(self, region: Region) -> Mapping[str, Row]:
        """``{period: row}`` of a region."""
        return self.rows.get((region.region_type, region.code), {})

    def check_period(self, period: str, name: str = "period") -> str:
        """``period`` when the statistics have it, else InvalidParameterError naming ``name``."""
        if period not in self.labels:
            known = ", ".join(self.periods.get("month", ())[:1] + self.periods.get("year", ())[:1])
            hint = f" (e.g. {known})" if known else ""
            raise InvalidParameterError(
                f"{name}: {period!r} is not a period of this release's statistics{hint}")
        return period

    def default_period(self) -> str | None:
        """The latest month, else the latest period of any type."""
        for kind in PERIOD_TYPES:
            if self.periods.get(kind):
                return self.periods[kind][-1]
        return None

    def city(self, adcode: str) -> Region:
        try:
            return self.cities[adcode]
        except KeyError:
            raise NotFoundError(f"unknown city {adcode!r}") from None

    def province(self, adcode: str) -> Region:
        try:
            return self.provinces[adcode]
        except KeyError:
            raise NotFoundError(f"unknown province {adcode!r}") from None

    def reference(self, city: Region) -> Region | None:
        """The region a city is shown beside: its first group, else its province."""
        for group in city.groups:
            if group in self.groups:
                return self.groups[group]
        return self.provinces.get(city.province or "")

    def group_members(self, group: str) -> Region:
        """The region set of a ranking: ``national``, a group id or a province adcode."""
        if group == NATIONAL:
            return Region(NATIONAL, NATIONAL, "全国", "National", cities=tuple(self.cities))
        if group in self.groups:
            return self.groups[group]
        if group in self.provinces:
            return self.provinces[group]
        if group in GROUPS:  # a group the statistics know, without cities in this release
            return Region("group", group, group, group)
        choices = ", ".join(dict.fromkeys([NATIONAL, *GROUPS, *self.groups]))
        raise InvalidParameterError(
            f"group: {group!r} is not {choices} or the adcode of a province of this release")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def number(value: Any) -> float | None:
    """A finite float, else None."""
    try:
        found = float(value)
    except (TypeError, ValueError):
        return None
    return found if math.isfinite(found) else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def row_code(row: Row) -> str:
    """A row's region code (``code``; rows written before codes: the region's name)."""
    return _text(row.get("code")) or _text(row.get("region"))


def _index_rows(stats: Iterable[Row]) -> tuple[
        dict[tuple[str, str], dict[str, Row]], dict[str, tuple[str, ...]]]:  # fmt: skip
    rows: dict[tuple[str, str], dict[str, Row]] = {}
    labels: dict[str, set[str]] = {kind: set() for kind in PERIOD_TYPES}
    for row in stats:
        period = _text(row.get("period"))
        try:
            kind = period_type(period)
        except ValueError:
            continue
        labels[kind].add(period)
        key = (_text(row.get("region_type")), row_code(row))
        rows.setdefault(key, {})[period] = row
    ordered = {kind: tuple(sorted(found, key=sort_key)) for kind, found in labels.items()}
    return rows, ordered


def _membership(raw: Mapping[str, Any]) -> tuple[
        dict[str, Region], dict[str, Region], dict[str, Region]]:  # fmt: skip
    """Cities, provinces and groups of ``stats/regions.json``."""
    cities = {
        str(code): Region("city", str(code), _text(c.get("name_zh")), _text(c.get("name_en")),
                          province=_text(c.get("province")) or None,
                          groups=tuple(str(g) for g in c.get("groups") or ()))
        for code, c in (raw.get("cities") or {}).items()
    }  # fmt: skip
    provinces = {
        str(code): Region("province", str(code), _text(p.get("name_zh")), _text(p.get("name_en")),
                          cities=tuple(str(c) for c in p.get("cities") or ()))
        for code, p in (raw.get("provinces") or {}).items()
    }  # fmt: skip
    groups = {
        str(gid): Region("group", str(gid), _text(g.get("name_zh")), _text(g.get("name_en")),
                         cities=tuple(str(c) for c in g.get("cities") or ()))
        for gid, g in (raw.get("groups") or {}).items()
    }  # fmt: skip
    return cities, provinces, groups


def _from_rows(rows: Mapping[tuple[str, str], Mapping[str, Row]]) -> tuple[
        dict[str, Region], dict[str, Region], dict[str, Region]]:  # fmt: skip
    """Regions named by statistics rows (a release without ``stats/regions.json``)."""
    found: dict[str, dict[str, Region]] = {"city": {}, "province": {}, "group": {}}
    for (region_type, code), by_period in rows.items():
        if not by_period or region_type == NATIONAL:
            continue
        row = next(iter(by_period.values()))
        name_zh = _text(row.get("name_zh")) or _text(row.get("region"))
        kind = region_type if region_type in ("city", "province") else "group"
        found[kind][code] = Region(kind, code, name_zh, _text(row.get("name_en")))
    return found["city"], found["province"], found["group"]


def _read_json(release: Release, relative: str) -> Any:
    try:
        return json.loads(release.path(relative).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ReleaseUnavailableError(f"cannot read {relative}: {reason(e)}") from e


def _table(release: Release, relative: str) -> list[dict[str, Any]]:
    try:
        return read_rows(release.path(relative))
    except (OSError, ValueError, KeyError) as e:
        raise ReleaseUnavailableError(f"cannot read {relative}: {reason(e)}") from e


class CityFinder:
    """A city's adcode from a province and a city name, as plants and stations write them."""

    def __init__(self, cities: Mapping[str, Region], provinces: Mapping[str, Region]) -> None:
        province_names = {short_name(p.name_zh): code for code, p in provinces.items()}
        self.by_name: dict[tuple[str, str], str] = {}
        self.by_province: dict[str, list[Region]] = {}
        for code, city in cities.items():
            province = provinces.get(city.province or "")
            pname = short_name(province.name_zh) if province else ""
            self.by_name[(pname, short_name(city.name_zh))] = code
            self.by_province.setdefault(pname, []).append(city)
        self.province_names = province_names

    def find(self, province: str, city: str) -> str:
        pname, cname = province_key(province), short_name(city) if city.strip() else ""
        if not cname:
            return ""
        if found := self.by_name.get((pname, cname)):
            return found
        # 延边朝鲜族自治州 → 延边: the one city of the province whose name starts the text
        starts = [c.code for c in self.by_province.get(pname, ()) if c.name_zh
                  and city.strip().startswith(c.name_zh)]  # fmt: skip
        return starts[0] if len(starts) == 1 else ""


def _stations(release: Release, finder: CityFinder) -> tuple[
        dict[str, tuple[Station, ...]], dict[str, Mapping[str, Row]]]:  # fmt: skip
    if STATIONS_PATH not in release.files:
        return {}, {}
    by_city: dict[str, list[Station]] = {}
    for raw in _table(release, STATIONS_PATH):
        code = _text(raw.get("code"))
        city = _text(raw.get("city_adcode")) or finder.find(
            _text(raw.get("province")), _text(raw.get("city")))
        fields = {
            "code": code, "name": _text(raw.get("name")) or None,
            "lon": number(raw.get("lon")), "lat": number(raw.get("lat")),
            "status": _text(raw.get("status")) or None, "reason": _text(raw.get("reason")) or None,
            "reason_zh": _text(raw.get("reason_zh")) or None,
        }  # fmt: skip
        if city:
            by_city.setdefault(city, []).append(Station(code, city, MappingProxyType(fields)))
    values: dict[str, dict[str, Row]] = {}
    for relative in STATION_VALUE_PATHS:
        if relative not in release.files:
            continue
        for raw in _table(release, relative):
            values.setdefault(_text(raw.get("code")), {})[_text(raw.get("period"))] = (
                MappingProxyType({
                    "pm25": number(raw.get("pm25")),
                    "n_days": None if (n := number(raw.get("n_days"))) is None else int(n),
                    "valid": _flag(raw.get("valid")),
                })
            )
    stations = {k: tuple(sorted(v, key=lambda s: s.code)) for k, v in by_city.items()}
    return stations, {k: MappingProxyType(v) for k, v in values.items()}


def _plants(release: Release, finder: CityFinder) -> dict[str, tuple[int, ...]]:
    by_city: dict[str, list[int]] = {}
    for index, feature in enumerate(release.enterprises.features):
        props = feature["properties"]
        city = _text(props.get("city_adcode")) or finder.find(
            _text(props.get("province")), _text(props.get("city")))
        if city:
            by_city.setdefault(city, []).append(index)
    return {k: tuple(v) for k, v in by_city.items()}


def _bboxes(release: Release) -> dict[str, tuple[float, float, float, float]]:
    """City adcode → lon/lat bounds, from the boundaries package (its spatial index)."""
    if BOUNDARIES_PATH not in release.files:
        return {}
    import pyogrio

    path = release.path(BOUNDARIES_PATH)
    try:
        frame = pyogrio.read_dataframe(path, layer="cities", read_geometry=False,
                                       columns=["adcode"], fid_as_index=True)  # fmt: skip
        fids, bounds = pyogrio.read_bounds(path, layer="cities")
    except Exception:  # an older package without the layer or column: no boxes
        return {}
    adcodes = {int(fid): str(code) for fid, code in zip(frame.index, frame["adcode"], strict=True)}
    return {
        adcodes[int(fid)]: (round(float(w), 4), round(float(s), 4), round(float(e), 4),
                            round(float(n), 4))
        for fid, w, s, e, n in zip(fids, *bounds, strict=True)
        if int(fid) in adcodes and all(math.isfinite(float(v)) for v in (w, s, e, n))
    }  # fmt: skip


def build_index(release: Release) -> RegionIndex:
    """Index the statistics, membership, stations and plants of ``release``."""
    rows, periods = _index_rows(release.stats)
    if REGIONS_PATH in release.files:
        cities, provinces, groups = _membership(_read_json(release, REGIONS_PATH))
    else:
        cities, provinces, groups = _from_rows(rows)
    finder = CityFinder(cities, provinces)
    stations, values = _stations(release, finder)
    frozen_rows = {k: MappingProxyType(v) for k, v in rows.items()}
    return RegionIndex(
        rows=MappingProxyType(frozen_rows),
        periods=MappingProxyType(periods),
        cities=MappingProxyType(cities),
        provinces=MappingProxyType(provinces),
        groups=MappingProxyType(groups),
        stations=MappingProxyType(stations),
        station_values=MappingProxyType(values),
        plants=MappingProxyType(_plants(release, finder)),
        region_types=frozenset(REGION_TYPES) | {region_type for region_type, _ in rows},
        bboxes=MappingProxyType(_bboxes(release)),
    )


_CACHE: LRUCache[tuple[str, str], RegionIndex] = LRUCache(8)
_LOCK = threading.Lock()


def region_index(release: Release) -> RegionIndex:
    """The index of ``release``, built on first use (releases are immutable)."""
    key = (str(release.root), release.id)
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = build_index(release)
    return found


def rank_entry(row: Row | None, scope: str) -> dict[str, Any] | None:
    """``{"rank", "of"}`` of a city row in ``scope`` (national, group, province), if ranked."""
    if row is None:
        return None
    rank, total = number(row.get(f"rank_{scope}")), number(row.get(f"n_ranked_{scope}"))
    if rank is None:
        return None
    return {"rank": int(rank), "of": None if total is None else int(total)}

