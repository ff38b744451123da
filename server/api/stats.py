"""Statistics, rankings, the city panel and the province summary (JSON; rankings also CSV).

Values come from the release's ``stats/region_stats.json`` rows (one per region and period:
month, quarter, year), computed by :mod:`lantian.layers.stats`; a missing change is
``null`` in JSON and ``not available`` in CSV, never 0 or blank.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from ...layers.periods import period_type
from ...settings import Settings
from ..deps import PERIOD_PATTERN, ReleaseDep
from ..errors import ERROR_RESPONSES, InvalidParameterError
from ..releases.records import PM25_SOURCE
from ..releases.release import Release, plain
from ..tiles.routes import base_url
from .answers import NOT_MODIFIED, cached
from .regions import (
    ANNUAL_LIMIT,
    DAILY_LIMIT,
    NATIONAL,
    Region,
    RegionIndex,
    Row,
    number,
    rank_entry,
    region_index,
)

PERIOD = PERIOD_PATTERN  # 2019-01, 2019Q1 or 2019
ADCODE = r"^\d{6}$"
GROUP = r"^(national|2\+26|Fenwei|YRD|PRD|\d{6})$"
NOT_AVAILABLE = "not available"
MAX_PLANTS = 200  # plants listed in a city answer (``plants_total`` counts them all)
CURRENT_FIELDS = (
    "pm25", "valid", "n_days", "days_over_75", "meets_annual_limit", "change_prev_pct",
    "change_prev_period", "change_year_pct", "change_year_period",
)  # fmt: skip
REGION_FIELDS = (*CURRENT_FIELDS, "n_cities", "n_valid_cities", "n_stations")
RANKING_FIELDS = (
    "rank", "code", "name_zh", "name_en", "province", "province_name_zh", "province_name_en",
    "pm25", "valid", "n_days", "days_over_75", "meets_annual_limit", "change_prev_pct",
    "change_prev_period", "change_year_pct", "change_year_period", "rank_national",
    "n_ranked_national",
)  # fmt: skip
ROW_FIELDS = RANKING_FIELDS[RANKING_FIELDS.index("pm25"):]  # as the statistics row has them
SORT_FIELDS = {"pm25": "pm25", "change_prev": "change_prev_pct", "change_year": "change_year_pct"}
ROUNDED = {"pm25": 1, "change_prev_pct": 1, "change_year_pct": 1, "days_over_75": 1}
NUMERIC = frozenset({"rank", "pm25", "n_days", "days_over_75", "change_prev_pct",
                     "change_year_pct", "rank_national", "n_ranked_national"})  # fmt: skip
INTEGER = frozenset({"rank", "n_days", "rank_national", "n_ranked_national"})
JSON_OBJECT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}, **NOT_MODIFIED}
CSV_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {}}},
    **NOT_MODIFIED,
}  # fmt: skip

AdcodePath = Annotated[str, Path(pattern=ADCODE, description="Adcode, e.g. 130100.")]
PeriodQuery = Annotated[
    str | None,
    Query(pattern=PERIOD, description="2019-01, 2019Q1 or 2019; default: the latest month."),
]


@dataclass
class StatsQuery:
    """Exact-match filters on the statistics rows; each must name something the release has."""

    region_type: Annotated[
        str | None, Query(max_length=32, description="city, province, 2+26, Fenwei, YRD, PRD, "
                          "national.")] = None  # fmt: skip
    region: Annotated[str | None, Query(max_length=64, description="Short name, e.g. 石家庄.")] = (
        None
    )
    code: Annotated[str | None, Query(max_length=16, description="Adcode or group id.")] = None
    period: Annotated[str | None, Query(max_length=16, description="2019-01, 2019Q1, 2019.")] = (
        None
    )
    period_type: Annotated[
        str | None, Query(max_length=16, description="month, quarter or year.")] = None


@dataclass
class RankingQuery:
    """A ranking of cities: which period and set, by what, in which order and format."""

    period: PeriodQuery = None
    group: Annotated[
        str, Query(pattern=GROUP, description="national, 2+26, Fenwei, YRD, PRD or a province "
                   "adcode.")] = NATIONAL  # fmt: skip
    sort: Annotated[Literal["pm25", "change_prev", "change_year"], Query()] = "pm25"
    order: Annotated[Literal["desc", "asc"], Query()] = "desc"
    format: Annotated[Literal["json", "csv"], Query()] = "json"


def validate_stats_query(index: RegionIndex, query: StatsQuery) -> None:
    """InvalidParameterError naming the parameter that the statistics cannot match."""
    if query.period_type is not None and query.period_type not in ("month", "quarter", "year"):
        raise InvalidParameterError("period_type: must be month, quarter or year")
    if query.region_type is not None and query.region_type not in index.region_types:
        known = ", ".join(sorted(index.region_types))
        raise InvalidParameterError(f"region_type: must be one of {known}")
    if query.period is not None:
        index.check_period(query.period)
        if query.period_type is not None and period_type(query.period) != query.period_type:
            raise InvalidParameterError(
                f"period: {query.period!r} is not a {query.period_type} (period_type)")


def choose_period(index: RegionIndex, period: str | None) -> str | None:
    """``period`` checked against the statistics, else the latest month (None: no statistics)."""
    return index.check_period(period) if period is not None else index.default_period()


def _value(row: Row | None, name: str) -> Any:
    if row is None:
        return None
    value = row.get(name)
    if name not in NUMERIC:
        return value
    found = number(value)
    return int(found) if found is not None and name in INTEGER else found


def current(row: Row | None, fields: tuple[str, ...] = CURRENT_FIELDS) -> dict[str, Any] | None:
    """The fields of a statistics row that a panel shows (None without a row)."""
    if row is None:
        return None
    return {name: plain(row.get(name)) for name in fields}


def region_ref(region: Region | None) -> dict[str, Any] | None:
    if region is None:
        return None
    kind = "national" if region.kind == NATIONAL else region.kind
    return {"type": kind, "code": region.code, **region.names()}


def ranking_rows(
    index: RegionIndex, members: Region, period: str, sort: str, order: str
) -> list[dict[str, Any]]:
    """City rows of ``members`` in ``period``, sorted; ``rank`` counts rows with a value of
    the sorted field (1 = first in this order), rows without one come last, unranked."""
    key = SORT_FIELDS[sort]
    rows = []
    for code in members.cities:
        city = index.cities.get(code)
        row = index.row(city, period) if city is not None else None
        if city is None or row is None:
            continue
        province = index.provinces.get(city.province or "")
        rows.append({
            "rank": None, "code": code, **city.names(), "province": city.province,
            "province_name_zh": province.name_zh if province else None,
            "province_name_en": province.name_en if province else None,
            **{name: plain(_value(row, name)) for name in ROW_FIELDS},
        })  # fmt: skip
    sign = -1 if order == "desc" else 1
    with_value = sorted((r for r in rows if r[key] is not None),
                        key=lambda r: (sign * r[key], r["code"]))  # fmt: skip
    without = sorted((r for r in rows if r[key] is None), key=lambda r: r["code"])
    for i, row in enumerate(with_value, start=1):
        row["rank"] = i
    return with_value + without


def csv_cell(name: str, value: Any) -> Any:
    """A CSV value: ``not available`` for a missing number, numbers rounded for reading."""
    if value is None:
        return NOT_AVAILABLE if name in NUMERIC else ""
    if name in ROUNDED and isinstance(value, float):
        return round(value, ROUNDED[name])
    return value


def rankings_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte order mark (spreadsheets then read the Chinese names right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RANKING_FIELDS)
    for row in rows:
        writer.writerow([csv_cell(name, row[name]) for name in RANKING_FIELDS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _pin(request: Request) -> dict[str, str]:
    release = request.query_params.get("release")
    return {"release": release} if release else {}


def links(request: Request, settings: Settings, path: str, **params: str | None) -> str:
    """An absolute URL on this server carrying ``params`` and the request's release pin."""
    query = {k: v for k, v in params.items() if v is not None} | _pin(request)
    return f"{base_url(request, settings)}{path}" + (f"?{urlencode(query)}" if query else "")


