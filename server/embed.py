"""Folium embeds for journalists: a region, a quarter and filters as one Leaflet map.

``embed_map(release, view, mode, server_url)`` is the one builder (pure over a ``Release``):
PM2.5, plant markers with escaped popups, a legend from the tiles' own colour scale, a title,
the data date and the attribution of every source. Two modes:

- ``linked``: PM2.5 from the server's XYZ tiles and the plants from ``/embed/markers.json``,
  both pinned to the release id, Leaflet from the server's ``/static/vendor``: a small page.
- ``standalone``: one self-contained file: Leaflet and Leaflet.markercluster inlined, PM2.5 as
  an inline PNG overlay reprojected to Web Mercator, plants as a compact inline array,
  clustered; it opens offline.

Used by ``GET /embed`` (``embed_router``), ``lantian embed`` and ``lantian.embed(...)``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ..geo.enterprises import pinyin_key
from ..settings import Settings
from ..tiles.colormaps import class_rgba
from .api import enterprise_mask, timeline_position
from .boundaries import embed_lines
from .deps import NAME_PATTERN, QUARTER_PATTERN, EnterpriseFilter, ReleaseDep, parse_bbox
from .embed_assets import EMBED_CSS, EMBED_JS, inline_assets, script_json, vendor_urls
from .errors import ERROR_RESPONSES, InvalidParameterError, NotFoundError
from .release import LayerInfo, Release, search_key
from .tiles import base_url
from .view import (
    INDUSTRY_COLOURS,
    OTHER_COLOUR,
    colormap_doc,
    default_extent,
    describe_view,
    quarter_label,
    quarter_month_span,
    release_stamp,
)

if TYPE_CHECKING:
    import folium

BBox = tuple[float, float, float, float]
Mode = Literal["linked", "standalone"]
MODES: tuple[str, ...] = ("linked", "standalone")
DEFAULT_LAYER = "pm25"
MAX_LAT = 85.0
MAX_ZOOM = 16
RASTER_OPACITY = 0.75  # as the web map
OVERLAY_PAD = 0.5  # the standalone overlay covers the region and half its size around it
CITED, UP, APPROX, RECORDS = 1, 2, 4, 8  # marker flag bits
SERVER_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_FINDING = 300  # characters of a finding shown in a popup
ALT_ID = "lt-alt"  # the visually hidden alt text of the map


@dataclass(frozen=True)
class EmbedView:
    """What an embed shows: quarter, region (``bbox`` and/or ``province``), filters, layer.

    ``quarter`` defaults to the latest PM2.5 quarter; without ``bbox`` the region is the padded
    extent of the matching plants (of the province when given). ``title`` defaults to the one
    ``view.describe_view`` writes from the data (as the PNG preview's)."""

    quarter: str | None = None
    bbox: BBox | None = None
    province: str | None = None
    industry: str | None = None
    q: str | None = None
    has_violations: bool | None = None
    output_up: bool | None = None
    layer: str = DEFAULT_LAYER
    title: str | None = None


@dataclass(frozen=True)
class EmbedLimits:
    """What one embed may cost."""

    max_markers: int = 5_000
    max_overlay_side: int = 2_048
    max_bbox_area: float = 2_500.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbedLimits:
        return cls(
            settings.embed_max_markers,
            settings.embed_max_overlay_side,
            settings.max_bbox_area_deg2,
        )


@dataclass(frozen=True)
class ResolvedView:
    """An ``EmbedView`` checked against a release."""

    quarter: str
    layer: LayerInfo | None  # None: the release has no raster layer
    has_grid: bool
    province: str | None
    filters: EnterpriseFilter
    bbox: BBox
    index: np.ndarray = field(repr=False)  # the plants shown (inside bbox, matching filters)


@dataclass
class EmbedMap:
    """A built embed: ``.html`` is the full page; ``_repr_html_`` shows it in Jupyter."""

    map: folium.Map
    release: str
    quarter: str
    mode: str
    title: str
    bbox: BBox
    markers: int
    alt: str = ""  # the map described in words, from the data

    @cached_property
    def html(self) -> str:
        return self.map.get_root().render()

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(self.html, encoding="utf-8")
        return out

    @property
    def filename(self) -> str:
        return f"lantian-{self.release}-{self.quarter}.html"

    def _repr_html_(self) -> str:
        return str(self.map._repr_html_())


# ---- the view --------------------------------------------------------------------------------


def resolve_province(release: Release, name: str) -> str:
    """The province as the plants name it: ``河北省``, ``河北`` or ``Hebei`` → ``河北省``."""
    known = sorted(set(release.enterprises.province.tolist()) - {""})
    if name in known:
        return name
    key = search_key(name)
    found = [p for p in known if p.startswith(name)]
    if not found and key:
        found = [p for p in known if pinyin_key(p).startswith(key)]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidParameterError(f"province {name!r} is ambiguous: {', '.join(found)}")
    raise NotFoundError(f"no plants in province {name!r}")


def _raster(release: Release, layer_id: str) -> LayerInfo | None:
    rasters = {k: v for k, v in release.layers.items() if v.kind == "raster"}
    if layer_id in rasters:
        return rasters[layer_id]
    if not rasters:
        return None
    raise InvalidParameterError(f"layer must be one of {', '.join(sorted(rasters))}")


def _check_bbox(bbox: Sequence[float], max_area: float) -> BBox:
    text = ",".join(repr(float(v)) for v in bbox)
    parsed = parse_bbox(text, max_area)
    assert parsed is not None
    return parsed


def _mercator_safe(bbox: BBox) -> BBox:
    west, south, east, north = bbox
    return (max(west, -180.0), max(south, -MAX_LAT), min(east, 180.0), min(north, MAX_LAT))


def _padded(bbox: BBox, share: float = OVERLAY_PAD) -> BBox:
    """``bbox`` grown by ``share`` of its size on every side (the overlay outlasts a pan)."""
    west, south, east, north = bbox
    dx, dy = (east - west) * share, (north - south) * share
    return _mercator_safe((west - dx, south - dy, east + dx, north + dy))


def resolve_view(release: Release, view: EmbedView, limits: EmbedLimits) -> ResolvedView:
    """Check ``view`` against ``release``: quarter, layer, province, filters, region, plants."""
    layer = _raster(release, view.layer)
    if view.quarter is not None:
        quarter = view.quarter
    elif release.quarters:
        quarter = release.quarters[-1]
    elif release.timeline:
        quarter = release.timeline[-1]
    else:
        raise InvalidParameterError("the release has no quarters")
    timeline_position(release, quarter)  # 422 when the quarter is not in the timeline
    has_grid = layer is not None and quarter in layer.files and quarter in release.quarters
    province = resolve_province(release, view.province) if view.province else None
    filters = EnterpriseFilter(
        industry=view.industry, province=province, q=view.q, quarter=quarter,
        has_violations=view.has_violations, output_up=view.output_up,
    )  # fmt: skip
    mask = enterprise_mask(release, filters, limits.max_bbox_area)
    if view.bbox is not None:
        bbox = _check_bbox(view.bbox, limits.max_bbox_area)
    else:
        bbox = default_extent(release, mask, limits.max_bbox_area)
    bbox = _mercator_safe(bbox)
    west, south, east, north = bbox
    data = release.enterprises
    mask &= (data.lon >= west) & (data.lon <= east) & (data.lat >= south) & (data.lat <= north)
    index = np.flatnonzero(mask)
    if index.size > limits.max_markers:
        raise InvalidParameterError(
            f"{index.size:,} plants match; an embed holds at most {limits.max_markers:,}: "
            "choose a smaller region (bbox, province) or more filters"
        )
    return ResolvedView(quarter, layer, has_grid, province, replace(filters), bbox, index)


def _industry_word(industry: str) -> str:
    return {"coal_power": "coal", "": "other"}.get(industry, industry.replace("_", " "))


def describe_filters(view: EmbedView, resolved: ResolvedView) -> EnterpriseFilter:
    """The filters ``view.describe_view`` describes ``resolved`` by (as ``/api/embed/describe``
    with the embed's query): the province as resolved, the bbox only when one was given."""
    bbox = ",".join(repr(v) for v in resolved.bbox) if view.bbox is not None else None
    return replace(resolved.filters, bbox=bbox)


def data_date(release: Release, quarter: str) -> str:
    """``2019 Q1 (Jan–Mar) · release r-…, built 2026-11-23``."""
    span = quarter_month_span(quarter)
    return f"Data: {quarter_label(quarter)} ({span}) · {release_stamp(release)}"


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


# ---- the map ---------------------------------------------------------------------------------


def _embed_script(config: Mapping[str, Any]) -> Any:
    from branca.element import MacroElement
    from jinja2 import Template

    class EmbedScript(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this.code }}"
            "{% endmacro %}"
        )

        def __init__(self) -> None:
            super().__init__()
            self._name = "LantianEmbed"

        def render(self, **kwargs: Any) -> Any:
            assert self._parent is not None
            self.code = EMBED_JS.replace("__MAP__", self._parent.get_name()).replace(
                "__CONFIG__", script_json(config)
            )
            return super().render(**kwargs)

    return EmbedScript()


