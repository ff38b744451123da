"""The embed builder's server side: a view described in words and rendered as a PNG.

``GET /api/embed/describe`` returns the title, alt text and counts of a view;
``GET /embed/preview.png`` draws it (PM2.5 quarter in Web Mercator with the tiles' colour
scale, province and city boundaries, the plants with the web map's marker encoding, a legend,
title, data date and every source's attribution) as the fallback image of an embed.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from cachetools import LRUCache
from fastapi import APIRouter, Depends, Query, Request, Response
from PIL import Image, ImageDraw, ImageFont

from ...settings import Settings
from ...tiles.colormaps import class_rgba
from ..api.routes import enterprise_mask
from ..deps import NAME_PATTERN, EnterpriseFilter, ReleaseDep
from ..errors import ERROR_RESPONSES
from ..releases.release import Release
from ..tiles.routes import etag_matches
from .boundaries import boundary_lines
from .describe import (
    INDUSTRY_COLOURS,
    OTHER_COLOUR,
    BBox,
    ViewDescription,
    colormap_doc,
    describe_view,
    quarter_label,
    quarter_month_span,
    raster_layer,
    release_stamp,
)

RENDER_VERSION = "2"  # part of the ETag: bump when the drawing changes
SCALE = 2  # supersampling factor: drawn at 2×, reduced with a Lanczos filter
BACKGROUND = (223, 230, 234, 255)  # the web map's background, #dfe6ea
INK = (34, 34, 34, 255)
MUTED = (85, 85, 85, 255)
WARN = (180, 30, 30, 255)
CITED = "#d7191c"
FLAG = "#5c0010"
UP = "#ff8c00"
HALO_ALPHA = round(0.55 * 255)
APPROX_ALPHA = round(0.25 * 255)
MAX_BOUNDARY_TILES = 16
MAX_PLANTS = 50_000
CACHE_SIZE = 32
PINNED_CACHE = "public, max-age=31536000, immutable"
UNPINNED_CACHE = "public, max-age=300"  # the current release may change
FONT_PATHS = {
    False: ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    True: ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
           "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"),
}  # fmt: skip

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGBA = tuple[int, int, int, int]


@dataclass
class ViewParams:
    """The raster layer drawn and described."""

    layer: Annotated[
        str, Query(pattern=NAME_PATTERN, description="Raster layer: pm25 or pm25-cb.")
    ] = "pm25"


@dataclass
class PreviewParams:
    """Size of the image (pixels) and an optional title replacing the one written from data."""

    width: Annotated[int, Query(ge=240, le=1600, description="Image width, px.")] = 800
    height: Annotated[int, Query(ge=180, le=1200, description="Image height, px.")] = 500
    title: Annotated[str | None, Query(min_length=1, max_length=120)] = None


# ---- fonts ---------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def cjk_font_file(bold: bool) -> tuple[str, int] | None:
    """(path, face index) of Noto Sans CJK SC, from known paths or ``fc-match``; None if absent."""
    candidates = [Path(p) for p in FONT_PATHS[bold]]
    fc_match = shutil.which("fc-match")
    if fc_match:
        style = "Bold" if bold else "Regular"
        try:
            found = subprocess.run(
                [fc_match, "-f", "%{file}", f"Noto Sans CJK SC:style={style}"],
                capture_output=True, text=True, timeout=5, check=False,
            ).stdout.strip()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            found = ""
        if "CJK" in found:
            candidates.append(Path(found))
    for path in candidates:
        if not path.is_file():
            continue
        for index in range(8):
            try:
                name = ImageFont.truetype(str(path), 12, index=index).getname()[0] or ""
            except OSError:
                break
            if name.endswith(" SC"):
                return str(path), index
        return str(path), 0
    return None


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> Font:
    """Noto Sans CJK SC at ``size`` px when installed, else Pillow's default font."""
    found = cjk_font_file(bold) or cjk_font_file(False)
    if found is not None:
        return ImageFont.truetype(found[0], size, index=found[1])
    return ImageFont.load_default(size)


def text_width(text: str, face: Font) -> float:
    return float(face.getlength(text))


