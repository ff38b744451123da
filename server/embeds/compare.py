"""Embeds of two periods: ``compare=A,B`` and ``diff=A,B`` (``/embed``, ``lantian.embed``).

- ``compare``: a swipe between the PM2.5 of period A (left) and period B (right) with
  leaflet-side-by-side (vendored; the plugin folium's ``SideBySideLayers`` loads from a CDN).
  The plugin clips a layer's container in Leaflet's layer coordinates, so each side is a pane
  of its own, handed to it as a layer (``Side`` in the embed's script): in a linked embed the
  pane holds a MapLibre layer drawing the basemap with that period's PM2.5 tiles, in a
  standalone file an inline PNG overlay of that period.
- ``diff``: the change B − A, from the server's difference tiles (linked) or computed from the
  two COGs over the region (standalone), with the diverging legend of ``pm25-diff``. A and B
  must be of one type, as for the tiles (``server/tiles/diff.py``).

Either period may be a month, quarter or year of the release (``Release.all_periods``); a
period the release lacks is a 404 naming the parameter. Plants show the facts of the quarter
asked for (``quarter=``), else of B's quarter (a month's quarter, a year's last quarter).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ...i18n import Lang, format_number, format_period
from ...i18n import translate as _
from ...layers.periods import bounds, period_type, quarter_of
from ..deps import PERIOD_PATTERN
from ..errors import InvalidParameterError, NotFoundError
from ..releases.release import Release

Mode = Literal["compare", "diff"]
_PERIOD = PERIOD_PATTERN[1:-1]
PAIR_PATTERN = rf"^{_PERIOD},{_PERIOD}$"
PAIR = re.compile(PAIR_PATTERN)
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class PeriodPair:
    """Two periods of an embed and how they are shown."""

    mode: Mode
    a: str
    b: str


def parse_pair(name: str, text: str | None) -> tuple[str, str] | None:
    """``"2019Q1,2019Q3"`` → ``("2019Q1", "2019Q3")``; 422 naming ``name`` otherwise."""
    if text is None:
        return None
    if not PAIR.match(text):
        raise InvalidParameterError(f"{name}: two periods A,B expected, e.g. 2019Q1,2019Q3")
    a, b = text.split(",")
    return a, b


def view_pair(compare: tuple[str, str] | None, diff: tuple[str, str] | None) -> PeriodPair | None:
    """The pair of an embed's view; 422 naming ``diff`` when both are given."""
    if compare is not None and diff is not None:
        raise InvalidParameterError("diff: give compare=A,B or diff=A,B, not both")
    if compare is not None:
        return PeriodPair("compare", *compare)
    if diff is not None:
        return PeriodPair("diff", *diff)
    return None


def check_pair(release: Release, pair: PeriodPair) -> None:
    """Both periods in the release (404 naming the parameter); one type for a difference."""
    for label in (pair.a, pair.b):
        if label not in release.all_periods:
            raise NotFoundError(f"{pair.mode}: no PM2.5 grid for period {label!r}")
    if pair.mode == "diff" and period_type(pair.a) != period_type(pair.b):
        raise InvalidParameterError(f"diff: {pair.a} and {pair.b} are periods of two types; "
                                    "compare two months, two quarters or two years")  # fmt: skip


def plant_quarter(release: Release, label: str) -> str | None:
    """The timeline quarter whose plant facts go with period ``label``: the quarter itself, a
    month's quarter, a year's last quarter (else the year's latest in the timeline: a year
    the facts cover in part); None when the timeline lacks it."""
    last_day = bounds(label)[1] - pd.Timedelta(days=1)
    quarter = quarter_of(last_day)
    if quarter in release.timeline:
        return quarter
    if period_type(label) == "year":
        known = sorted(q for q in release.timeline if q.startswith(f"{label}Q"))
        return known[-1] if known else None
    return None


def has_grid(release: Release, raster: Any, label: str) -> bool:
    return raster is not None and label in raster.files


@dataclass(frozen=True)
class PairTexts:
    """What an embed of two periods says about them, in its language."""

    title: str
    sides: str | None  # which period is on which side of the swipe
    alt: str


