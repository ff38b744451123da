"""Drawing maps with Pillow: the vendored font, the Web Mercator frame of an image, and the
release's basemap (land, lines and place labels with halos), as the PNG previews draw them.

Everything is drawn at ``SCALE``× and reduced at the end, so thin lines and text stay smooth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...i18n import Lang
from .assets import VENDOR_DIR
from .basemap import COUNTY_LINES_MINZOOM, Basemap, Place, polygons
from .style import CHINA, HALO_PX, LABELS, LAND, LINES, SEA

BBox = tuple[float, float, float, float]
SCALE = 2  # supersampling factor: drawn at 2×, reduced with a Lanczos filter
FONT_DIR = VENDOR_DIR / "noto-sans-sc"
FONT_FILE = "noto-sans-sc-chinese-simplified-{}-normal.woff2"
HALO = (255, 255, 255, 235)
LABEL_PAD = 3  # px around a label that no other label may enter
LABEL_BIAS = 1.0  # zooms of labels a preview draws beyond its own

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGBA = tuple[int, int, int, int]


# ---- fonts ---------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> Font:
    """The vendored Noto Sans SC (OFL; simplified Chinese and Latin) at ``size`` px, else
    Pillow's default font (a FreeType without WOFF2 support)."""
    try:
        return ImageFont.truetype(str(FONT_DIR / FONT_FILE.format(700 if bold else 400)), size)
    except OSError:
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
        """The Leaflet zoom that draws this extent at this size (256 px tiles, at 1×)."""
        return math.log2(self.width / SCALE / (256 * (self.x1 - self.x0)))

    @property
    def label_zoom(self) -> float:
        """The (MapLibre) zoom whose labels the frame draws: its own and one more, as a still
        picture cannot be zoomed into."""
        return self.zoom - 1 + LABEL_BIAS


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


# ---- basemap --------------------------------------------------------------------------------


def rgba(colour: str, alpha: int = 255) -> RGBA:
    """``#rrggbb`` → (r, g, b, alpha)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), alpha


def _ring(frame: Frame, coords: Any) -> list[tuple[float, float]]:
    points = np.asarray(coords, dtype=np.float64)
    px, py = frame.pixel(*mercator(points[:, 0], points[:, 1]))
    return list(zip(px.tolist(), py.tolist(), strict=True))


def draw_land(image: Image.Image, frame: Frame, base: Basemap) -> None:
    """The sea, then land and China over it (holes kept: each fill goes through a mask)."""
    box = (frame.left, frame.top, frame.left + frame.width, frame.top + frame.height)
    image.paste(rgba(SEA), box)
    colours = {"land": LAND, "country": CHINA}
    for kind, parts in base.fills:
        mask = Image.new("L", image.size, 0)
        pen = ImageDraw.Draw(mask)
        for polygon in polygons(parts):
            pen.polygon(_ring(frame, polygon.exterior.coords), fill=255)
            for hole in polygon.interiors:
                pen.polygon(_ring(frame, hole.coords), fill=0)
        image.paste(rgba(colours[kind]), (0, 0), mask)


def draw_lines(image: Image.Image, frame: Frame, base: Basemap) -> None:
    """County (from ``COUNTY_LINES_MINZOOM``), city, province, maritime and country lines, on
    a sheet of their own composited once, so overlapping lines do not darken."""
    sheet = Image.new("RGBA", image.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(sheet)
    for kind, points in base.lines:
        if kind == "counties" and frame.zoom - 1 < COUNTY_LINES_MINZOOM:  # MapLibre's zoom
            continue
        colour, width, _ = LINES[kind]
        pen.line(_ring(frame, points), fill=rgba(colour), width=max(1, round(width * SCALE)),
                 joint="curve")  # fmt: skip
    image.alpha_composite(sheet)


def label_font(place: Place) -> Font:
    size = LABELS.get(place.level, LABELS["city"])[1] + (1 if place.capital else 0)
    return font(round(size * SCALE), bold=bool(place.capital))


def draw_labels(image: Image.Image, frame: Frame, base: Basemap, lang: Lang) -> list[str]:
    """The names of the places labelled at the frame's ``label_zoom``, in ``lang``, with a
    white halo: higher levels first, none overlapping another or the frame's edge. Returns the
    names drawn."""
    pen = ImageDraw.Draw(image)
    halo = round(HALO_PX * SCALE)
    pad = LABEL_PAD * SCALE
    taken: list[tuple[float, float, float, float]] = []
    drawn: list[str] = []
    for place in base.labels(frame.label_zoom):
        name = place.name(lang)
        (x,), (y,) = frame.pixel(*mercator(np.array([place.lon]), np.array([place.lat])))
        face = label_font(place)
        left, top, right, bottom = pen.textbbox((x, y), name, font=face, anchor="mm",
                                                stroke_width=halo)  # fmt: skip
        box = (left - pad, top - pad, right + pad, bottom + pad)
        inside = (left >= frame.left and top >= frame.top
                  and right <= frame.left + frame.width and bottom <= frame.top + frame.height)
        if not inside or any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3]
                             and o[1] < box[3] for o in taken):  # fmt: skip
            continue
        taken.append(box)
        colour = LABELS.get(place.level, LABELS["city"])[0]
        pen.text((x, y), name, font=face, fill=rgba(colour), anchor="mm", stroke_width=halo,
                 stroke_fill=HALO)  # fmt: skip
        drawn.append(name)
    return drawn
