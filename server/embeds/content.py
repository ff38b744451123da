"""What an embed shows: plant popups and marker rows, the PM2.5 overlay, legend, title,
data date and attributions, in the embed's language."""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ...i18n import Lang, catalogue, format_date, format_number, format_period, place_name, plural
from ...i18n import translate as _
from ...tiles.colormaps import class_rgba
from ...tiles.raster import quiet_affine
from ..api.regions import number
from ..api.routes import timeline_position
from ..exports import citation
from ..releases.release import Release
from .assets import symbol_svg
from .describe import INDUSTRY_COLOURS, OTHER_COLOUR, data_date, industry_name, province_name
from .view import MAX_LAT, BBox, ResolvedView

CITED, UP, APPROX, RECORDS = 1, 2, 4, 8  # marker flag bits
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
STATE_FILL, CLUSTER_FILL = "#999999", "#444444"  # the legend's symbols of a state, a cluster
MAX_FINDING = 300  # characters of a finding shown in a popup


# ---- markers ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return str(value)


def _day(lang: Lang, text: str) -> str:
    """``2019-02-01`` → ``1 February 2019`` / ``2019年2月1日``; other dates as written."""
    try:
        return format_date(lang, date.fromisoformat(text))
    except ValueError:
        return text


def popup_html(props: Mapping[str, Any], facts: Mapping[str, Any] | None, quarter: str,
               approx: bool, lang: Lang, province: str = "") -> str:  # fmt: skip
    """The popup of one plant in ``lang`` (``province``: the province's name in ``lang``);
    every text from the data goes through ``html.escape``."""
    e = html.escape
    zh = _text(props.get("name_zh") or props.get("name"))
    en = _text(props.get("name_en"))
    name = place_name(lang, zh, en) or _text(props["id"])
    out = [f'<div class="lt-popup"><h3>{e(name)}</h3>']
    other = place_name("en" if lang == "zh" else "zh", zh, en)
    if other and other != name:
        out.append(f'<p class="lt-muted">{e(other)}</p>')
    industry = _text(props.get("industry"))
    what = industry_name(lang, industry) if industry else _(lang, "embed.popup.plant")
    capacity = number(props.get("capacity"))
    if capacity is not None:
        what = _(lang, "embed.popup.capacity", industry=what,
                 capacity=format_number(lang, capacity),
                 unit=_text(props.get("capacity_unit"))).strip()  # fmt: skip
    city = place_name(lang, _text(props.get("city")), _text(props.get("city_en")))
    province = province or _text(props.get("province"))
    if city and province and city != province:
        where = _(lang, "embed.popup.where", city=city, province=province)
    else:
        where = city or province
    out.append(f"<p>{e(what)}{' · ' + e(where) if where else ''}</p>")
    if approx:
        level = catalogue(lang).get(f"embed.level.{_text(props.get('geocode_precision'))}")
        text = (_(lang, "embed.popup.approx", level=level) if isinstance(level, str)
                else _(lang, "embed.legend.approx"))  # fmt: skip
        out.append(f'<p class="lt-muted">{e(text)}</p>')
    period = format_period(lang, quarter)
    if facts is not None:
        v12 = int(facts.get("violations_12m") or 0)
        if v12:
            cited = plural(lang, "embed.popup.cited", v12, period=period)
            out.append(f"<p><b>{e(_(lang, 'embed.popup.cited_label'))}</b> {e(cited)}</p>")
        finding = _text(facts.get("latest_finding"))
        if finding:
            if len(finding) > MAX_FINDING:
                finding = finding[: MAX_FINDING - 1] + "…"
            day = _text(facts.get("latest_finding_date"))
            text = (_(lang, "embed.popup.finding_dated", date=_day(lang, day), finding=finding)
                    if day else _(lang, "embed.popup.finding", finding=finding))  # fmt: skip
            out.append(f"<p>{e(text)}</p>")
        pct = number(facts.get("output_change_pct"))
        direction = _text(facts.get("output_direction"))
        basis = _text(facts.get("output_basis"))
        if pct is not None or direction:
            word = catalogue(lang).get(f"embed.direction.{direction}")
            change = f"{pct:+.0f}%" if pct is not None else str(word or direction)
            text = (_(lang, "embed.popup.output_basis", change=change, basis=basis) if basis
                    else _(lang, "embed.popup.output", change=change))  # fmt: skip
            out.append(f"<p><b>{e(_(lang, 'embed.popup.output_label'))}</b> {e(text)}</p>")
        pm25 = number(facts.get("pm25_10km"))
        if pm25 is not None:
            text = _(lang, "embed.popup.pm25", period=period, value=format_number(lang, pm25))
            out.append(f"<p>{e(text)}</p>")
    source = _text(props.get("data_source"))
    if source:
        out.append(f'<p class="lt-muted">{e(_(lang, "embed.popup.source", source=source))}</p>')
    out.append("</div>")
    return "".join(out)