def feed_link(request: Request, settings: Settings, path: str) -> str:
    """A feed to subscribe to: unpinned, so that it follows new releases."""
    return f"{base_url(request, settings)}{path}"


def permalink(request: Request, kind: str, code: str, period: str | None) -> str:
    """The map page opened on a city or province (``/?city=<adcode>&period=<label>``)."""
    query = {kind: code} | ({"period": period} if period else {}) | _pin(request)
    return f"/?{urlencode(query)}"


def city_stations(index: RegionIndex, city: Region, period: str | None) -> list[dict[str, Any]]:
    out = []
    for station in index.stations.get(city.code, ()):
        values = index.station_values.get(station.code, {}).get(period or "", {})
        out.append(dict(station.fields) | {
            "pm25": values.get("pm25"), "n_days": values.get("n_days"),
            "valid": values.get("valid"),
        })  # fmt: skip
    return out


def city_plants(release: Release, index: RegionIndex, city: Region) -> list[dict[str, Any]]:
    records = release.records
    plants = []
    for i in index.plants.get(city.code, ()):
        feature = release.enterprises.features[i]
        props = feature["properties"]
        pid = str(feature["id"])
        lon, lat = feature["geometry"]["coordinates"]
        approximate = (props.get("geocode_precision") != "point"
                       or props.get("coordinate_accuracy") == "approximate")  # fmt: skip
        plants.append({
            "id": pid, "name": props.get("name"), "name_zh": props.get("name_zh"),
            "name_en": props.get("name_en"), "industry": props.get("industry"),
            "capacity": props.get("capacity"), "capacity_unit": props.get("capacity_unit"),
            "lon": lon, "lat": lat, "approximate": approximate,
            "violations": len(records.violations.get(pid, ())),
            "output_records": len(records.output.get(pid, ())),
            "permalink": f"/#plant={quote(pid, safe=':')}",
        })  # fmt: skip
    plants.sort(key=lambda p: (-(p["violations"] + p["output_records"]), str(p["name"] or "")))
    return plants


