"""Request dependencies: the loaded release and query parameters as validated dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from ..i18n import Lang, negotiate
from .errors import InvalidParameterError, RangeNotSatisfiableError
from .releases.registry import ReleaseRegistry
from .releases.release import Release

MAX_ZOOM = 22
QUARTER_PATTERN = r"^\d{4}Q[1-4]$"
PERIOD_PATTERN = r"^\d{4}(Q[1-4]|-(0[1-9]|1[0-2]))?$"  # 2019-01, 2019Q1 or 2019
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
STATUS_PATTERN = r"^[A-Za-z][A-Za-z _-]*(,[A-Za-z][A-Za-z _-]*)*$"


RELEASE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
MAX_RANGES = 8  # byte ranges per request: more would amplify a small file (multipart headers)
MAX_RANGE_HEADER = 512


def get_release(
    request: Request,
    release: Annotated[
        str | None,
        Query(
            pattern=RELEASE_PATTERN,
            description="Release id, for versioned links that outlive newer releases; "
            "default: the current release.",
        ),
    ] = None,
) -> Release:
    """The release pinned by ``?release=``, else the current one."""
    registry: ReleaseRegistry = request.app.state.releases
    return registry.release(release)


def pinned_query(request: Request) -> str:
    """``?release=<id>`` when the request pinned a release, to carry into the URLs it returns."""
    release = request.query_params.get("release")
    return f"?release={release}" if release else ""


def check_ranges(header: str | None, size: int) -> None:
    """RangeNotSatisfiableError (416) when a Range header asks for more than ``MAX_RANGES``
    ranges; single ranges (the pmtiles client, GDAL) and a few more pass to FileResponse."""
    if header is not None and header.count(",") >= MAX_RANGES:
        raise RangeNotSatisfiableError(f"at most {MAX_RANGES} byte ranges per request", size)


RangeHeader = Annotated[
    str | None,
    Header(
        alias="range",
        max_length=MAX_RANGE_HEADER,
        description=f"Byte ranges (RFC 9110), e.g. bytes=0-16383; at most {MAX_RANGES}.",
    ),
]
ReleaseDep = Annotated[Release, Depends(get_release)]


def get_lang(
    request: Request,
    lang: Annotated[
        Lang | None,
        Query(description="Language of the texts: zh or en; default: from Accept-Language."),
    ] = None,
) -> Lang:
    """``?lang=`` when given, else the best language of the request's ``Accept-Language``."""
    return lang or negotiate(request.headers.get("accept-language"))


def vary_language(request: Request) -> dict[str, str]:
    """``Vary: Accept-Language`` for an answer whose language the header chose."""
    return {} if "lang" in request.query_params else {"Vary": "Accept-Language"}


LangDep = Annotated[Lang, Depends(get_lang)]
LayerId = Annotated[str, Path(pattern=NAME_PATTERN, description="Layer id from the manifest.")]
Quarter = Annotated[str, Path(pattern=PERIOD_PATTERN,
                              description="A period: month 2019-01, quarter 2019Q1 or year 2019.")]
EnterpriseId = Annotated[
    str, Path(min_length=1, max_length=128, description="Enterprise id, e.g. gem:P100000120001.")
]


@dataclass
class TileParams:
    """Tile address; x and y must be below 2^z."""

    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level.")]
    x: Annotated[int, Path(ge=0, description="Column.")]
    y: Annotated[int, Path(ge=0, description="Row.")]

    def __post_init__(self) -> None:
        if self.x >= 1 << self.z or self.y >= 1 << self.z:
            raise InvalidParameterError(f"tile {self.z}/{self.x}/{self.y} does not exist")


@dataclass
class PageParams:
    """Paging; ``limit`` is further capped by ``settings.max_page_size``."""

    limit: Annotated[int, Query(ge=1, le=10_000, description="Page size.")] = 100
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0


