"""How the embeds and previews draw the basemap: one palette, and the MapLibre style of the
linked embeds (drawn inside Leaflet by ``@maplibre/maplibre-gl-leaflet``); and the shapes of the
plants' symbols.

A calm, light basemap lets the PM2.5 colours lead: sea, land, China a shade lighter; the PM2.5
layer over the land; the lines of counties, cities, provinces and the country, the maritime
line and the place names above it, names with a white halo. The style has no ``glyphs`` URL:
MapLibre draws the labels with the page's fonts (the vendored Noto Sans SC, then the system's).
"""

from __future__ import annotations

import math
from typing import Any

from ...i18n import Lang
from ..releases.release import LayerInfo, Release
from .basemap import COUNTY_LINES_MINZOOM, LABEL_MINZOOM, LAYER

SEA = "#dbe6ee"
LAND = "#ecece8"  # neighbouring countries
CHINA = "#fafaf8"
# kind: (colour, width in CSS px, dash)
LINES: dict[str, tuple[str, float, tuple[float, ...]]] = {
    "counties": ("#b9b9b9", 0.5, ()),
    "cities": ("#8f8f8f", 0.7, ()),
    "provinces": ("#5f5f5f", 1.1, ()),
    "maritime": ("#5b7fa3", 1.0, (4.0, 2.0)),
    "country": ("#3f3f3f", 1.4, ()),
}
# level: (colour, size in CSS px); capitals one px larger.
LABELS: dict[str, tuple[str, float]] = {
    "country": ("#333333", 15.0),
    "province": ("#5a5a5a", 13.0),
    "city": ("#222222", 12.0),
    "county": ("#444444", 10.5),
}
HALO = "rgba(255, 255, 255, 0.92)"
HALO_PX = 1.6
FONTS = ["Noto Sans SC", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"]
FONT_STACK = ", ".join(f'"{f}"' if " " in f else f for f in FONTS)
RASTER_OPACITY = 0.75  # as the web map

Point = tuple[float, float]


def _regular(sides: int, radius: float, turn: float, shift: float = 0.0) -> tuple[Point, ...]:
    step = 2 * math.pi / sides
    return tuple((radius * math.cos(turn + k * step), shift + radius * math.sin(turn + k * step))
                 for k in range(sides))  # fmt: skip


# The plant symbols of web/static/markers.js (y down) in units of the circle's radius, as the
# corners of each shape around the symbol's centre (a circle has none); the areas are about
# equal: a square 1.75 wide, a triangle of circumradius 1.5625 centred on its height (its
# centroid a sixth of the height below the middle), a hexagon of apothem 0.95.
SHAPE_CORNERS: dict[str, tuple[Point, ...]] = {
    "circle": (),
    "square": _regular(4, 0.875 * math.sqrt(2), math.pi / 4),
    "triangle": _regular(3, 1.5625, -math.pi / 2, 1.5625 / 4),
    "hexagon": _regular(6, 0.95 / math.cos(math.pi / 6), 0.0),
}


def shape_points(shape: str, x: float, y: float, size: float, grow: float = 0.0) -> list[Point]:
    """The corners of ``shape`` centred at (x, y), its circle's radius ``size``, every edge
    moved ``grow`` outwards; empty for a circle (radius ``size + grow``)."""
    corners = SHAPE_CORNERS[shape]
    if not corners:
        return []
    cx = sum(p[0] for p in corners) / len(corners)
    cy = sum(p[1] for p in corners) / len(corners)
    apothem = math.dist(corners[0], (cx, cy)) * math.cos(math.pi / len(corners)) * size
    k = (apothem + grow) / apothem * size
    return [(x + cx * size + k * (px - cx), y + cy * size + k * (py - cy)) for px, py in corners]


def _name(lang: Lang) -> list[Any]:
    """The feature's name in ``lang``, else in the other language."""
    first, second = ("name_zh", "name_en") if lang == "zh" else ("name_en", "name_zh")
    return ["case", [">", ["length", ["to-string", ["get", first]]], 0],
            ["get", first], ["get", second]]  # fmt: skip


def _labels(lang: Lang, level: str, minzoom: float, capital: list[Any] | None) -> dict[str, Any]:
    colour, size = LABELS[level]
    where: list[Any] = ["==", ["get", "level"], level]
    if capital is not None:
        where = ["all", where, capital]
    big = ["step", ["to-number", ["get", "capital"], 0], size, 1, size + 1]
    return {
        "id": f"places-{level}-{minzoom:g}",
        "type": "symbol",
        "source": "basemap",
        "source-layer": "places",
        "minzoom": minzoom,
        "filter": where,
        "layout": {
            "text-field": _name(lang),
            "text-font": FONTS,
            "text-size": big,
            "text-max-width": 8,
            "text-padding": 3,
            "symbol-sort-key": ["-", 0, ["to-number", ["get", "capital"], 0]],
        },
        "paint": {"text-color": colour, "text-halo-color": HALO, "text-halo-width": HALO_PX},
    }


def _line(kind: str, minzoom: float = 0) -> dict[str, Any]:
    colour, width, dash = LINES[kind]
    layer: dict[str, Any] = {
        "id": f"{kind}-line",
        "type": "line",
        "source": "basemap",
        "source-layer": kind,
        "minzoom": minzoom,
        "layout": {"line-join": "round"},
        "paint": {"line-color": colour, "line-width": width},
    }
    if dash:
        layer["paint"]["line-dasharray"] = list(dash)
    return layer


def label_layers(lang: Lang) -> list[dict[str, Any]]:
    """The place labels, lowest priority first (MapLibre places the top layer's first), in the
    order of ``basemap.PLACEMENT``: the country, capitals, provinces, cities, counties."""
    capital = ["to-number", ["get", "capital"], 0]
    return [
        _labels(lang, "county", LABEL_MINZOOM["county"], None),
        _labels(lang, "city", LABEL_MINZOOM["city"], ["==", capital, 0]),
        _labels(lang, "province", LABEL_MINZOOM["province"], None),
        _labels(lang, "city", LABEL_MINZOOM["city"] - 1, ["==", capital, 1]),
        _labels(lang, "city", LABEL_MINZOOM["country"], [">=", capital, 2]),
        _labels(lang, "country", LABEL_MINZOOM["country"], None),
    ]


def linked_style(
    server: str, release: Release, lang: Lang, raster: LayerInfo | None, quarter: str | None,
    tiles: str | None = None,
) -> dict[str, Any]:
    """The MapLibre style of a linked embed: the release's basemap tiles and, when ``raster``
    and ``quarter`` are given, its PM2.5 tiles (or the raster tiles at ``tiles``, e.g. the
    difference of two periods, drawn within the raster's zooms and bounds), all from
    ``server`` and pinned to the release."""
    pin = f"?release={release.id}"
    sources: dict[str, Any] = {}
    layers: list[dict[str, Any]] = [
        {"id": "sea", "type": "background", "paint": {"background-color": SEA}}
    ]
    basemap = release.layers.get(LAYER)
    if basemap is not None and basemap.kind == "vector":
        sources["basemap"] = {
            "type": "vector",
            "tiles": [f"{server}/tiles/{basemap.id}/{{z}}/{{x}}/{{y}}.pbf{pin}"],
            "minzoom": basemap.minzoom,
            "maxzoom": basemap.maxzoom,
            "bounds": list(basemap.bounds),
        }
        for kind, colour in (("land", LAND), ("country", CHINA)):
            layers.append({"id": f"{kind}-fill", "type": "fill", "source": "basemap",
                           "source-layer": kind, "paint": {"fill-color": colour}})  # fmt: skip
    if raster is not None and quarter is not None:
        sources["pm25"] = {
            "type": "raster",
            "tiles": [tiles or f"{server}/tiles/{raster.id}/{quarter}/{{z}}/{{x}}/{{y}}.png{pin}"],
            "tileSize": 256,
            "minzoom": raster.minzoom,
            "maxzoom": raster.maxzoom,
            "bounds": list(raster.bounds),
        }
        layers.append({"id": "pm25", "type": "raster", "source": "pm25",
                       "paint": {"raster-opacity": RASTER_OPACITY,
                                 "raster-resampling": "nearest"}})  # fmt: skip
    if "basemap" in sources:
        layers += [_line("counties", COUNTY_LINES_MINZOOM)]
        layers += [_line(kind) for kind in ("cities", "provinces", "maritime", "country")]
        layers += label_layers(lang)
    return {"version": 8, "sources": sources, "layers": layers}