def pm25_sources(release: Release) -> list[dict[str, Any]]:
    return [
        {"id": s.get("id"), "attribution": s.get("attribution"),
         "attribution_zh": s.get("attribution_zh") or None, "url": s.get("url")}
        for s in release.sources if s.get("id") == PM25_SOURCE
    ]  # fmt: skip


def city_answer(
    release: Release, request: Request, settings: Settings, adcode: str, period: str | None
) -> dict[str, Any]:
    """The city panel of ``GET /api/cities/{adcode}``."""
    index = region_index(release)
    city = index.city(adcode)
    label = choose_period(index, period)
    row = index.row(city, label) if label else None
    reference = index.reference(city)
    reference_rows = index.series(reference) if reference is not None else {}
    months = index.periods.get("month", ())
    series = []
    for month in months:
        point = index.row(city, month)
        series.append({
            "period": month, "pm25": _value(point, "pm25"), "valid": _value(point, "valid"),
            "n_days": _value(point, "n_days"), "days_over_75": _value(point, "days_over_75"),
            "region_pm25": _value(reference_rows.get(month), "pm25"),
        })  # fmt: skip
    province = index.provinces.get(city.province or "")
    group = next((index.groups[g] for g in city.groups if g in index.groups), None)
    group_rank = rank_entry(row, "group")
    plants = city_plants(release, index, city)
    bbox = index.bboxes.get(city.code)
    return {
        "release": release.id,
        "adcode": city.code,
        **city.names(),
        "province": {"adcode": province.code, **province.names()} if province else None,
        "groups": [{"id": g.code, **g.names()} for g in (index.groups.get(x) for x in city.groups)
                   if g is not None],
        "bbox": list(bbox) if bbox else None,
        "period": label,
        "period_type": period_type(label) if label else None,
        "current": current(row),
        "series_region": region_ref(reference),
        "series": series,
        "limits": {"annual": ANNUAL_LIMIT, "daily": DAILY_LIMIT, "units": "µg/m³",
                   "standard": "GB 3095-2012 grade II"},
        "rank": {
            "national": rank_entry(row, "national"),
            "group": group_rank | {"id": group.code, **group.names()}
            if group_rank and group else None,
            "province": rank_entry(row, "province"),
        },
        "stations": city_stations(index, city, label),
        "plants": plants[:MAX_PLANTS],
        "plants_total": len(plants),
        "links": {
            "permalink": permalink(request, "city", city.code, label),
            "chart_svg": links(request, settings, f"/api/cities/{city.code}/chart.svg",
                               period=label),
            "chart_png": links(request, settings, f"/api/cities/{city.code}/chart.png",
                               period=label),
            "feed": feed_link(request, settings, f"/feeds/cities/{city.code}.atom"),
            "province_feed": feed_link(request, settings, f"/feeds/provinces/{province.code}.atom")
            if province else None,
            "rankings_csv": links(request, settings, "/api/rankings", period=label,
                                  group=group.code if group else NATIONAL, format="csv")
            if label else None,
        },
        "sources": pm25_sources(release),
    }


def province_answer(
    release: Release, request: Request, settings: Settings, adcode: str, period: str | None
) -> dict[str, Any]:
    index = region_index(release)
    province = index.province(adcode)
    label = choose_period(index, period)
    rows = index.series(province)
    series = [
        {"period": p, "pm25": _value(rows.get(p), "pm25"), "valid": _value(rows.get(p), "valid"),
         "n_cities": _value(rows.get(p), "n_cities")}
        for p in index.periods.get("month", ())
    ]  # fmt: skip
    return {
        "release": release.id,
        "adcode": province.code,
        **province.names(),
        "period": label,
        "period_type": period_type(label) if label else None,
        "current": current(rows.get(label or ""), REGION_FIELDS),
        "series": series,
        "cities": ranking_rows(index, province, label, "pm25", "desc") if label else [],
        "limits": {"annual": ANNUAL_LIMIT, "daily": DAILY_LIMIT, "units": "µg/m³"},
        "links": {
            "permalink": permalink(request, "province", province.code, label),
            "feed": feed_link(request, settings, f"/feeds/provinces/{province.code}.atom"),
            "rankings_csv": links(request, settings, "/api/rankings", period=label,
                                  group=province.code, format="csv") if label else None,
        },
        "sources": pm25_sources(release),
    }