def parse_bbox(text: str | None, max_area: float) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` → tuple, checked for range, order and area."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameterError("bbox must be four numbers") from None
    if len(values) != 4 or not all(v == v and abs(v) != float("inf") for v in values):
        raise InvalidParameterError("bbox must be four finite numbers")
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidParameterError("bbox must be minlon,minlat,maxlon,maxlat within WGS-84")
    if (east - west) * (north - south) > max_area:
        raise InvalidParameterError(f"bbox area must not exceed {max_area:g} square degrees")
    return west, south, east, north


@dataclass
class EnterpriseFilter:
    """Filters of the enterprise search."""

    bbox: Annotated[
        str | None,
        Query(max_length=100, description="minlon,minlat,maxlon,maxlat (WGS-84)."),
    ] = None
    industry: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None
    province: Annotated[str | None, Query(min_length=1, max_length=64)] = None
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Text in the Chinese or English name or toneless pinyin (rongxin); "
            "case, spaces, apostrophes and hyphens are ignored.",
        ),
    ] = None
    quarter: Annotated[
        str | None,
        Query(pattern=QUARTER_PATTERN, description="A timeline quarter: adds its facts; only "
              "plants operating in it, unless `period` is given."),
    ] = None
    has_violations: Annotated[
        bool | None,
        Query(description="violations_12m > 0 in the quarter, or any record without quarter."),
    ] = None
    output_up: Annotated[
        bool | None,
        Query(description="Output up in the quarter, or in any output record without quarter."),
    ] = None
    status: Annotated[
        str | None,
        Query(max_length=200, pattern=STATUS_PATTERN,
              description="Status as the source says (operating, retired, mothballed, "
              "construction, …); several comma-separated."),
    ] = None
    min_capacity: Annotated[
        float | None,
        Query(ge=0, le=1e9, description="Capacity at least this, in the unit of the plants of "
              "`industry` (required: units differ between industries)."),
    ] = None
    period: Annotated[
        str | None,
        # checked in __post_init__: the embeds declare ``period`` too, and one bad value
        # should be named once
        Query(max_length=16, description="Only plants operating in this month (its quarter), "
              "quarter or year (any of its quarters): 2019-01, 2019Q1 or 2019."),
    ] = None
    coking: Annotated[
        bool | None, Query(description="Plants with (true) or without (false) the coking marker.")
    ] = None

    def __post_init__(self) -> None:
        if self.period is not None and not re.match(PERIOD_PATTERN, self.period):
            raise InvalidParameterError(
                "period: not a period (expected e.g. 2019-01, 2019Q1 or 2019)")
        if self.min_capacity is not None and self.industry is None:
            raise InvalidParameterError(
                "min_capacity: needs industry (capacity units differ between industries)")

    @property
    def statuses(self) -> list[str]:
        """The ``status`` values asked for, lowercase."""
        return [s.strip().lower() for s in (self.status or "").split(",") if s.strip()]


@dataclass
class PointParams:
    """A WGS-84 point and a period (``period``, or ``quarter`` as before months and years)."""

    lon: Annotated[float, Query(ge=-180, le=180)]
    lat: Annotated[float, Query(ge=-90, le=90)]
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="2019-01, 2019Q1 or 2019.")
    ] = None
    quarter: Annotated[
        str | None, Query(pattern=QUARTER_PATTERN, description="Same as period (older links).")
    ] = None

    def __post_init__(self) -> None:
        if self.period is None and self.quarter is None:
            raise InvalidParameterError("period: a period is required (e.g. 2019-01, 2019Q1)")
        if self.period is not None and self.quarter not in (None, self.period):
            raise InvalidParameterError("quarter: give either period or quarter, not both")

    @property
    def label(self) -> str:
        return str(self.period or self.quarter)


@dataclass
class MatchReportFilter:
    """Filter of the record match report."""

    status: Annotated[
        str | None,
        Query(pattern=r"^[a-z_]{1,32}$", description="matched, ambiguous, unmatched, …"),
    ] = None