def check_server_url(server_url: str | None) -> str:
    """An http(s) base URL without query, quotes or spaces (it is written into the page)."""
    if not server_url:
        raise InvalidParameterError("a linked embed needs the lantian server's URL")
    url = server_url.rstrip("/")
    if not SERVER_URL.match(url):
        raise InvalidParameterError("server URL must be http(s)://host[:port][/path]")
    return url


def _bbox_text(bbox: BBox) -> str:
    return ",".join(f"{v:.6f}" for v in bbox)


def markers_query(release: Release, resolved: ResolvedView) -> str:
    """Query of ``/embed/markers.json`` for ``resolved``, pinned to the release."""
    f = resolved.filters
    params: dict[str, str] = {"release": release.id, "quarter": resolved.quarter,
                              "bbox": _bbox_text(resolved.bbox)}  # fmt: skip
    for key in ("industry", "province", "q"):
        value = getattr(f, key)
        if value is not None:
            params[key] = value
    for key in ("has_violations", "output_up"):
        value = getattr(f, key)
        if value is not None:
            params[key] = "true" if value else "false"
    return urlencode(params)


def embed_map(
    release: Release,
    view: EmbedView,
    mode: Mode = "standalone",
    server_url: str | None = None,
    limits: EmbedLimits | None = None,
) -> EmbedMap:
    """The folium map of ``view``: ``linked`` (needs ``server_url``) or ``standalone``."""
    import folium
    from branca.element import Element, Figure

    if mode not in MODES:
        raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}")
    limits = limits or EmbedLimits()
    server = check_server_url(server_url) if mode == "linked" else None
    resolved = resolve_view(release, view, limits)
    described = describe_view(release, describe_filters(view, resolved), (
        resolved.layer.id if resolved.layer is not None else DEFAULT_LAYER), limits.max_bbox_area)
    title = view.title or described.title
    synthetic = bool(release.manifest.get("synthetic", False))
    quarter = resolved.quarter
    west, south, east, north = resolved.bbox

    figure = Figure(title=html.escape(title))
    m = folium.Map(tiles=None, control_scale=True, zoom_start=5, location=[
        (south + north) / 2, (west + east) / 2])  # fmt: skip
    m.add_to(figure)
    texts = attributions(release)
    if mode == "linked":
        assert server is not None
        m.default_js, m.default_css = vendor_urls(server)
    else:
        m.default_js, m.default_css = [], []
        styles, scripts = inline_assets()
        figure.header.add_child(Element(styles), name="lantian_vendor_css")
        figure.header.add_child(Element(scripts), name="lantian_vendor_js")
    figure.header.add_child(Element(f"<style>{EMBED_CSS}</style>"), name="lantian_embed_css")
    # No favicon request (a 404 on the lantian server, a network attempt offline).
    figure.header.add_child(Element('<link rel="icon" href="data:,">'), name="lantian_icon")
    # The alt text written from the data: the page's description, and the map's (the script
    # points the map container's aria-describedby at it).
    alt = html.escape(described.alt)
    figure.header.add_child(Element(f'<meta name="description" content="{alt}">'),
                            name="lantian_description")  # fmt: skip
    figure.html.add_child(Element(f'<p id="{ALT_ID}" class="lt-sr-only">{alt}</p>'),
                          name="lantian_alt")  # fmt: skip

    config: dict[str, Any] = {"bounds": [[south, west], [north, east]]}
    # Before the PM2.5 layer: the script fits the region without animation, so no tile of the
    # initial zoom is requested (and aborted).
    m.add_child(_embed_script(config))

    layer = resolved.layer
    doc = colormap_doc(release, layer.colormap or layer.id) if layer is not None else None
    pm25_attr = texts[0] if texts else "PM2.5"
    if layer is not None and resolved.has_grid and doc is not None:
        if mode == "linked":
            lw, ls, le, ln = layer.bounds
            folium.TileLayer(
                tiles=f"{server}/tiles/{layer.id}/{quarter}/{{z}}/{{x}}/{{y}}.png"
                f"?release={release.id}",
                attr=pm25_attr, name=layer.title, overlay=True, opacity=RASTER_OPACITY,
                min_zoom=0, max_zoom=MAX_ZOOM, max_native_zoom=layer.maxzoom,
                min_native_zoom=layer.minzoom, bounds=[[ls, lw], [ln, le]],
            ).add_to(m)  # fmt: skip
        else:
            image = overlay_image(
                release.pm25_cog(quarter), _padded(resolved.bbox), doc["classes"],
                limits.max_overlay_side,
            )
            if image is not None:
                uri, (ow, os_, oe, on) = image
                folium.raster_layers.ImageOverlay(
                    image=uri, bounds=[[os_, ow], [on, oe]], opacity=RASTER_OPACITY,
                    name=layer.title, class_name="lt-pm25", interactive=False,
                ).add_to(m)  # fmt: skip

    palette = industry_palette(release, resolved.index)
    present = {
        i if i in INDUSTRY_COLOURS or i else "other"
        for i in (str(v) for v in release.enterprises.industry[resolved.index])
    }
    config.update({
        "title": title,
        "altId": ALT_ID,
        "prefix": "Leaflet · lantian",
        "maxZoom": MAX_ZOOM,
        "attributions": texts,
        "titleHtml": title_html(title, release, quarter, synthetic),
        "legendHtml": legend_html(doc, resolved.has_grid, quarter, palette,
                                  int(resolved.index.size), present),
        "industries": [list(p) for p in palette],
        "markers": None,
        "markersUrl": None,
        "boundaries": None,
        "boundariesUrl": None,
    })
    lines_bbox = _padded(resolved.bbox)
    if mode == "linked":
        config["markersUrl"] = f"{server}/embed/markers.json?{markers_query(release, resolved)}"
        if "boundaries" in release.layers:
            query = urlencode({"release": release.id, "bbox": _bbox_text(lines_bbox)})
            config["boundariesUrl"] = f"{server}/embed/boundaries.json?{query}"
    else:
        config["markers"] = marker_rows(release, resolved)
        config["boundaries"] = embed_lines(release, lines_bbox)
    return EmbedMap(m, release.id, quarter, mode, title, resolved.bbox, int(resolved.index.size),
                    described.alt)


