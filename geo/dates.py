"""Dates as the plant trackers write them, normalised to ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

GEM spreadsheets mix years (``2006``, or ``2006.0`` after a float column), timestamps
(``2022-06-29 00:00:00``) and ``unknown``; the text keeps the precision the source gave, so a
year stays a year and is not read as 1 January.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from ..errors import InputError

_UNKNOWN = {"", "unknown"}
_DATE = re.compile(
    r"(?P<year>\d{4})(?:\.0+|-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)?)?")
FIRST_YEAR, LAST_YEAR = 1800, 2100


def normal_date(text: str) -> str:
    """``2022-06-29 00:00:00`` → ``2022-06-29``, ``2006.0`` → ``2006``, ``2021-3`` →
    ``2021-03``, ``unknown`` or blank → ``""``. Raises ``ValueError`` on anything else,
    including impossible days and years outside 1800–2100."""
    value = text.strip()
    if value.lower() in _UNKNOWN:
        return ""
    found = _DATE.fullmatch(value)
    if found is None:
        raise ValueError(f"not a date: {text!r} (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = found.group("year", "month", "day")
    if not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise ValueError(f"year {year} of {text!r} is outside {FIRST_YEAR}–{LAST_YEAR}")
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError as e:
        raise ValueError(f"not a date: {text!r} ({e})") from e
    return "-".join([year, *(f"{int(part):02d}" for part in (month, day) if part)])


def normal_dates(path: Path, values: pd.Series, field: str) -> pd.Series:
    """``normal_date`` of every value; a bad one is an ``InputError`` naming ``path``, the
    1-based data row (``values``' index + 1) and ``field``."""
    out = []
    for index, text in zip(values.index, values, strict=True):
        try:
            out.append(normal_date(str(text)))
        except ValueError as e:
            raise InputError(path, str(e), row=int(index) + 1, field=field) from e
    return pd.Series(out, index=values.index, dtype=str)
