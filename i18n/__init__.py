"""Every text a reader sees, in Chinese and English: one message catalogue per language
(``zh.json``, ``en.json``, flat dotted keys, ``{name}`` placeholders) and formatters for the
numbers, dates and periods inside sentences. API field names and JSON stay English."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
FALLBACK: Lang = "en"  # for readers whose browser asks for neither language
CATALOGUE_DIR = Path(__file__).resolve().parent
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
_ZH_QUARTERS = ("一", "二", "三", "四")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


class MissingMessageError(KeyError):
    """A key that a catalogue lacks (a test keeps both catalogues complete)."""


@cache
def catalogue(lang: Lang) -> dict[str, Any]:
    """The messages of ``lang``: key → text, or key → ``{"one": …, "other": …}`` plurals."""
    data: dict[str, Any] = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text("utf-8"))
    return data


def parse_lang(text: str | None) -> Lang | None:
    """``zh``, ``zh-CN``, ``zh-Hant``, ``en-GB`` → the catalogue's language; others → None."""
    primary = (text or "").strip().lower().replace("_", "-").split("-")[0]
    return cast(Lang, primary) if primary in LANGS else None


def negotiate(accept_language: str | None) -> Lang:
    """The first language of an ``Accept-Language`` header (by q-value) that has a catalogue."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag))
    for _, _, tag in sorted(ranked):
        lang = parse_lang(tag)
        if lang is not None:
            return lang
    return FALLBACK


def translate(lang: Lang, key: str, **params: Any) -> str:
    """The message ``key`` in ``lang`` with its ``{placeholders}`` filled in."""
    try:
        text = catalogue(lang)[key]
    except KeyError as e:
        raise MissingMessageError(f"{lang}.json has no message {key!r}") from e
    if isinstance(text, dict):
        raise MissingMessageError(f"{key!r} is a plural message: use plural()")
    return str(text).format(**params)


def plural(lang: Lang, key: str, n: int, **params: Any) -> str:
    """The plural message ``key`` for count ``n`` (``one`` in English for 1, else ``other``)."""
    forms = catalogue(lang).get(key)
    if not isinstance(forms, dict):
        raise MissingMessageError(f"{lang}.json has no plural message {key!r}")
    form = "one" if n == 1 and "one" in forms else "other"
    return str(forms[form]).format(n=format_number(lang, n), **params)


def format_number(lang: Lang, value: float, digits: int = 0) -> str:
    """``1234.5`` → ``1,234.5`` (both languages group thousands with commas)."""
    return f"{value:,.{digits}f}"


def format_period(lang: Lang, period: str) -> str:
    """``2019Q1`` → ``2019 Q1`` / ``2019年第一季度``; ``2019-01`` → ``January 2019`` /
    ``2019年1月``; ``2019`` → ``2019`` / ``2019年`` (as web/static/i18n.js formatPeriod);
    anything else unchanged."""
    if quarter := _QUARTER.match(period):
        year, q = quarter.group(1), int(quarter.group(2))
        return f"{year}年第{_ZH_QUARTERS[q - 1]}季度" if lang == "zh" else f"{year} Q{q}"
    if month := _MONTH.match(period):
        year, m = month.group(1), int(month.group(2))
        return f"{year}年{m}月" if lang == "zh" else f"{_EN_MONTHS[m - 1]} {year}"
    if _YEAR.match(period):
        return f"{period}年" if lang == "zh" else period
    return period


def format_date(lang: Lang, day: date) -> str:
    """``2026-12-03`` → ``3 December 2026`` / ``2026年12月3日``."""
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def place_name(lang: Lang, name_zh: str | None, name_en: str | None) -> str:
    """A place or plant name in ``lang``, falling back to the other language."""
    first, second = (name_zh, name_en) if lang == "zh" else (name_en, name_zh)
    return (first or second or "").strip()