def embed(
    data_dir: str | Path = "var",
    *,
    release: str | None = None,
    quarter: str | None = None,
    bbox: Sequence[float] | None = None,
    province: str | None = None,
    industry: str | None = None,
    q: str | None = None,
    has_violations: bool | None = None,
    output_up: bool | None = None,
    layer: str = DEFAULT_LAYER,
    title: str | None = None,
    mode: Mode = "standalone",
    server_url: str | None = None,
) -> EmbedMap:
    """A folium embed from a data dir, for notebooks and scripts::

        lantian.embed(data_dir="var", province="河北省", quarter="2019Q1").save("hebei.html")
    """
    from .release import load_release

    settings = Settings(data_dir=Path(data_dir), release=release)
    opened = load_release(settings)
    try:
        view = EmbedView(
            quarter=quarter, bbox=tuple(bbox) if bbox is not None else None,  # type: ignore[arg-type]
            province=province, industry=industry, q=q, has_violations=has_violations,
            output_up=output_up, layer=layer, title=title,
        )  # fmt: skip
        return embed_map(opened, view, mode, server_url, EmbedLimits.from_settings(settings))
    finally:
        opened.close()


# ---- HTTP ------------------------------------------------------------------------------------


@dataclass
class EmbedFilter:
    """Region, quarter and filters of an embed (the enterprise search's filters)."""

    quarter: Annotated[
        str | None, Query(pattern=QUARTER_PATTERN, description="Default: latest PM2.5 quarter.")
    ] = None
    bbox: Annotated[
        str | None, Query(max_length=100, description="Region: minlon,minlat,maxlon,maxlat.")
    ] = None
    province: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Province (河北省, 河北 or Hebei): "
              "filters the plants; the region when no bbox is given."),
    ] = None
    industry: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None
    has_violations: Annotated[bool | None, Query(description="Cited plants only.")] = None
    output_up: Annotated[bool | None, Query()] = None

    def view(self, max_area: float, **extra: Any) -> EmbedView:
        bbox = parse_bbox(self.bbox, max_area)
        return EmbedView(
            quarter=self.quarter, bbox=bbox, province=self.province, industry=self.industry,
            q=self.q, has_violations=self.has_violations, output_up=self.output_up, **extra,
        )  # fmt: skip