# The plants' symbol shapes of web/static/markers.js (INDUSTRY_SHAPES), so that readers who
# cannot tell the colours apart still tell the industries apart; any other industry: a circle.
INDUSTRY_SHAPES = {"cement": "square", "coking": "triangle", "chemical": "hexagon"}


def industry_shape(industry: str) -> str:
    """The shape of ``industry``'s symbol (style.SHAPE_CORNERS)."""
    return INDUSTRY_SHAPES.get(industry, "circle")


def industry_palette(release: Release, index: np.ndarray) -> list[tuple[str, str, str]]:
    """``[(industry, colour, shape)]``: the known industries, those present, then ``other``."""
    present = {str(i) for i in release.enterprises.industry[index]}
    extra = sorted(present - set(INDUSTRY_COLOURS) - {""})
    colours = [*INDUSTRY_COLOURS.items(), *((k, OTHER_COLOUR) for k in extra)]
    return [(k, c, industry_shape(k)) for k, c in colours] + [("other", OTHER_COLOUR, "circle")]


def marker_rows(release: Release, resolved: ResolvedView, lang: Lang) -> list[list[Any]]:
    """``[lat, lon, industry index, flags, name, popup html]`` per plant (compact), the name
    and popup in ``lang``."""
    row = timeline_position(release, resolved.quarter)
    records = release.records
    palette = [p[0] for p in industry_palette(release, resolved.index)]
    other = len(palette) - 1
    out: list[list[Any]] = []
    for i in resolved.index.tolist():
        feature = release.enterprises.features[i]
        props = feature["properties"]
        approx = (
            props.get("geocode_precision") != "point"
            or props.get("coordinate_accuracy") == "approximate"
        )
        flags = (
            (CITED if records.violations_12m[row][i] > 0 else 0)
            | (UP if records.output_up[row][i] else 0)
            | (APPROX if approx else 0)
            | (RECORDS if records.counts[i] > 0 else 0)
        )
        industry = str(props.get("industry") or "")
        facts = records.facts.get(str(feature["id"]), {}).get(resolved.quarter)
        zh = _text(props.get("name_zh") or props.get("name"))
        province = province_name(release, lang, _text(props.get("province")))
        out.append([
            round(float(release.enterprises.lat[i]), 5),
            round(float(release.enterprises.lon[i]), 5),
            palette.index(industry) if industry in palette else other,
            flags,
            place_name(lang, zh, _text(props.get("name_en"))) or _text(feature["id"]),
            popup_html(props, facts, resolved.quarter, approx, lang, province),
        ])  # fmt: skip
    return out


# ---- PM2.5 -----------------------------------------------------------------------------------


def _mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


@dataclass(frozen=True)
class OverlayFrame:
    """Where a PM2.5 overlay is read: WGS-84 bounds and a Web Mercator image size."""

    bounds: BBox
    width: int
    height: int


def overlay_frame(path: Path, bbox: BBox, max_side: int) -> OverlayFrame | None:
    """The part of ``bbox`` the COG covers, at most ``max_side`` pixels a side in Web Mercator
    (never finer than the grid); None when the grid does not reach the bbox."""
    import rasterio

    with rasterio.open(path) as ds:
        left, bottom, right, top = ds.bounds
        res = abs(float(ds.transform.a))
    west, south, east, north = bbox
    west, south = max(west, left), max(south, bottom, -MAX_LAT)
    east, north = min(east, right), min(north, top, MAX_LAT)
    if west >= east or south >= north:
        return None
    span_x = math.radians(east - west)
    span_y = _mercator_y(north) - _mercator_y(south)
    native = max(1, math.ceil((east - west) / res))
    width = min(native, max_side)
    height = max(1, round(width * span_y / span_x))
    if height > max_side:
        width, height = max(1, round(max_side * span_x / span_y)), max_side
    return OverlayFrame((west, south, east, north), width, height)


def read_overlay(path: Path, frame: OverlayFrame) -> np.ndarray:
    """The COG's band 1 on ``frame`` in Web Mercator (nearest cell), NaN without data."""
    from rio_tiler.constants import WEB_MERCATOR_CRS, WGS84_CRS
    from rio_tiler.io import Reader

    quiet_affine()
    with Reader(str(path)) as cog:
        data = cog.part(
            frame.bounds, dst_crs=WEB_MERCATOR_CRS, bounds_crs=WGS84_CRS, indexes=1,
            width=frame.width, height=frame.height, resampling_method="nearest",
            reproject_method="nearest",
        )  # fmt: skip
    return np.ma.masked_invalid(data.array[0].astype(np.float64)).filled(np.nan)


