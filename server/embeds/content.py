"""What an embed shows: plant popups and marker rows, the PM2.5 overlay, legend, title,
data date and attributions."""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...tiles.colormaps import class_rgba
from ..api.routes import timeline_position
from ..releases.release import Release
from .describe import (
    INDUSTRY_COLOURS,
    OTHER_COLOUR,
    quarter_label,
    quarter_month_span,
    release_stamp,
)
from .view import MAX_LAT, BBox, ResolvedView

CITED, UP, APPROX, RECORDS = 1, 2, 4, 8  # marker flag bits
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_FINDING = 300  # characters of a finding shown in a popup


def data_date(release: Release, quarter: str) -> str:
    """``2019 Q1 (Jan–Mar) · release r-…, built 2026-11-23``."""
    span = quarter_month_span(quarter)
    return f"Data: {quarter_label(quarter)} ({span}) · {release_stamp(release)}"


def _industry_word(industry: str) -> str:
    return {"coal_power": "coal", "": "other"}.get(industry, industry.replace("_", " "))


# ---- markers ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return str(value)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def popup_html(props: Mapping[str, Any], facts: Mapping[str, Any] | None, quarter: str,
               approx: bool) -> str:  # fmt: skip
    """The popup of one plant; every text from the data goes through ``html.escape``."""
    e = html.escape
    name = _text(props.get("name") or props.get("name_zh") or props.get("name_en") or props["id"])
    out = [f'<div class="lt-popup"><h3>{e(name)}</h3>']
    name_en = _text(props.get("name_en"))
    if name_en and name_en != name:
        out.append(f'<p class="lt-muted">{e(name_en)}</p>')
    what = _industry_word(_text(props.get("industry"))) if props.get("industry") else "plant"
    capacity = _number(props.get("capacity"))
    if capacity is not None:
        what += f", {capacity:,.0f} {_text(props.get('capacity_unit'))}".rstrip()
    where = ", ".join(_text(props.get(k)) for k in ("city", "province") if props.get(k))
    out.append(f"<p>{e(what)}{' · ' + e(where) if where else ''}</p>")
    if approx:
        precision = _text(props.get("geocode_precision")) or "approximate"
        out.append(f'<p class="lt-muted">Approximate location ({e(precision)} level)</p>')
    label = quarter_label(quarter)
    if facts is not None:
        v12 = int(facts.get("violations_12m") or 0)
        if v12:
            noun = "record" if v12 == 1 else "records"
            out.append(f"<p><b>Cited:</b> {v12} violation {noun} in the 12 months to {label}</p>")
        finding = _text(facts.get("latest_finding"))
        if finding:
            if len(finding) > MAX_FINDING:
                finding = finding[: MAX_FINDING - 1] + "…"
            date = _text(facts.get("latest_finding_date"))
            out.append(f"<p>Latest finding{f' ({e(date)})' if date else ''}: {e(finding)}</p>")
        pct = _number(facts.get("output_change_pct"))
        direction = _text(facts.get("output_direction"))
        basis = _text(facts.get("output_basis"))
        if pct is not None or direction:
            change = f"{pct:+.0f}%" if pct is not None else direction
            on = f" ({e(basis)})" if basis else ""
            out.append(f"<p><b>Output:</b> {e(change)} on a year before{on}</p>")
        pm25 = _number(facts.get("pm25_10km"))
        if pm25 is not None:
            out.append(f"<p>PM2.5 within 10 km, {label}: {pm25:.0f} µg/m³</p>")
    source = _text(props.get("data_source"))
    if source:
        out.append(f'<p class="lt-muted">Source: {e(source)}</p>')
    out.append("</div>")
    return "".join(out)


def industry_palette(release: Release, index: np.ndarray) -> list[tuple[str, str]]:
    """``[(industry, colour)]``: the known industries, those present, then ``other``."""
    present = {str(i) for i in release.enterprises.industry[index]}
    known = [(k, c) for k, c in INDUSTRY_COLOURS.items()]
    extra = sorted(present - set(INDUSTRY_COLOURS) - {""})
    return known + [(k, OTHER_COLOUR) for k in extra] + [("other", OTHER_COLOUR)]