@dataclass
class EmbedOptions:
    """Layer, title and mode of an embed."""

    layer: Annotated[
        str, Query(pattern=NAME_PATTERN, description="pm25 or colour-blind-safe pm25-cb.")
    ] = DEFAULT_LAYER
    title: Annotated[str | None, Query(min_length=1, max_length=160)] = None
    mode: Annotated[
        Literal["linked", "standalone"],
        Query(description="linked: small page loading tiles and plants from this server; "
              "standalone: one self-contained HTML file (download) that opens offline."),
    ] = "linked"


def embed_router(settings: Settings) -> APIRouter:
    """Routes ``/embed`` and ``/embed/markers.json``."""
    router = APIRouter(tags=["embed"], responses=ERROR_RESPONSES)
    limits = EmbedLimits.from_settings(settings)

    def cache(request: Request) -> str:
        pinned = "release" in request.query_params
        return settings.tile_cache_control if pinned else "public, max-age=300"

    @router.get("/embed", response_class=HTMLResponse)
    def embed_page(
        release: ReleaseDep,
        request: Request,
        where: Annotated[EmbedFilter, Depends()],
        options: Annotated[EmbedOptions, Depends()],
    ) -> HTMLResponse:
        """A Leaflet (folium) map of the region, quarter and filters, for an iframe: PM2.5,
        plants with popups, legend, title, data date, every source's attribution. ``linked``
        loads tiles and plants from this server (pinned to the release); ``standalone`` is a
        self-contained file served as a download."""
        view = where.view(limits.max_bbox_area, layer=options.layer, title=options.title)
        server = base_url(request, settings)
        built = embed_map(release, view, options.mode, server, limits)
        headers = {"Cache-Control": cache(request)}
        if options.mode == "standalone":
            headers["Content-Disposition"] = f'attachment; filename="{built.filename}"'
        return HTMLResponse(built.html, headers=headers)

    @router.get("/embed/markers.json")
    def embed_markers(
        release: ReleaseDep, request: Request, where: Annotated[EmbedFilter, Depends()]
    ) -> JSONResponse:
        """The plants of an embed as compact rows ``[lat, lon, industry, flags, name, popup]``
        (flags: 1 cited, 2 output up, 4 approximate, 8 has records); CORS-open."""
        view = where.view(limits.max_bbox_area)
        resolved = resolve_view(release, view, limits)
        body = {
            "release": release.id,
            "quarter": resolved.quarter,
            "total": int(resolved.index.size),
            "industries": [list(p) for p in industry_palette(release, resolved.index)],
            "markers": marker_rows(release, resolved),
        }
        headers = {"Cache-Control": cache(request), "Access-Control-Allow-Origin": "*"}
        return JSONResponse(body, headers=headers)

    @router.get("/embed/boundaries.json")
    def embed_boundaries(
        release: ReleaseDep,
        request: Request,
        bbox: Annotated[str, Query(max_length=100, description="minlon,minlat,maxlon,maxlat.")],
    ) -> JSONResponse:
        """Province and city lines within ``bbox`` as ``[kind, [[lat, lon], …]]`` rows, from
        the boundary vector tiles (a bounded number of tiles, simplified); CORS-open."""
        region = parse_bbox(bbox, limits.max_bbox_area * (1 + 2 * OVERLAY_PAD) ** 2)
        assert region is not None
        body = {"release": release.id, "lines": embed_lines(release, _mercator_safe(region))}
        headers = {"Cache-Control": cache(request), "Access-Control-Allow-Origin": "*"}
        return JSONResponse(body, headers=headers)

    return router
