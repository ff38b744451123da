"""The embed builder's server side: a view described in words and rendered as a PNG.

``GET /api/embed/describe`` returns the title, alt text and counts of a view;
``GET /embed/preview.png`` draws it (the basemap: sea, land, the lines of the area and its
place names; the PM2.5 quarter in Web Mercator with the tiles' colour scale; the plants with the
web map's marker encoding; a legend, title, data date and every source's attribution) as the
fallback image of an embed. Both write in ``lang`` (``?lang=``, else ``Accept-Language``).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from cachetools import LRUCache
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image, ImageDraw, ImageFont

from ...i18n import format_period
from ...i18n import translate as _
from ...settings import Settings
from ...tiles.colormaps import class_rgba
from ...tiles.raster import quiet_affine
from ..api.routes import enterprise_mask
from ..deps import (
    NAME_PATTERN,
    PERIOD_PATTERN,
    EnterpriseFilter,
    LangDep,
    ReleaseDep,
    vary_language,
)
from ..errors import ERROR_RESPONSES
from ..releases.release import Release
from ..tiles.routes import etag_matches
from .basemap import read_basemap
from .canvas import (
    SCALE,
    Font,
    Frame,
    draw_labels,
    draw_land,
    draw_lines,
    fit_frame,
    font,
    mercator,
    rgba,
    text_width,
    wrap,
)
from .content import class_label, industry_shape
from .describe import (
    INDUSTRY_COLOURS,
    OTHER_COLOUR,
    ViewDescription,
    colormap_doc,
    data_date,
    describe_view,
    industry_name,
    raster_layer,
)
from .style import shape_points

RENDER_VERSION = "4"  # part of the ETag: bump when the drawing changes
INK = (34, 34, 34, 255)
MUTED = (85, 85, 85, 255)
WARN = (180, 30, 30, 255)
CITED = "#d7191c"
FLAG = "#5c0010"
UP = "#ff8c00"
HALO_ALPHA = round(0.55 * 255)
APPROX_ALPHA = round(0.25 * 255)
MAX_BASEMAP_TILES = 20  # the tiles of an 800×500 preview at its label zoom (larger: coarser)
MAX_PLANTS = 50_000
CACHE_SIZE = 32
PINNED_CACHE = "public, max-age=31536000, immutable"
UNPINNED_CACHE = "public, max-age=300"  # the current release may change

RGBA = tuple[int, int, int, int]


@dataclass(frozen=True)
class Rendered:
    """A drawn preview: the PNG, the map frame inside it (pixels at 1×), the labels drawn."""

    png: bytes
    frame: Frame
    labels: tuple[str, ...]


@dataclass
class ViewParams:
    """The raster layer and the PM2.5 period drawn and described."""

    layer: Annotated[
        str, Query(pattern=NAME_PATTERN, description="Raster layer: pm25 or pm25-cb.")
    ] = "pm25"
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="The PM2.5 of a month, quarter or "
                          "year (2019-01, 2019Q1, 2019); the plants show its quarter's facts "
                          "(a year's last) unless quarter is given.")
    ] = None


@dataclass
class PreviewParams:
    """Size of the image (pixels) and an optional title replacing the one written from data."""

    width: Annotated[int, Query(ge=240, le=1600, description="Image width, px.")] = 800
    height: Annotated[int, Query(ge=180, le=1200, description="Image height, px.")] = 500
    title: Annotated[str | None, Query(min_length=1, max_length=120)] = None


# ---- layers ---------------------------------------------------------------------------------


def draw_raster(image: Image.Image, frame: Frame, path: Path, classes: Sequence[Any]) -> bool:
    """The quarter's PM2.5 read in Web Mercator at the frame's size (from the COG's overviews)."""
    from rio_tiler.constants import WEB_MERCATOR_CRS, WGS84_CRS
    from rio_tiler.errors import RioTilerError
    from rio_tiler.io import Reader

    width, height = max(1, frame.width // SCALE), max(1, frame.height // SCALE)
    try:
        quiet_affine()
        with Reader(str(path)) as cog:
            data = cog.part(
                frame.bounds, dst_crs=WEB_MERCATOR_CRS, bounds_crs=WGS84_CRS, indexes=1,
                width=width, height=height, resampling_method="nearest",
                reproject_method="nearest",
            )  # fmt: skip
    except RioTilerError:
        return False
    values = np.ma.masked_invalid(data.array[0].astype(np.float64))
    rgba = class_rgba(values.filled(np.nan), classes)
    layer = Image.fromarray(rgba).resize((frame.width, frame.height), Image.Resampling.NEAREST)
    image.alpha_composite(layer, (frame.left, frame.top))
    return True


def _interp(zoom: float, low: float, high: float) -> float:
    """markers.js: ["interpolate", ["linear"], ["zoom"], 3, low, 10, high]."""
    t = min(max((zoom - 3) / 7, 0.0), 1.0)
    return low + (high - low) * t


def draw_symbol(pen: ImageDraw.ImageDraw, shape: str, x: float, y: float, size: float,
                fill: RGBA, ring: RGBA, width: float) -> None:  # fmt: skip
    """``shape`` (style.SHAPE_CORNERS) centred at (x, y), its circle's radius ``size`` px, in
    ``fill`` inside a ring of ``width`` px around it (GL draws an icon's halo outside it)."""
    for grow, ink in ((width, ring), (0.0, fill)):  # the fill replaces the ring's inside
        points = shape_points(shape, x, y, size, grow)
        if points:
            pen.polygon(points, fill=ink)
        else:
            r = size + grow
            pen.ellipse((x - r, y - r, x + r, y + r), fill=ink)


def plant_styles(release: Release, quarter: str, index: np.ndarray) -> dict[str, np.ndarray]:
    """cited / up / flag / approx / records per plant of ``index`` in ``quarter``."""
    row = release.timeline.index(quarter)
    records = release.records
    cited = records.violations_12m[row][index] > 0
    up = records.output_up[row][index]
    features = release.enterprises.features
    approx = np.array(
        [
            features[int(i)]["properties"].get("geocode_precision") != "point"
            or features[int(i)]["properties"].get("coordinate_accuracy") == "approximate"
            for i in index
        ],
        dtype=bool,
    )
    return {"cited": cited, "up": up, "flag": cited & up, "approx": approx,
            "records": records.counts[index] > 0}  # fmt: skip


def draw_plants(
    image: Image.Image,
    frame: Frame,
    release: Release,
    view: ViewDescription,
    filters: EnterpriseFilter,
) -> None:
    """Plants matching the filters inside the frame, styled as in web/static/markers.js."""
    drawn = replace(filters, bbox=None, quarter=view.quarter)
    mask = enterprise_mask(release, drawn, float("inf"))
    west, south, east, north = frame.bounds
    data = release.enterprises
    mask &= (data.lon >= west) & (data.lon <= east) & (data.lat >= south) & (data.lat <= north)
    index = np.flatnonzero(mask)[:MAX_PLANTS]
    if index.size == 0:
        return
    style = plant_styles(release, view.quarter, index)
    px, py = frame.pixel(*mercator(data.lon[index], data.lat[index]))
    radius = _interp(frame.zoom, 4, 8) * SCALE
    halo = _interp(frame.zoom, 9, 15) * SCALE
    order = np.argsort(style["records"], kind="stable")  # plants with records on top
    halos = Image.new("RGBA", image.size, (0, 0, 0, 0))
    marks = Image.new("RGBA", image.size, (0, 0, 0, 0))
    halo_pen, mark_pen = ImageDraw.Draw(halos), ImageDraw.Draw(marks)
    for k in order:
        x, y = float(px[k]), float(py[k])
        industry = str(data.industry[index[k]])
        fill = INDUSTRY_COLOURS.get(industry, OTHER_COLOUR)
        if style["up"][k] or style["flag"][k]:
            outline = rgba(FLAG) if style["flag"][k] else None
            halo_pen.ellipse(
                (x - halo, y - halo, x + halo, y + halo), fill=rgba(UP, HALO_ALPHA),
                outline=outline, width=round(2.5 * SCALE) if outline else 0,
            )  # fmt: skip
        if style["flag"][k]:
            stroke, width = rgba(FLAG), 3.5
        elif style["cited"][k]:
            stroke, width = rgba(CITED), 2.5
        elif style["approx"][k]:
            stroke, width = rgba(fill), 2.0
        else:
            stroke, width = (255, 255, 255, 255), 1.2
        inner = rgba(fill, APPROX_ALPHA if style["approx"][k] else 255)
        draw_symbol(mark_pen, industry_shape(industry), x, y, radius, inner, stroke,
                    width * SCALE)  # fmt: skip
    image.alpha_composite(halos)
    image.alpha_composite(marks)


# ---- legend, title, attribution ------------------------------------------------------------


def _line_height(face: Font) -> int:
    size = face.size if isinstance(face, ImageFont.FreeTypeFont) else 11 * SCALE
    return round(size * 1.3)


class Layout:
    """Draws text and legends top-down in a column; with ``pen=None`` only measures."""

    def __init__(self, pen: ImageDraw.ImageDraw | None, left: int, width: int, y: float) -> None:
        self.pen, self.left, self.width = pen, left, width
        self.y: float = y

    def text(self, text: str, face: Font, fill: RGBA, gap: int = 2) -> None:
        line_height = _line_height(face)
        for line in wrap(text, face, self.width):
            if self.pen is not None:
                self.pen.text((self.left, self.y), line, font=face, fill=fill)
            self.y += line_height
        self.y += gap * SCALE

    def scale(self, classes: Sequence[Mapping[str, Any]], label: str, face: Font,
              enabled: bool) -> None:  # fmt: skip
        label_w = text_width(label, face) + 8 * SCALE
        swatch_h = 10 * SCALE
        line_height = _line_height(face)
        avail = self.width - label_w
        step = min(48 * SCALE, avail / len(classes))
        x0 = self.left + label_w
        if step < 24 * SCALE:  # too narrow: the label on a line of its own
            if self.pen is not None:
                self.pen.text((self.left, self.y), label, font=face, fill=INK)
            self.y += line_height
            step, x0 = min(48 * SCALE, self.width / len(classes)), self.left
        elif self.pen is not None:
            self.pen.text((self.left, self.y), label, font=face, fill=INK)
        if self.pen is not None:
            for i, cls in enumerate(classes):
                x = x0 + i * step
                colour = tuple(cls["rgba"]) if enabled else (200, 200, 200, 255)
                self.pen.rectangle((x, self.y, x + step - SCALE, self.y + swatch_h),
                                   fill=colour, outline=(0, 0, 0, 90))  # fmt: skip
                label_text = class_label(cls, i == len(classes) - 1)
                self.pen.text((x, self.y + swatch_h + SCALE), label_text, font=face, fill=MUTED)
        self.y += swatch_h + SCALE + line_height + 2 * SCALE

    def markers(self, items: Sequence[tuple[str, str, str]], face: Font) -> None:
        """Flow of (kind, shape, label) marker keys; kind: an industry colour, cited, up,
        flag."""
        line_height = max(_line_height(face), 16 * SCALE)
        x: float = self.left
        r = 5 * SCALE
        for kind, shape, label in items:
            w = 2 * r + 10 * SCALE + text_width(label, face) + 12 * SCALE
            if x + w > self.left + self.width and x > self.left:
                x, self.y = self.left, self.y + line_height
            if self.pen is not None:
                cx, cy = x + r + 4 * SCALE, self.y + line_height / 2
                fill = INDUSTRY_COLOURS["steel"] if kind in ("cited", "up", "flag") else kind
                if kind in ("up", "flag"):
                    h = r + 4 * SCALE
                    self.pen.ellipse((cx - h, cy - h, cx + h, cy + h), fill=rgba(UP, 200),
                                     outline=rgba(FLAG) if kind == "flag" else None,
                                     width=2 * SCALE if kind == "flag" else 0)  # fmt: skip
                stroke = {"cited": CITED, "flag": FLAG}.get(kind, "#ffffff")
                width = {"cited": 2.5, "flag": 3.0}.get(kind, 1.2) * SCALE
                draw_symbol(self.pen, shape, cx, cy, r - width, rgba(fill), rgba(stroke), width)
                self.pen.text((cx + r + 6 * SCALE, cy), label, font=face, fill=INK, anchor="lm")
            x += w
        self.y += line_height + 2 * SCALE


def render_preview(
    release: Release,
    view: ViewDescription,
    filters: EnterpriseFilter,
    width: int,
    height: int,
    title: str | None = None,
) -> Rendered:
    """The PNG of a view in the view's language."""
    lang = view.lang
    W, H = width * SCALE, height * SCALE
    pad = 8 * SCALE
    title_face = font(15 * SCALE, bold=True)
    text_face = font(11 * SCALE)
    small_face = font(10 * SCALE)
    classes = list(colormap_doc(release, view.colormap)["classes"])
    sources = _(lang, "preview.sources_sep").join(
        str(s.get("attribution") or s.get("title")) for s in release.sources)
    industries = [k for k in view.industries if k] or list(INDUSTRY_COLOURS)
    keys = [(INDUSTRY_COLOURS.get(k, OTHER_COLOUR), industry_shape(k), industry_name(lang, k))
            for k in industries]  # fmt: skip
    keys += [(kind, "circle", _(lang, f"preview.key.{kind}")) for kind in ("cited", "up", "flag")]
    subtitle = data_date(release, view.period, lang, view.quarter)
    if view.synthetic:
        subtitle = _(lang, "preview.synthetic", subtitle=subtitle)
    period = format_period(lang, view.period)

    def header(layout: Layout) -> None:
        layout.text(title or view.title, title_face, INK, gap=0)
        layout.text(subtitle, small_face, WARN if view.synthetic else MUTED, gap=0)

    def footer(layout: Layout) -> None:
        label = (_(lang, "preview.scale") if view.has_grid
                 else _(lang, "preview.scale_no_grid", period=period))  # fmt: skip
        layout.scale(classes, label, small_face, view.has_grid)
        layout.markers(keys, small_face)
        layout.text(_(lang, "preview.sources", sources=sources), small_face, MUTED, gap=0)

    measure = Layout(None, pad, W - 2 * pad, pad)
    header(measure)
    head_h = math.ceil(measure.y) + pad // 2
    measure = Layout(None, pad, W - 2 * pad, 0)
    footer(measure)
    foot_h = math.ceil(measure.y) + pad
    map_h = max(H - head_h - foot_h, 40 * SCALE)

    image = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    frame = fit_frame(view.bbox, 0, head_h, W, map_h)
    # Tiles of the zoom whose labels are drawn: they hold those places.
    base = read_basemap(release, frame.bounds, MAX_BASEMAP_TILES,
                        max_zoom=max(0, math.floor(frame.label_zoom)))  # fmt: skip
    draw_land(image, frame, base)
    if view.has_grid:
        draw_raster(image, frame, release.pm25_cog(view.period), classes)
    draw_lines(image, frame, base)
    draw_plants(image, frame, release, view, filters)
    labels = draw_labels(image, frame, base, lang)  # a still picture: names over the plants
    pen = ImageDraw.Draw(image)
    if not view.has_grid:
        note = _(lang, "preview.no_grid", period=period)
        cx, cy = W / 2, head_h + 18 * SCALE
        box = pen.textbbox((cx, cy), note, font=text_face, anchor="mm")
        pen.rectangle((box[0] - pad, box[1] - pad // 2, box[2] + pad, box[3] + pad // 2),
                      fill=(255, 255, 255, 230))  # fmt: skip
        pen.text((cx, cy), note, font=text_face, fill=INK, anchor="mm")
    # the header and footer cover whatever was drawn beyond the map area
    pen.rectangle((0, 0, W, head_h - 1), fill=(255, 255, 255, 255))
    pen.rectangle((0, head_h + map_h, W, H), fill=(255, 255, 255, 255))
    header(Layout(pen, pad, W - 2 * pad, pad))
    footer(Layout(pen, pad, W - 2 * pad, head_h + map_h + pad // 2))

    final = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    out = BytesIO()
    final.save(out, format="PNG")
    at_1x = Frame(frame.x0, frame.y0, frame.x1, frame.y1, 0, head_h // SCALE, width,
                  map_h // SCALE)  # fmt: skip
    return Rendered(out.getvalue(), at_1x, tuple(labels))


# ---- routes ---------------------------------------------------------------------------------


def preview_etag(release: Release, *parts: Any) -> str:
    """The image is determined by the release id, the parameters and the drawing code."""
    key = json.dumps([RENDER_VERSION, release.id, *parts], sort_keys=True, ensure_ascii=False)
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'


def preview_router(settings: Settings) -> APIRouter:
    """Routes ``/api/embed/describe`` and ``/embed/preview.png``."""
    router = APIRouter(tags=["embed"], responses=ERROR_RESPONSES)
    # A few recently rendered images by ETag (embeds ask for the same image many times).
    cache: LRUCache[str, tuple[bytes, dict[str, str]]] = LRUCache(CACHE_SIZE)
    lock = threading.Lock()  # cachetools caches are not thread-safe

    @router.get("/api/embed/describe")
    def describe(
        release: ReleaseDep,
        request: Request,
        filters: Annotated[EnterpriseFilter, Depends()],
        params: Annotated[ViewParams, Depends()],
        lang: LangDep,
    ) -> Response:
        """Title, alt text (written from the data, in ``lang``) and counts of a map view.

        ``period`` (a month, quarter or year) is the PM2.5 described, the plants those of its
        quarter unless ``quarter`` is given; without either the map's default quarter is
        described; without ``bbox`` every matching plant is counted and the extent is theirs."""
        view = describe_view(release, filters, params.layer, settings.max_bbox_area_deg2, lang,
                             params.period)  # fmt: skip
        return JSONResponse(view.to_json(), headers=vary_language(request))

    @router.get(
        "/embed/preview.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 304: {}},
    )
    def preview(
        release: ReleaseDep,
        filters: Annotated[EnterpriseFilter, Depends()],
        params: Annotated[ViewParams, Depends()],
        size: Annotated[PreviewParams, Depends()],
        request: Request,
        lang: LangDep,
    ) -> Response:
        """The view as a PNG: the fallback image of an embed (ETag; pinned URLs are immutable).

        Without ``bbox`` the extent of the matching plants is drawn."""
        raster_layer(release, params.layer)  # 422 before anything is read
        pinned = "release" in request.query_params
        etag = preview_etag(release, asdict(filters), asdict(params), asdict(size), lang)
        headers = {
            "ETag": etag,
            "Cache-Control": PINNED_CACHE if pinned else UNPINNED_CACHE,
        } | vary_language(request)
        with lock:
            cached = cache.get(etag)
        if cached is not None:
            headers |= cached[1]
            if etag_matches(request.headers.get("if-none-match"), etag):
                return Response(status_code=304, headers=headers)
            return Response(cached[0], media_type="image/png", headers=headers)
        view = describe_view(release, filters, params.layer, settings.max_bbox_area_deg2, lang,
                             params.period)  # fmt: skip
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        drawn = render_preview(release, view, filters, size.width, size.height, size.title)
        png, frame = drawn.png, drawn.frame
        extra = {
            "X-Map-Bounds": ",".join(f"{v:.6f}" for v in frame.bounds),
            "X-Map-Frame": f"{frame.left},{frame.top},{frame.width},{frame.height}",
            "X-Release": release.id,
            "X-Quarter": view.quarter,
            "X-Period": view.period,
            "Content-Language": lang,
        }
        with lock:
            cache[etag] = (png, extra)
        return Response(png, media_type="image/png", headers=headers | extra)

    return router