def pair_texts(lang: Lang, pair: PeriodPair) -> PairTexts:
    a, b = format_period(lang, pair.a), format_period(lang, pair.b)
    if pair.mode == "compare":
        return PairTexts(_(lang, "compare.embed_title", a=a, b=b),
                         _(lang, "compare.embed_sides", a=a, b=b),
                         _(lang, "compare.embed_alt_compare", a=a, b=b))  # fmt: skip
    return PairTexts(_(lang, "compare.embed_diff_title", a=a, b=b), None,
                     _(lang, "compare.embed_alt_diff", a=a, b=b))  # fmt: skip


def diff_overlay(release: Release, pair: PeriodPair, bbox: tuple[float, float, float, float],
                 classes: Any, max_side: int) -> tuple[str, Any] | None:  # fmt: skip
    """B − A over ``bbox`` as a PNG ``data:`` URI classed by ``classes`` (the two COGs read on
    one frame), with its WGS-84 bounds; None where they have no data in common."""
    from .content import encode_overlay, overlay_frame, read_overlay  # content imports view

    path_a, path_b = release.pm25_cog(pair.a), release.pm25_cog(pair.b)
    frame = overlay_frame(path_a, bbox, max_side)
    frame = overlay_frame(path_b, frame.bounds, max_side) if frame is not None else None
    if frame is None:
        return None
    values = read_overlay(path_b, frame) - read_overlay(path_a, frame)
    uri = encode_overlay(values, classes)
    return None if uri is None else (uri, frame.bounds)


def period_overlay(path: Path, bbox: tuple[float, float, float, float], classes: Any,
                   max_side: int) -> list[Any] | None:  # fmt: skip
    """One period's PM2.5 overlay as ``[uri, [west, south, east, north]]`` for the script."""
    from .content import encode_overlay, overlay_frame, read_overlay

    frame = overlay_frame(path, bbox, max_side)
    uri = encode_overlay(read_overlay(path, frame), classes) if frame is not None else None
    return None if uri is None or frame is None else [uri, list(frame.bounds)]


def _signed(lang: Lang, value: float) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return sign + format_number(lang, abs(value))


def diff_scale_html(doc: Any, pair: PeriodPair, lang: Lang) -> str:
    """The diverging legend: one horizontal scale marked by each class's lower bound, what
    blue and red mean, and what grey and no colour mean."""
    e = html.escape
    a, b = format_period(lang, pair.a), format_period(lang, pair.b)
    heading = _(lang, "compare.legend_title", a=a, b=b, units=str(doc.get("units") or ""))
    out = [f"<h2>{e(heading)}</h2>", '<div class="lt-scale">']
    for cls in doc.get("classes", ()):
        colour = str(cls.get("color", ""))
        colour = colour if COLOUR.match(colour) else "#999999"
        lower, upper = cls.get("lower"), cls.get("upper")
        if lower is None:  # open below: the next class's bound says where it ends
            tick = ""
            label = _(lang, "compare.below", upper=_signed(lang, float(upper)))
        elif upper is None:
            tick = _signed(lang, float(lower))
            label = _(lang, "compare.above", lower=tick)
        else:
            tick = _signed(lang, float(lower))
            label = _(lang, "compare.range", lower=tick, upper=_signed(lang, float(upper)))
        out.append(
            f'<div class="lt-class" data-class="{int(cls.get("index", 0))}" title="{e(label)}">'
            f'<span class="lt-sw" style="background:{colour}"></span><span>{e(tick)}</span></div>'
        )
    out.append("</div>")
    cleaner, dirtier = (_(lang, "compare.legend_cleaner", b=b),
                        _(lang, "compare.legend_dirtier", b=b))  # fmt: skip
    out.append(f'<p class="lt-ends"><span class="lt-cleaner">{e(cleaner)}</span>'
               f'<span class="lt-dirtier">{e(dirtier)}</span></p>')  # fmt: skip
    out.append(f'<p class="lt-note">{e(_(lang, "compare.legend_nodata"))}</p>')
    return "".join(out)
