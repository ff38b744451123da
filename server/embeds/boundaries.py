"""Province and city lines of a region, from the release's boundary vector tiles.

The embeds and the PNG preview have no third-party basemap, so these lines give the reader
their bearings. ``boundary_lines`` decodes ``tiles/boundaries.pmtiles`` at the finest zoom whose
tiles covering the region number at most ``max_tiles``, clips every line to its tile's own
extent (tippecanoe's buffer would draw tile edges, and a line in two tiles' buffers twice) and
returns them in lon/lat. ``embed_lines`` serializes them for the Leaflet embeds.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..releases.release import Release

BBox = tuple[float, float, float, float]
KINDS = ("cities", "provinces")  # drawn bottom to top
MAX_TILES = 12
MAX_ZOOM = 8  # the embeds' lines: finer than a pixel at the zooms they open on
TOLERANCE_PX = 1.0  # the embeds' lines are simplified to a pixel at the zoom read (256 px tiles)
DECIMALS = 3  # ~100 m, finer than a pixel at MAX_ZOOM

Line = tuple[str, np.ndarray]  # (kind, N×2 array of lon, lat)


def _tile_x(lon: float, n: int) -> int:
    return min(n - 1, max(0, math.floor((lon + 180.0) / 360.0 * n)))


def _tile_y(lat: float, n: int) -> int:
    lat = max(-85.0511, min(85.0511, lat))
    y = (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2
    return min(n - 1, max(0, math.floor(y * n)))


def _rings(geometry: Mapping[str, Any]) -> Iterator[Sequence[Sequence[float]]]:
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon
    elif kind == "LineString":
        yield coords
    elif kind == "MultiLineString":
        yield from coords


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


def boundary_lines(
    release: Release,
    bbox: BBox,
    max_tiles: int = MAX_TILES,
    max_zoom: int = MAX_ZOOM,
    tolerance_px: float = 0.0,
) -> list[Line]:
    """``(kind, lon/lat array)`` of the province and city lines of the tiles covering ``bbox``,
    cities first; [] when the release has none.

    Read at the finest zoom ≤ ``max_zoom`` (else the archive's first) whose tiles covering
    ``bbox`` number ≤ ``max_tiles``; each line is clipped to its tile and, with
    ``tolerance_px``, simplified to that many pixels of the zoom read (256 px tiles)."""
    import mapbox_vector_tile
    import shapely
    from pmtiles.tile import Compression
    from shapely.geometry import LineString
    from shapely.geometry.base import BaseGeometry

    layer = release.layers.get("boundaries")
    if layer is None or layer.kind != "vector" or "all" not in layer.files:
        return []
    archive = release.archive(layer, "all")
    minzoom = max(layer.minzoom, archive.minzoom)
    maxzoom = min(layer.maxzoom, archive.maxzoom)
    if minzoom > maxzoom:
        return []
    z = boundary_zoom(bbox, minzoom, max(minzoom, min(maxzoom, max_zoom)), max_tiles)
    n = 1 << z
    west, south, east, north = bbox
    lines: dict[str, list[np.ndarray]] = {kind: [] for kind in KINDS}
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
                        line: BaseGeometry = LineString(ring)
                        if tolerance_px > 0:
                            line = line.simplify(extent / 256 * tolerance_px)
                        clipped = shapely.clip_by_rect(line, 0, 0, extent, extent)
                        for part in getattr(clipped, "geoms", [clipped]):
                            if part.is_empty or part.geom_type != "LineString":
                                continue
                            points = np.asarray(part.coords, dtype=np.float64)
                            lon = (x + points[:, 0] / extent) / n * 360.0 - 180.0
                            merc = np.pi * (1 - 2 * (y + points[:, 1] / extent) / n)
                            lat = np.degrees(np.arctan(np.sinh(merc)))
                            lines[kind].append(np.column_stack([lon, lat]))
    return [(kind, line) for kind in KINDS for line in lines[kind]]


def embed_lines(release: Release, bbox: BBox, max_tiles: int = MAX_TILES) -> list[list[Any]]:
    """The embeds' compact rows ``[kind, [[lat, lon], …]]``: lines simplified to a pixel and
    rounded to ``DECIMALS``; [] without any."""
    rows: list[list[Any]] = []
    for kind, points in boundary_lines(release, bbox, max_tiles, MAX_ZOOM, TOLERANCE_PX):
        line: list[list[float]] = []
        for lon, lat in points.tolist():
            point = [round(lat, DECIMALS), round(lon, DECIMALS)]
            if not line or line[-1] != point:
                line.append(point)
        if len(line) >= 2:
            rows.append([kind, line])
    return rows
