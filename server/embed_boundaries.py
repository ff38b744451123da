"""Province and city lines of an embed, from the release's boundary vector tiles.

The embeds have no third-party basemap, so these lines give the reader their bearings. They are
decoded from ``tiles/boundaries.pmtiles`` at the finest zoom whose tiles covering the region
number at most ``max_tiles``, clipped to each tile (tippecanoe's buffer would draw tile edges)
simplified to a pixel and rounded to 3 decimals: compact ``[kind, [[lat, lon], ...]]`` rows.
"""

from __future__ import annotations

import gzip
import math
from typing import Any

from .release import Release

BBox = tuple[float, float, float, float]
KINDS = ("cities", "provinces")  # drawn bottom to top
MAX_TILES = 12
MAX_ZOOM = 8
TOLERANCE_PX = 1.0  # lines simplified to a pixel at the zoom read (256 px tiles)
DECIMALS = 3  # ~100 m, finer than a pixel at MAX_ZOOM


def _tile_x(lon: float, n: int) -> int:
    return min(n - 1, max(0, math.floor((lon + 180.0) / 360.0 * n)))


def _tile_y(lat: float, n: int) -> int:
    lat = max(-85.0511, min(85.0511, lat))
    y = (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2
    return min(n - 1, max(0, math.floor(y * n)))


def _lat(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


def _rings(geometry: dict[str, Any]) -> list[Any]:
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return list(coords)
    if kind == "MultiPolygon":
        return [ring for polygon in coords for ring in polygon]
    if kind == "LineString":
        return [coords]
    if kind == "MultiLineString":
        return list(coords)
    return []


def boundary_zoom(bbox: BBox, minzoom: int, maxzoom: int, max_tiles: int) -> int:
    """The finest zoom ≤ ``maxzoom`` whose tiles covering ``bbox`` number ≤ ``max_tiles``."""
    west, south, east, north = bbox
    z = max(minzoom, maxzoom)
    while z > minzoom:
        n = 1 << z
        columns = _tile_x(east, n) - _tile_x(west, n) + 1
        rows = _tile_y(south, n) - _tile_y(north, n) + 1
        if columns * rows <= max_tiles:
            break
        z -= 1
    return z


def boundary_lines(release: Release, bbox: BBox, max_tiles: int = MAX_TILES) -> list[list[Any]]:
    """``[kind, [[lat, lon], …]]`` of the province/city lines within ``bbox``; [] without any."""
    import mapbox_vector_tile
    import shapely
    from pmtiles.tile import Compression
    from shapely.geometry import LineString

    layer = release.layers.get("boundaries")
    if layer is None or layer.kind != "vector" or "all" not in layer.files:
        return []
    archive = release.archive(layer, "all")
    minzoom = max(layer.minzoom, archive.minzoom)
    maxzoom = min(layer.maxzoom, archive.maxzoom, MAX_ZOOM)
    if minzoom > maxzoom:
        return []
    z = boundary_zoom(bbox, minzoom, maxzoom, max_tiles)
    n = 1 << z
    west, south, east, north = bbox
    lines: dict[str, list[list[list[float]]]] = {kind: [] for kind in KINDS}
    for x in range(_tile_x(west, n), _tile_x(east, n) + 1):
        for y in range(_tile_y(north, n), _tile_y(south, n) + 1):
            ref = archive.locate(z, x, y)
            if ref is None:
                continue
            data = archive.read(ref)
            if archive.tile_compression == Compression.GZIP:
                data = gzip.decompress(data)
            tile = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
            for kind in KINDS:
                if kind not in tile:
                    continue
                extent = float(tile[kind].get("extent", 4096))
                for feature in tile[kind]["features"]:
                    for ring in _rings(feature.get("geometry") or {}):
                        if len(ring) < 2:
                            continue
                        clipped = shapely.clip_by_rect(
                            LineString(ring).simplify(extent / 256 * TOLERANCE_PX), 0, 0,
                            extent, extent,
                        )
                        parts = getattr(clipped, "geoms", [clipped])
                        for part in parts:
                            if part.is_empty or part.geom_type != "LineString":
                                continue
                            line: list[list[float]] = []
                            for px, py in part.coords:
                                point = [
                                    round(_lat((y + py / extent) / n), DECIMALS),
                                    round((x + px / extent) / n * 360.0 - 180.0, DECIMALS),
                                ]
                                if not line or line[-1] != point:
                                    line.append(point)
                            if len(line) >= 2:
                                lines[kind].append(line)
    return [[kind, line] for kind in KINDS for line in lines[kind]]