def stats_router(settings: Settings) -> APIRouter:
    """Routes ``/api/stats``, ``/api/rankings``, ``/api/cities…`` and ``/api/provinces/…``."""
    router = APIRouter(tags=["stats"], responses=ERROR_RESPONSES)

    @router.get("/api/stats", response_class=JSONResponse, responses=JSON_OBJECT)
    def stats(
        release: ReleaseDep, request: Request, query: Annotated[StatsQuery, Depends()]
    ) -> Response:
        """Regional PM2.5 statistics rows matching every given filter (``{total, rows}``).

        Each filter must name something the release has: an unknown ``period``,
        ``period_type`` or ``region_type`` is a 422 naming the parameter."""
        index = region_index(release)
        validate_stats_query(index, query)
        wanted = {k: v for k, v in vars(query).items() if v is not None}

        def build() -> Response:
            rows = [plain(r) for r in release.stats if all(
                r.get(k) is not None and str(r.get(k)) == v for k, v in wanted.items())]
            return JSONResponse({"total": len(rows), "rows": rows})

        return cached(request, release, build)

    @router.get("/api/rankings", response_class=JSONResponse, responses=CSV_OR_JSON)
    def rankings(
        release: ReleaseDep, request: Request, query: Annotated[RankingQuery, Depends()]
    ) -> Response:
        """Cities of a region set ranked for a period, by level or by change (JSON or CSV).

        ``rank`` is the place in this order among the cities with a value of the sorted field;
        the others come last without one. CSV: UTF-8, ``not available`` for a missing number."""
        index = region_index(release)
        label = choose_period(index, query.period)
        members = index.group_members(query.group)

        def build() -> Response:
            rows = ranking_rows(index, members, label, query.sort, query.order) if label else []
            if query.format == "csv":
                name = f"rankings_{label}_{query.group}_{query.sort}_{query.order}.csv"
                name = name.replace("+", "plus")
                return Response(rankings_csv(rows), media_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="{name}"'})
            return JSONResponse({
                "release": release.id, "period": label,
                "period_type": period_type(label) if label else None,
                "group": region_ref(members),
                "sort": query.sort, "order": query.order, "total": len(rows), "rows": rows,
                "csv": links(request, settings, "/api/rankings", period=label, group=query.group,
                             sort=query.sort, order=query.order, format="csv"),
            })  # fmt: skip

        return cached(request, release, build)

    @router.get("/api/cities", response_class=JSONResponse, responses=JSON_OBJECT)
    def cities(release: ReleaseDep, request: Request) -> Response:
        """Every city of the statistics: adcode, names, province, groups and bounds."""
        index = region_index(release)

        def build() -> Response:
            rows = []
            for code in sorted(index.cities):
                city = index.cities[code]
                province = index.provinces.get(city.province or "")
                bbox = index.bboxes.get(code)
                rows.append({
                    "adcode": code, **city.names(),
                    "province": {"adcode": province.code, **province.names()} if province
                    else None,
                    "groups": list(city.groups), "bbox": list(bbox) if bbox else None,
                })  # fmt: skip
            return JSONResponse({"release": release.id, "total": len(rows), "cities": rows})

        return cached(request, release, build)

    @router.get("/api/cities/{adcode}", response_class=JSONResponse, responses=JSON_OBJECT)
    def city(
        release: ReleaseDep, request: Request, adcode: AdcodePath, period: PeriodQuery = None
    ) -> Response:
        """A city's panel: names, province and groups, its monthly series beside its group's
        (else province's) mean, the limits, its ranks, stations and plants for ``period``,
        and links (permalink, chart SVG/PNG, feed)."""
        index = region_index(release)
        index.city(adcode)  # 404 and 422 before the ETag
        choose_period(index, period)
        return cached(request, release, lambda: JSONResponse(
            city_answer(release, request, settings, adcode, period)))

    @router.get("/api/provinces/{adcode}", response_class=JSONResponse, responses=JSON_OBJECT)
    def province(
        release: ReleaseDep, request: Request, adcode: AdcodePath, period: PeriodQuery = None
    ) -> Response:
        """A province: its monthly series, its figures for ``period`` and its cities ranked."""
        index = region_index(release)
        index.province(adcode)
        choose_period(index, period)
        return cached(request, release, lambda: JSONResponse(
            province_answer(release, request, settings, adcode, period)))

    return router
