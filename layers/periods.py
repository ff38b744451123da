"""Calendar periods as strings: quarters ``2019Q1`` and months ``2019-01``."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2019Q1"`` → ``(2019, 1)``; ValueError on anything else."""
    match = _QUARTER.match(text)
    if match is None:
        raise ValueError(f"not a quarter (expected e.g. 2019Q1): {text!r}")
    return int(match.group(1)), int(match.group(2))


def parse_month(text: str) -> tuple[int, int]:
    """``"2019-01"`` → ``(2019, 1)``; ValueError on anything else."""
    match = _MONTH.match(text)
    if match is None:
        raise ValueError(f"not a month (expected e.g. 2019-01): {text!r}")
    return int(match.group(1)), int(match.group(2))


def format_quarter(year: int, q: int) -> str:
    """``(2019, 1)`` → ``"2019Q1"``."""
    if not 1 <= q <= 4:
        raise ValueError(f"quarter number out of range: {q}")
    return f"{year:04d}Q{q}"


def quarter_of(day: date | pd.Timestamp) -> str:
    """The quarter containing ``day``."""
    return format_quarter(day.year, (day.month - 1) // 3 + 1)


def month_of(day: date | pd.Timestamp) -> str:
    """The month containing ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


def previous_quarter(quarter: str) -> str:
    """The quarter before ``quarter`` (``2019Q1`` → ``2018Q4``)."""
    year, q = parse_quarter(quarter)
    return format_quarter(year - 1, 4) if q == 1 else format_quarter(year, q - 1)


def same_quarter_previous_year(quarter: str) -> str:
    """``2019Q1`` → ``2018Q1``."""
    year, q = parse_quarter(quarter)
    return format_quarter(year - 1, q)


def previous_month(month: str) -> str:
    """The month before ``month`` (``2019-01`` → ``2018-12``)."""
    year, m = parse_month(month)
    return f"{year - 1:04d}-12" if m == 1 else f"{year:04d}-{m - 1:02d}"


def same_month_previous_year(month: str) -> str:
    """``2019-03`` → ``2018-03``."""
    year, m = parse_month(month)
    return f"{year - 1:04d}-{m:02d}"


def quarter_bounds(quarter: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of ``quarter`` and first day of the next one (half-open interval)."""
    year, q = parse_quarter(quarter)
    start = pd.Timestamp(year=year, month=3 * q - 2, day=1)
    return start, start + pd.DateOffset(months=3)


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of ``month`` and first day of the next one (half-open interval)."""
    year, m = parse_month(month)
    start = pd.Timestamp(year=year, month=m, day=1)
    return start, start + pd.DateOffset(months=1)


def days_in_quarter(quarter: str) -> int:
    """Number of calendar days in ``quarter`` (2019Q1 → 90, 2020Q1 → 91)."""
    start, end = quarter_bounds(quarter)
    return (end - start).days


def days_in_month(month: str) -> int:
    """Number of calendar days in ``month``."""
    start, end = month_bounds(month)
    return (end - start).days


def quarter_months(quarter: str) -> list[str]:
    """The three months of ``quarter``."""
    year, q = parse_quarter(quarter)
    return [f"{year:04d}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


# Any period: a month ``2019-01``, a quarter ``2019Q1`` or a year ``2019``.
PERIOD_TYPES = ("month", "quarter", "year")
_YEAR = re.compile(r"^(\d{4})$")


def period_type(label: str) -> str:
    """``"2019-01"`` → ``"month"``, ``"2019Q1"`` → ``"quarter"``, ``"2019"`` → ``"year"``;
    ValueError on anything else."""
    for kind, pattern in (("month", _MONTH), ("quarter", _QUARTER), ("year", _YEAR)):
        if pattern.match(label):
            return kind
    raise ValueError(f"not a period (expected e.g. 2019-01, 2019Q1 or 2019): {label!r}")


def label_of(day: date | pd.Timestamp, kind: str) -> str:
    """The period of type ``kind`` containing ``day``."""
    if kind == "month":
        return month_of(day)
    if kind == "quarter":
        return quarter_of(day)
    if kind == "year":
        return f"{day.year:04d}"
    raise ValueError(f"not a period type (expected one of {', '.join(PERIOD_TYPES)}): {kind!r}")


def bounds(label: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the period and first day of the next one (half-open interval)."""
    kind = period_type(label)
    if kind == "month":
        return month_bounds(label)
    if kind == "quarter":
        return quarter_bounds(label)
    start = pd.Timestamp(year=int(label), month=1, day=1)
    return start, start + pd.DateOffset(years=1)


def days_in(label: str) -> int:
    """Calendar days in the period."""
    start, end = bounds(label)
    return (end - start).days


def previous(label: str) -> str:
    """The period just before, of the same type (``2019-01`` → ``2018-12``, ``2019`` → ``2018``)."""
    kind = period_type(label)
    if kind == "month":
        return previous_month(label)
    if kind == "quarter":
        return previous_quarter(label)
    return f"{int(label) - 1:04d}"


def year_before(label: str) -> str:
    """The same period a year before (``2019-03`` → ``2018-03``, ``2019Q1`` → ``2018Q1``)."""
    kind = period_type(label)
    if kind == "month":
        return same_month_previous_year(label)
    if kind == "quarter":
        return same_quarter_previous_year(label)
    return f"{int(label) - 1:04d}"


def sort_key(label: str) -> tuple[int, int, int]:
    """Chronological order by end: a quarter after its last month, a year after its last
    quarter."""
    _, end = bounds(label)
    return end.year, end.month, PERIOD_TYPES.index(period_type(label))
