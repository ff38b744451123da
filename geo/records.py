"""Violation and output records: validated, normalised tables (see docs/architecture.md).

Both loaders read CSV as text (``dtype=str``, no NA guessing, ``utf-8-sig``), strip every cell
and raise ``InputError`` naming file, 1-based data row and field for the first bad value.
Partial real-world rows load: a violation dated only to the month, an output record with a
change % but no absolute values, or with a qualitative note only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import pandas as pd

from ..errors import InputError
from ..layers.periods import format_quarter, parse_quarter, quarter_of
from .gazetteer import PROVINCES_EN, short_name

VIOLATION_COLUMNS = [
    "record_id", "kind", "enterprise_name", "enterprise_id", "province", "city", "industry",
    "date", "date_precision", "quarter", "authority", "finding", "category", "penalty",
    "source_url", "source",
]
OUTPUT_COLUMNS = [
    "record_id", "subject", "level", "enterprise_id", "province", "city", "product", "period",
    "period_type", "period_start", "period_end", "compared_with", "change_pct", "value", "unit",
    "direction", "direction_basis", "note", "source",
]
LEVELS = ("enterprise", "province", "city", "region")
DIRECTIONS = ("up", "down", "flat")

DATE_FORMS = ("a day (2018-10-16, 2018/10/16, 20181016, 2018年10月16日) "
              "or a month (2018-12, 2018年12月)")
PERIOD_FORMS = "2018, 2018-Q4 or 2018Q4, 2018-10, or a month range 2019-01/2019-02"

_DATES = [(re.compile(p), precision) for p, precision in (
    (r"(\d{4})-(\d{1,2})-(\d{1,2})", "day"), (r"(\d{4})/(\d{1,2})/(\d{1,2})", "day"),
    (r"(\d{4})(\d{2})(\d{2})", "day"), (r"(\d{4})年(\d{1,2})月(\d{1,2})日", "day"),
    (r"(\d{4})-(\d{1,2})", "month"), (r"(\d{4})/(\d{1,2})", "month"),
    (r"(\d{4})年(\d{1,2})月", "month"),
)]
_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

# Words in a free-text note that state the direction of a change.
_NOTE_UP = re.compile(
    r"\b(increas(e|ed|es|ing)|up|rose|risen|doubled|higher|more than)\b|增|上升|提高",
    re.IGNORECASE)
_NOTE_DOWN = re.compile(r"\b(decreas(e|ed|es|ing)|down|fell|fallen|lower)\b|下降|减少",
                        re.IGNORECASE)
_PROVINCE_NAMES = {*PROVINCES_EN, *PROVINCES_EN.values(), *map(short_name, PROVINCES_EN.values())}

T = TypeVar("T")


@dataclass(frozen=True)
class Period:
    """A calendar period as written in an output record, with inclusive ISO bounds."""

    text: str  # normalised: 2018, 2018Q4, 2018-10, 2019-01/2019-02
    type: str  # year | quarter | month | months
    start: date
    end: date


def load_violations(path: Path | str, source: str | None = None) -> pd.DataFrame:
    """Violation records (columns ``VIOLATION_COLUMNS``), all of kind ``inspection``.

    ``source`` is the citation used where the table has no ``source`` value; it defaults to
    the file name."""
    path = Path(path)
    raw = _read(path, ["enterprise_name", "date", "finding"], [
        "record_id", "enterprise_id", "province", "city", "industry", "authority", "category",
        "penalty", "source_url", "source"])
    rows = []
    for row, rec in enumerate(raw.to_dict("records"), start=1):
        for field in ("enterprise_name", "finding"):
            _required(path, row, field, rec[field])
        day, precision = _cell(path, row, "date", rec["date"], parse_date)
        rows.append({
            **rec,
            "record_id": rec["record_id"] or f"{path.stem}:{row}",
            "kind": "inspection",
            "date": day.isoformat() if precision == "day" else day.isoformat()[:7],
            "date_precision": precision,
            "quarter": quarter_of(day),
            "source_url": _cell(path, row, "source_url", rec["source_url"], _url),
            "source": rec["source"] or source or path.name,
        })
    return _unique_ids(path, pd.DataFrame(rows, columns=VIOLATION_COLUMNS))


def load_output(path: Path | str) -> pd.DataFrame:
    """Output records (columns ``OUTPUT_COLUMNS``).

    ``level`` defaults to ``province`` when the subject is a province name, else
    ``enterprise``; a province- or city-level record's empty ``province``/``city`` is its
    subject. The direction comes from the sign of ``change_pct`` (basis ``change_pct``), else
    from a stated ``direction`` (``stated``), else from keywords in the note (``note``); a
    stated direction that contradicts ``change_pct`` is an error."""
    path = Path(path)
    raw = _read(path, ["subject", "product", "period", "source"], [
        "record_id", "level", "enterprise_id", "province", "city", "compared_with",
        "change_pct", "value", "unit", "direction", "note"])
    rows = [_output_row(path, row, rec)
            for row, rec in enumerate(raw.to_dict("records"), start=1)]
    return _unique_ids(path, pd.DataFrame(rows, columns=OUTPUT_COLUMNS))


def parse_date(text: str) -> tuple[date, str]:
    """A day or a month as records write it → (first day, ``day`` | ``month``)."""
    for pattern, precision in _DATES:
        if match := pattern.fullmatch(text):
            year, month, day = [*map(int, match.groups()), 1][:3]
            try:
                return date(year, month, day), precision
            except ValueError:
                break
    raise ValueError(f"unparseable date {text!r}; expected {DATE_FORMS}")


def parse_period(text: str) -> Period:
    """``2018``, ``2018-Q4``/``2018Q4``, ``2018-10`` or ``2019-01/2019-02`` → ``Period``."""
    if match := _YEAR.fullmatch(text):
        year = int(match.group(1))
        return Period(text, "year", date(year, 1, 1), date(year, 12, 31))
    if match := _QUARTER.fullmatch(text):
        quarter = format_quarter(int(match.group(1)), int(match.group(2)))
        year, q = parse_quarter(quarter)
        return Period(quarter, "quarter", date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
    if _ISO_MONTH.fullmatch(text):
        start, end = _month(text)
        return Period(text, "month", start, end)
    first, sep, last = text.partition("/")
    if sep and _ISO_MONTH.fullmatch(first) and _ISO_MONTH.fullmatch(last):
        start, end = _month(first)[0], _month(last)[1]
        if end < start:
            raise ValueError(f"month range {text!r} ends before it starts")
        return Period(text, "months", start, end)
    raise ValueError(f"unparseable period {text!r}; expected {PERIOD_FORMS}")


def quarters_between(start: str, end: str) -> list[str]:
    """The quarters (``2018Q4``) covering the ISO dates ``start`` to ``end`` inclusive."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise ValueError(f"{end} is before {start}")
    begin, stop = (_quarter_index(quarter_of(d)) for d in (first, last))
    return [format_quarter(i // 4, i % 4 + 1) for i in range(begin, stop + 1)]


def direction_from_note(note: str) -> str:
    """``up`` or ``down`` when the note's keywords say so unambiguously, else ``""``."""
    up, down = bool(_NOTE_UP.search(note)), bool(_NOTE_DOWN.search(note))
    return "up" if up and not down else "down" if down and not up else ""


def _output_row(path: Path, row: int, rec: dict[str, str]) -> dict[str, object]:
    for field in ("subject", "product", "source"):
        _required(path, row, field, rec[field])
    level = rec["level"].lower() or (
        "province" if rec["subject"].lower() in _PROVINCE_NAMES else "enterprise")
    if level not in LEVELS:
        _fail(path, row, "level", f"unknown level {rec['level']!r}; expected {', '.join(LEVELS)}")
    period = _cell(path, row, "period", rec["period"], parse_period)
    compared = _cell(path, row, "compared_with", rec["compared_with"], parse_period) \
        if rec["compared_with"] else None
    if compared is not None and compared.end >= period.start:
        _fail(path, row, "compared_with",
              f"{compared.text} is not earlier than the period {period.text}")
    change = _cell(path, row, "change_pct", rec["change_pct"].removesuffix("%"), _number)
    value = _cell(path, row, "value", rec["value"], _number)
    if value is not None and not rec["unit"]:
        _fail(path, row, "unit", f"value {rec['value']} has no unit")
    if change is None and value is None and not rec["note"]:
        _fail(path, row, "change_pct", "a record needs a change_pct, a value or a note")
    direction, basis = _direction(path, row, rec["direction"].lower(), change, rec["note"])
    return {
        **rec,
        "level": level,
        "record_id": rec["record_id"] or f"{path.stem}:{row}",
        "province": rec["province"] or (rec["subject"] if level == "province" else ""),
        "city": rec["city"] or (rec["subject"] if level == "city" else ""),
        "period": period.text,
        "period_type": period.type,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "compared_with": compared.text if compared else "",
        "change_pct": math.nan if change is None else change,
        "value": math.nan if value is None else value,
        "direction": direction,
        "direction_basis": basis,
    }


def _direction(
    path: Path, row: int, stated: str, change: float | None, note: str
) -> tuple[str, str]:
    if stated and stated not in DIRECTIONS:
        _fail(path, row, "direction",
              f"unknown direction {stated!r}; expected {', '.join(DIRECTIONS)} or empty")
    if change is not None:
        sign = "up" if change > 0 else "down" if change < 0 else "flat"
        if stated and stated != sign:
            _fail(path, row, "direction", f"{stated!r} contradicts change_pct {change:g}")
        return sign, "change_pct"
    if stated:
        return stated, "stated"
    from_note = direction_from_note(note)
    return from_note, "note" if from_note else ""


def _read(path: Path, required: list[str], optional: list[str]) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputError(path, f"cannot read table: {e}") from e
    raw.columns = raw.columns.str.strip()
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise InputError(path, f"missing required column(s): {', '.join(missing)}",
                         field=missing[0])
    for column in raw.columns:
        raw[column] = raw[column].str.strip()
    for column in optional:
        if column not in raw:
            raw[column] = ""
    return raw


def _cell(path: Path, row: int, field: str, text: str, parse: Callable[[str], T]) -> T:
    """``parse(text)``, with a ValueError reported as an InputError at row and field."""
    try:
        return parse(text)
    except ValueError as e:
        raise InputError(path, str(e), row=row, field=field) from e


def _required(path: Path, row: int, field: str, text: str) -> None:
    if not text:
        _fail(path, row, field, f"empty {field}")


def _fail(path: Path, row: int, field: str, message: str) -> NoReturn:
    raise InputError(path, message, row=row, field=field)


def _unique_ids(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    repeated = table["record_id"].duplicated()
    if repeated.any():
        row = int(repeated.to_numpy().argmax()) + 1
        _fail(path, row, "record_id", f"record_id {table['record_id'][row - 1]!r} is repeated")
    return table


def _number(text: str) -> float | None:
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def _url(text: str) -> str:
    parts = urlsplit(text)
    if text and (parts.scheme not in ("http", "https") or not parts.netloc or " " in text):
        raise ValueError(f"not an http(s) URL: {text!r}")
    return text


def _month(text: str) -> tuple[date, date]:
    year, month = map(int, text.split("-"))
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range in {text!r}; expected {PERIOD_FORMS}")
    return date(year, month, 1), _month_end(year, month)


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _quarter_index(quarter: str) -> int:
    year, q = parse_quarter(quarter)
    return year * 4 + q - 1