def encode_overlay(values: np.ndarray, classes: Sequence[Mapping[str, Any]]) -> str | None:
    """``values`` coloured by ``classes`` as a PNG ``data:`` URI; None when none is finite."""
    from PIL import Image

    if not np.isfinite(values).any():
        return None
    buffer = io.BytesIO()
    Image.fromarray(class_rgba(values, classes), "RGBA").save(buffer, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def overlay_image(
    path: Path, bbox: BBox, classes: Sequence[Mapping[str, Any]], max_side: int
) -> tuple[str, BBox] | None:
    """The COG's band 1 within ``bbox`` in Web Mercator, coloured by ``classes``, as a PNG
    ``data:`` URI with its WGS-84 bounds; at most ``max_side`` pixels a side (never finer than
    the grid). None when the grid does not reach the bbox."""
    frame = overlay_frame(path, bbox, max_side)
    if frame is None:
        return None
    uri = encode_overlay(read_overlay(path, frame), classes)
    return None if uri is None else (uri, frame.bounds)


# ---- legend, title, attribution --------------------------------------------------------------


def scale_title(lang: Lang, doc: Mapping[str, Any]) -> str:
    """The colour scale's title in ``lang`` (``embed.scale.<name>``), else the release's."""
    text = catalogue(lang).get(f"embed.scale.{_text(doc.get('name'))}")
    return str(text) if isinstance(text, str) else _text(doc.get("title"))


def class_label(cls: Mapping[str, Any], last: bool) -> str:
    """A class's lower bound (``250+`` for the last), for a horizontal scale."""
    text = f"{float(cls['lower']):g}"
    return f"{text}+" if last else text


def legend_html(doc: Mapping[str, Any] | None, has_grid: bool, quarter: str,
                palette: Sequence[tuple[str, str, str]], count: int, lang: Lang,
                present: set[str] | None = None, scale_html: str | None = None,
                period: str | None = None) -> str:  # fmt: skip
    """Legend: the PM2.5 classes as one horizontal scale (or ``scale_html``, e.g. the change
    between two periods) and the plant markers in a flow, so it stays small (collapsed on
    small frames by the embed's script). ``period``: the PM2.5 period asked for (a month,
    quarter or year), named in the scale's heading; the plants' facts are of ``quarter``."""
    e = html.escape
    out = [f"<details open><summary>{e(_(lang, 'embed.legend'))}</summary>"]
    if scale_html is not None:
        out.append(scale_html)
    elif doc is not None:
        units = _text(doc.get("units"))
        title = scale_title(lang, doc)
        if period is not None:
            heading = _(lang, "embed.legend.scale_period", title=title, units=units,
                        period=format_period(lang, period))  # fmt: skip
        else:
            heading = _(lang, "embed.legend.scale", title=title, units=units) if units else title
        out.append(f"<h2>{e(heading)}</h2>")
        if not has_grid:
            note = _(lang, "embed.legend.no_grid", period=format_period(lang, period or quarter))
            out.append(f'<p class="lt-note">{e(note)}</p>')
        classes = list(doc.get("classes", ()))
        out.append('<div class="lt-scale">')
        for i, cls in enumerate(classes):
            colour = str(cls.get("color", ""))
            colour = colour if COLOUR.match(colour) else "#999999"
            out.append(
                f'<div class="lt-class" data-class="{int(cls.get("index", 0))}" '
                f'title="{e(_text(cls.get("label")))}">'
                f'<span class="lt-sw" style="background:{colour}"></span>'
                f"<span>{e(class_label(cls, i == len(classes) - 1))}</span></div>"
            )
        out.append("</div>")
    out.append(f"<h2>{e(plural(lang, 'embed.legend.plants', count))}</h2><div class=\"lt-keys\">")
    keys = [(symbol_svg(shape, "", colour), industry_name(lang, name))
            for name, colour, shape in palette if present is None or name in present]  # fmt: skip
    keys += [(symbol_svg("circle", cls, STATE_FILL), text) for cls, text in (
        ("cited", _(lang, "embed.legend.cited", period=format_period(lang, quarter))),
        ("up", _(lang, "embed.legend.up")),
        ("flag", _(lang, "embed.legend.flag")),
        ("approx", _(lang, "embed.legend.approx")),
    )]  # fmt: skip
    keys.append((symbol_svg("circle", "cluster", CLUSTER_FILL), _(lang, "embed.legend.cluster")))
    for symbol, text in keys:
        out.append(f'<div class="lt-item">{symbol}<span>{e(text)}</span></div>')
    out.append("</div></details>")
    return "".join(out)


def title_html(title: str, release: Release, quarter: str, synthetic: bool, lang: Lang,
               sides: str | None = None, period: str | None = None) -> str:  # fmt: skip
    """Title, the two periods shown (``sides``) if any, data date (of the PM2.5 ``period``
    and the plants' ``quarter``), synthetic-data warning."""
    e = html.escape
    out = [f"<h1>{e(title)}</h1>"]
    if sides:
        out.append(f'<p class="lt-sides">{e(sides)}</p>')
    out.append(f"<p>{e(data_date(release, period or quarter, lang, quarter))}</p>")
    if synthetic:
        out.append(f'<p class="lt-synthetic">{e(_(lang, "embed.synthetic"))}</p>')
    out.append('<p class="lt-status" role="status"></p>')
    return "".join(out)


def attributions(release: Release, lang: Lang) -> list[str]:
    """Every source's attribution in ``lang``, HTML-escaped for Leaflet's control."""
    return [html.escape(text) for text in citation.attributions(release, lang)]