def wrap(text: str, face: Font, width: float) -> list[str]:
    """Greedy word wrap; words longer than a line are broken by characters (CJK too)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, face) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if text_width(line + char, face) > width and line:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return lines


# ---- projection ----------------------------------------------------------------------------


def mercator(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Normalised Web Mercator: x, y in [0, 1], y down."""
    lat = np.clip(lat, -85.0511, 85.0511)
    x = (np.asarray(lon) + 180.0) / 360.0
    y = (1 - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) / np.pi) / 2
    return x, y


def inverse_lat(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


@dataclass(frozen=True)
class Frame:
    """The map area: normalised Mercator extent drawn into a pixel rectangle."""

    x0: float
    y0: float
    x1: float
    y1: float
    left: int
    top: int
    width: int
    height: int

    @property
    def bounds(self) -> BBox:
        """WGS-84 (west, south, east, north) of the frame."""
        return (
            self.x0 * 360 - 180,
            inverse_lat(self.y1),
            self.x1 * 360 - 180,
            inverse_lat(self.y0),
        )

    def pixel(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Normalised Mercator → image pixels."""
        px = self.left + (np.asarray(x) - self.x0) / (self.x1 - self.x0) * self.width
        py = self.top + (np.asarray(y) - self.y0) / (self.y1 - self.y0) * self.height
        return px, py

    @property
    def zoom(self) -> float:
        """The web map zoom that draws this extent at this size (256 px tiles, at 1×)."""
        return math.log2(self.width / SCALE / (256 * (self.x1 - self.x0)))


def fit_frame(bbox: BBox, left: int, top: int, width: int, height: int) -> Frame:
    """The Mercator extent around ``bbox`` with the aspect ratio of the pixel rectangle."""
    west, south, east, north = bbox
    (x0, x1), (y1, y0) = mercator(np.array([west, east]), np.array([south, north]))
    x0, x1, y0, y1 = float(x0), float(x1), float(y0), float(y1)
    span_x, span_y = x1 - x0, y1 - y0
    aspect = width / height
    if span_x / span_y < aspect:
        grow = (span_y * aspect - span_x) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = (span_x / aspect - span_y) / 2
        y0, y1 = y0 - grow, y1 + grow
    if x0 < 0 or x1 > 1:  # wider than the world: keep it, centred
        shift = -x0 if x0 < 0 else 1 - x1
        x0, x1 = max(0.0, x0 + shift), min(1.0, x1 + shift)
    lo, hi = float(mercator(0, 85.0511)[1]), float(mercator(0, -85.0511)[1])
    if y0 < lo:
        y0, y1 = lo, min(hi, y1 + lo - y0)
    if y1 > hi:
        y0, y1 = max(lo, y0 - (y1 - hi)), hi
    return Frame(x0, y0, x1, y1, left, top, width, height)


# ---- layers ---------------------------------------------------------------------------------


def draw_raster(image: Image.Image, frame: Frame, path: Path, classes: Sequence[Any]) -> bool:
    """The quarter's PM2.5 read in Web Mercator at the frame's size (from the COG's overviews)."""
    from rio_tiler.constants import WEB_MERCATOR_CRS, WGS84_CRS
    from rio_tiler.errors import RioTilerError
    from rio_tiler.io import Reader

    width, height = max(1, frame.width // SCALE), max(1, frame.height // SCALE)
    try:
        with Reader(str(path)) as cog, warnings.catch_warnings():
            # rio-tiler 9 still multiplies Affine by tuples with `*`; affine 3 flags that.
            warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
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


BOUNDARY_STYLES = {"cities": ((85, 85, 85, 200), 0.6), "provinces": ((51, 51, 51, 255), 1.3)}


def draw_boundaries(image: Image.Image, frame: Frame, release: Release) -> bool:
    """Province and city lines from the release's boundary vector tiles (as the web map), read
    at the frame's zoom or coarser (at most MAX_BOUNDARY_TILES tiles)."""
    lines = boundary_lines(
        release, frame.bounds, MAX_BOUNDARY_TILES, max_zoom=math.ceil(frame.zoom)
    )
    if not lines:
        return False
    # Drawn on a layer of their own and composited once, so overlapping lines do not darken.
    sheet = Image.new("RGBA", image.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(sheet)
    for kind, points in lines:
        colour, width = BOUNDARY_STYLES[kind]
        px, py = frame.pixel(*mercator(points[:, 0], points[:, 1]))
        pen.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=colour,
                 width=max(1, round(width * SCALE)), joint="curve")  # fmt: skip
    image.alpha_composite(sheet)
    return True


def _rgb(colour: str, alpha: int = 255) -> RGBA:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), alpha


def _interp(zoom: float, low: float, high: float) -> float:
    """markers.js: ["interpolate", ["linear"], ["zoom"], 3, low, 10, high]."""
    t = min(max((zoom - 3) / 7, 0.0), 1.0)
    return low + (high - low) * t


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
            outline = _rgb(FLAG) if style["flag"][k] else None
            halo_pen.ellipse(
                (x - halo, y - halo, x + halo, y + halo), fill=_rgb(UP, HALO_ALPHA),
                outline=outline, width=round(2.5 * SCALE) if outline else 0,
            )  # fmt: skip
        if style["flag"][k]:
            stroke, width = _rgb(FLAG), 3.5
        elif style["cited"][k]:
            stroke, width = _rgb(CITED), 2.5
        elif style["approx"][k]:
            stroke, width = _rgb(fill), 2.0
        else:
            stroke, width = (255, 255, 255, 255), 1.2
        inner = _rgb(fill, APPROX_ALPHA if style["approx"][k] else 255)
        outer = radius + width * SCALE  # GL strokes lie outside the radius
        mark_pen.ellipse(
            (x - outer, y - outer, x + outer, y + outer), fill=inner, outline=stroke,
            width=max(1, round(width * SCALE)),
        )  # fmt: skip
    image.alpha_composite(halos)
    image.alpha_composite(marks)


# ---- legend, title, attribution ------------------------------------------------------------


def _class_label(cls: Mapping[str, Any], last: bool) -> str:
    lower = float(cls["lower"])
    text = f"{lower:g}"
    return f"≥{text}" if last else text


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
                label_text = _class_label(cls, i == len(classes) - 1)
                self.pen.text((x, self.y + swatch_h + SCALE), label_text, font=face, fill=MUTED)
        self.y += swatch_h + SCALE + line_height + 2 * SCALE

    def markers(self, items: Sequence[tuple[str, str]], face: Font) -> None:
        """Flow of (kind, label) marker keys; kind: an industry colour, cited, up, flag."""
        line_height = max(_line_height(face), 16 * SCALE)
        x: float = self.left
        r = 5 * SCALE
        for kind, label in items:
            w = 2 * r + 10 * SCALE + text_width(label, face) + 12 * SCALE
            if x + w > self.left + self.width and x > self.left:
                x, self.y = self.left, self.y + line_height
            if self.pen is not None:
                cx, cy = x + r + 4 * SCALE, self.y + line_height / 2
                fill = INDUSTRY_COLOURS["steel"] if kind in ("cited", "up", "flag") else kind
                if kind in ("up", "flag"):
                    h = r + 4 * SCALE
                    self.pen.ellipse((cx - h, cy - h, cx + h, cy + h), fill=_rgb(UP, 200),
                                     outline=_rgb(FLAG) if kind == "flag" else None,
                                     width=2 * SCALE if kind == "flag" else 0)  # fmt: skip
                stroke = {"cited": CITED, "flag": FLAG}.get(kind, "#ffffff")
                width = {"cited": 2.5, "flag": 3.0}.get(kind, 1.2)
                self.pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_rgb(fill),
                                 outline=_rgb(stroke), width=round(width * SCALE))  # fmt: skip
                self.pen.text((cx + r + 6 * SCALE, cy), label, font=face, fill=INK, anchor="lm")
            x += w
        self.y += line_height + 2 * SCALE


def data_date(release: Release, quarter: str) -> str:
    """``Jan–Mar 2019 · release r-…, built 2026-11-23``."""
    text = f"{quarter_month_span(quarter)} {quarter.partition('Q')[0]}".strip()
    return f"{text} · {release_stamp(release)}"


def render_preview(
    release: Release,
    view: ViewDescription,
    filters: EnterpriseFilter,
    width: int,
    height: int,
    title: str | None = None,
) -> tuple[bytes, Frame]:
    """The PNG of a view and the map frame inside it (pixels at 1×)."""
    W, H = width * SCALE, height * SCALE
    pad = 8 * SCALE
    title_face = font(15 * SCALE, bold=True)
    text_face = font(11 * SCALE)
    small_face = font(10 * SCALE)
    classes = list(colormap_doc(release, view.colormap)["classes"])
    sources = " · ".join(str(s.get("attribution") or s.get("title")) for s in release.sources)
    industries = [k for k in view.industries if k] or list(INDUSTRY_COLOURS)
    keys = [(INDUSTRY_COLOURS.get(k, OTHER_COLOUR), k.replace("_", " ")) for k in industries]
    keys += [("cited", "cited (12 months)"), ("up", "output up"), ("flag", "cited + output up")]
    subtitle = data_date(release, view.quarter)
    if view.synthetic:
        subtitle = f"SYNTHETIC DATA · {subtitle}"

    def header(layout: Layout) -> None:
        layout.text(title or view.title, title_face, INK, gap=0)
        layout.text(subtitle, small_face, WARN if view.synthetic else MUTED, gap=0)

    def footer(layout: Layout) -> None:
        label = "PM2.5 µg/m³" if view.has_grid else f"PM2.5 µg/m³ (no grid for {view.quarter})"
        layout.scale(classes, label, small_face, view.has_grid)
        layout.markers(keys, small_face)
        layout.text(f"Sources: {sources}", small_face, MUTED, gap=0)

    measure = Layout(None, pad, W - 2 * pad, pad)
    header(measure)
    head_h = math.ceil(measure.y) + pad // 2
    measure = Layout(None, pad, W - 2 * pad, 0)
    footer(measure)
    foot_h = math.ceil(measure.y) + pad
    map_h = max(H - head_h - foot_h, 40 * SCALE)

    image = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    pen = ImageDraw.Draw(image)
    frame = fit_frame(view.bbox, 0, head_h, W, map_h)
    pen.rectangle((0, head_h, W, head_h + map_h), fill=BACKGROUND)
    if view.has_grid:
        draw_raster(image, frame, release.pm25_cog(view.quarter), classes)
    draw_boundaries(image, frame, release)
    draw_plants(image, frame, release, view, filters)
    pen = ImageDraw.Draw(image)
    if not view.has_grid:
        note = f"No PM2.5 grid for {quarter_label(view.quarter)}"
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
    return out.getvalue(), at_1x


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
        filters: Annotated[EnterpriseFilter, Depends()],
        params: Annotated[ViewParams, Depends()],
    ) -> dict[str, Any]:
        """Title, alt text (written from the data) and counts of a map view.

        Without ``quarter`` the map's default quarter is described; without ``bbox`` every
        matching plant is counted and the extent is theirs."""
        view = describe_view(release, filters, params.layer, settings.max_bbox_area_deg2)
        return view.to_json()

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
    ) -> Response:
        """The view as a PNG: the fallback image of an embed (ETag; pinned URLs are immutable).

        Without ``bbox`` the extent of the matching plants is drawn."""
        raster_layer(release, params.layer)  # 422 before anything is read
        pinned = "release" in request.query_params
        etag = preview_etag(release, asdict(filters), asdict(params), asdict(size))
        headers = {
            "ETag": etag,
            "Cache-Control": PINNED_CACHE if pinned else UNPINNED_CACHE,
        }
        with lock:
            cached = cache.get(etag)
        if cached is not None:
            headers |= cached[1]
            if etag_matches(request.headers.get("if-none-match"), etag):
                return Response(status_code=304, headers=headers)
            return Response(cached[0], media_type="image/png", headers=headers)
        view = describe_view(release, filters, params.layer, settings.max_bbox_area_deg2)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        png, frame = render_preview(release, view, filters, size.width, size.height, size.title)
        extra = {
            "X-Map-Bounds": ",".join(f"{v:.6f}" for v in frame.bounds),
            "X-Map-Frame": f"{frame.left},{frame.top},{frame.width},{frame.height}",
            "X-Release": release.id,
            "X-Quarter": view.quarter,
        }
        with lock:
            cache[etag] = (png, extra)
        return Response(png, media_type="image/png", headers=headers | extra)

    return router