def marker_rows(release: Release, resolved: ResolvedView) -> list[list[Any]]:
    """``[lat, lon, industry index, flags, name, popup html]`` per plant (compact)."""
    row = timeline_position(release, resolved.quarter)
    records = release.records
    palette = [k for k, _ in industry_palette(release, resolved.index)]
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
        name = _text(props.get("name") or props.get("name_zh") or props.get("name_en"))
        out.append([
            round(float(release.enterprises.lat[i]), 5),
            round(float(release.enterprises.lon[i]), 5),
            palette.index(industry) if industry in palette else other,
            flags,
            name,
            popup_html(props, facts, resolved.quarter, approx),
        ])  # fmt: skip
    return out


# ---- PM2.5 -----------------------------------------------------------------------------------


def _mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def overlay_image(
    path: Path, bbox: BBox, classes: Sequence[Mapping[str, Any]], max_side: int
) -> tuple[str, BBox] | None:
    """The COG's band 1 within ``bbox`` in Web Mercator, coloured by ``classes``, as a PNG
    ``data:`` URI with its WGS-84 bounds; at most ``max_side`` pixels a side (never finer than
    the grid). None when the grid does not reach the bbox."""
    import rasterio
    from PIL import Image
    from rio_tiler.constants import WEB_MERCATOR_CRS, WGS84_CRS
    from rio_tiler.io import Reader

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
    with Reader(str(path)) as cog, warnings.catch_warnings():
        # rio-tiler still multiplies Affine by tuples with `*`; affine 3 flags that.
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
        data = cog.part(
            (west, south, east, north), dst_crs=WEB_MERCATOR_CRS, bounds_crs=WGS84_CRS,
            indexes=1, width=width, height=height, resampling_method="nearest",
            reproject_method="nearest",
        )  # fmt: skip
    values = np.ma.masked_invalid(data.array[0].astype(np.float64)).filled(np.nan)
    if not np.isfinite(values).any():
        return None
    buffer = io.BytesIO()
    Image.fromarray(class_rgba(values, classes), "RGBA").save(buffer, "PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return uri, (west, south, east, north)


# ---- legend, title, attribution --------------------------------------------------------------


def legend_html(doc: Mapping[str, Any] | None, has_grid: bool, quarter: str,
                palette: Sequence[tuple[str, str]], count: int,
                present: set[str] | None = None) -> str:  # fmt: skip
    """Legend: the PM2.5 classes (as the web legend) and the plant markers."""
    e = html.escape
    out = ['<details open><summary>Legend</summary>']
    if doc is not None:
        units = _text(doc.get("units"))
        heading = f"{_text(doc.get('title'))} ({units})" if units else _text(doc.get("title"))
        out.append(f"<h2>{e(heading)}</h2>")
        if not has_grid:
            out.append(f'<p class="lt-note">No PM2.5 grid for {e(quarter_label(quarter))}.</p>')
        for cls in doc.get("classes", ()):
            colour = str(cls.get("color", ""))
            colour = colour if COLOUR.match(colour) else "#999999"
            out.append(
                f'<div class="lt-item" data-class="{int(cls.get("index", 0))}">'
                f'<span class="lt-sw" style="background:{colour}"></span>'
                f"<span>{e(_text(cls.get('label')))}</span></div>"
            )
    out.append(f"<h2>Plants ({count:,} shown)</h2>")
    for name, colour in palette if present is None else [p for p in palette if p[0] in present]:
        out.append(
            f'<div class="lt-item"><span class="lt-mk" style="--fill:{colour}"></span>'
            f"<span>{e(name.replace('_', ' '))}</span></div>"
        )
    for cls, text in (
        ("cited", f"Cited for violations in the 12 months to {quarter_label(quarter)}"),
        ("up", "Output up on a year before"),
        ("flag", "Cited and output up"),
        ("approx", "Approximate location"),
        ("cluster", "Several plants: zoom in (red ring: some cited)"),
    ):
        out.append(
            f'<div class="lt-item"><span class="lt-mk {cls}"></span><span>{e(text)}</span></div>'
        )
    out.append("</details>")
    return "".join(out)


def title_html(title: str, release: Release, quarter: str, synthetic: bool) -> str:
    e = html.escape
    out = [f"<h1>{e(title)}</h1>", f"<p>{e(data_date(release, quarter))}</p>"]
    if synthetic:
        out.append('<p class="lt-synthetic">Synthetic data: not real measurements</p>')
    out.append('<p class="lt-status" role="status"></p>')
    return "".join(out)


def attributions(release: Release) -> list[str]:
    """Every source's attribution (else title), HTML-escaped for Leaflet's control."""
    texts = []
    for source in release.sources:
        text = _text(source.get("attribution") or source.get("title") or source.get("id"))
        if text and html.escape(text) not in texts:
            texts.append(html.escape(text))
    return texts
