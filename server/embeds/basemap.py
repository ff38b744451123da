"""The basemap of the embeds and previews, read from the release's basemap archive.

The release's ``boundaries`` layer (``tiles/boundaries.pmtiles``) is a vector basemap with the
source-layers ``land`` (every country, for the fill), ``country`` (China), ``countries``,
``provinces``, ``cities``, ``counties``, ``maritime`` (lines) and ``places`` (label points with
``name_zh``, ``name_en``, ``level`` and ``capital``). ``read_basemap`` decodes the tiles covering
a region at the finest zoom whose tiles number at most ``max_tiles`` and returns, in lon/lat:
land to fill, the lines of the units (each clipped to its own tile, so tile edges and the
tiles' buffers draw nothing) and the places. A release whose archive has only ``provinces`` and
``cities`` (before the basemap) gives those lines alone. ``embed_basemap`` writes the compact
rows the standalone embeds draw.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...i18n import Lang, place_name
from ..releases.release import Release

BBox = tuple[float, float, float, float]
LAYER = "boundaries"
FILL_KINDS = ("land", "country")  # drawn bottom to top: all land, then China over it
LINE_KINDS = ("counties", "cities", "provinces", "maritime", "country")  # bottom to top
MAX_TILES = 16
MAX_ZOOM = 8  # the standalone embeds' basemap: finer than a pixel at the zooms they open on
TOLERANCE_PX = 1.0  # the standalone embeds' geometry is simplified to a pixel of the zoom read
MIN_AREA_PX = 4.0  # …and land smaller than this many square pixels is left out
DECIMALS = 3  # ~100 m, finer than a pixel at MAX_ZOOM
# Zooms here are MapLibre's (512 px tiles, as the web map's); Leaflet's are one more.
# The zoom from which each level's labels are drawn (provincial capitals one zoom earlier, the
# national capital with the country), as the basemap's places come in (tiles/basemap.py).
LABEL_MINZOOM = {"country": 2.0, "province": 3.0, "city": 5.0, "county": 8.0}
COUNTY_LINES_MINZOOM = 7.0
PLACEMENT = ("country", "capital", "province", "city", "county")  # labels placed first to last

Line = tuple[str, np.ndarray]  # (kind, N×2 array of lon, lat)


@dataclass(frozen=True)
class Place:
    """A label point of the basemap."""

    name_zh: str
    name_en: str
    level: str  # country | province | city | county
    capital: int  # 0, 1 provincial capital, 2 national capital
    lon: float
    lat: float

    def name(self, lang: Lang) -> str:
        """The name in ``lang``, else in the other language."""
        return place_name(lang, self.name_zh, self.name_en)

    @property
    def minzoom(self) -> float:
        """The zoom from which the label is drawn."""
        zoom = LABEL_MINZOOM.get(self.level, LABEL_MINZOOM["county"])
        if self.capital >= 2:
            return min(zoom, LABEL_MINZOOM["country"])
        return zoom - 1 if self.capital else zoom

    @property
    def rank(self) -> tuple[int, int]:
        """Placement order: the country, capitals, provinces, other cities, counties."""
        if self.capital and self.level == "city":
            return 1, -self.capital
        return PLACEMENT.index(self.level) if self.level in PLACEMENT else len(PLACEMENT), 0


@dataclass(frozen=True)
class Basemap:
    """What the basemap draws within a region, in lon/lat."""

    zoom: int  # the zoom of the tiles read
    # (kind, shapely (Multi)Polygons), FILL_KINDS order: the tiles' pieces, edge to edge
    fills: tuple[tuple[str, tuple[Any, ...]], ...]
    lines: tuple[Line, ...]  # LINE_KINDS order
    places: tuple[Place, ...]  # in placement order (Place.rank)

    def labels(self, zoom: float) -> list[Place]:
        """The places whose labels are drawn at ``zoom``, in placement order."""
        return [p for p in self.places if p.minzoom <= zoom]


EMPTY = Basemap(0, (), (), ())


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


def basemap_zoom(bbox: BBox, minzoom: int, maxzoom: int, max_tiles: int) -> int:
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


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _place(props: Mapping[str, Any], lon: float, lat: float) -> Place | None:
    name_zh, name_en = _text(props.get("name_zh")), _text(props.get("name_en"))
    if not (name_zh or name_en):
        return None
    try:
        capital = int(props.get("capital") or 0)
    except (TypeError, ValueError):
        capital = 0
    return Place(name_zh, name_en, _text(props.get("level")) or "county", capital, lon, lat)


@dataclass(frozen=True)
class _Tile:
    """A decoded vector tile and where it lies."""

    layers: Mapping[str, Any]
    z: int
    x: int
    y: int

    def features(self, layer: str) -> tuple[float, list[Mapping[str, Any]]]:
        """(extent, features) of a source-layer; no features when the tile lacks it."""
        found = self.layers.get(layer) or {}
        return float(found.get("extent", 4096)), list(found.get("features") or [])

    def lonlat(self, points: np.ndarray, extent: float) -> np.ndarray:
        """Tile coordinates (y down) → lon/lat."""
        n = 1 << self.z
        lon = (self.x + points[:, 0] / extent) / n * 360.0 - 180.0
        merc = np.pi * (1 - 2 * (self.y + points[:, 1] / extent) / n)
        return np.column_stack([lon, np.degrees(np.arctan(np.sinh(merc)))])


def _decode(data: bytes, layers: Collection[str]) -> dict[str, Any]:
    """The source-layers ``layers`` of a vector tile; the others are not decoded at all (a
    tile's counties cost more than the rest)."""
    from mapbox_vector_tile.decoder import TileData

    tile = TileData(data, default_options={"y_coord_down": True})
    for i in reversed(range(len(tile.tile.layers))):
        if tile.tile.layers[i].name not in layers:
            del tile.tile.layers[i]
    decoded: dict[str, Any] = tile.get_message()
    return decoded


def _tiles(
    release: Release, bbox: BBox, max_tiles: int, max_zoom: int
) -> tuple[int, list[_Tile]] | None:
    """The zoom read and the decoded basemap tiles covering ``bbox`` (see ``read_basemap``);
    None without a basemap."""
    from pmtiles.tile import Compression

    layer = release.layers.get(LAYER)
    if layer is None or layer.kind != "vector" or "all" not in layer.files:
        return None
    archive = release.archive(layer, "all")
    minzoom = max(layer.minzoom, archive.minzoom)
    maxzoom = min(layer.maxzoom, archive.maxzoom)
    if minzoom > maxzoom:
        return None
    z = basemap_zoom(bbox, minzoom, max(minzoom, min(maxzoom, max_zoom)), max_tiles)
    n = 1 << z
    west, south, east, north = bbox
    wanted = {*FILL_KINDS, *LINE_KINDS, "places"}
    if z < COUNTY_LINES_MINZOOM:
        wanted.discard("counties")  # too coarse to be drawn
    tiles = []
    for x in range(_tile_x(west, n), _tile_x(east, n) + 1):
        for y in range(_tile_y(north, n), _tile_y(south, n) + 1):
            ref = archive.locate(z, x, y)
            if ref is None:
                continue
            data = archive.read(ref)
            if archive.tile_compression == Compression.GZIP:
                data = gzip.decompress(data)
            tiles.append(_Tile(_decode(data, wanted), z, x, y))
    return z, tiles


def _fills(tile: _Tile, kind: str, tolerance_px: float) -> Iterator[Any]:
    """The polygons of ``kind`` clipped to the tile, in lon/lat."""
    import shapely
    from shapely.geometry import shape

    extent, features = tile.features(kind)
    for feature in features:
        try:
            polygon: Any = shape(feature["geometry"]).buffer(0)
        except (ValueError, TypeError, shapely.errors.GEOSException):
            continue
        if tolerance_px > 0:  # simplified, and islands of a few pixels left out
            pixel = extent / 256 * tolerance_px
            polygon = polygon.simplify(pixel)
            parts = getattr(polygon, "geoms", [polygon])
            polygon = shapely.union_all([g for g in parts if g.area >= MIN_AREA_PX * pixel**2])
        clipped = shapely.clip_by_rect(polygon, 0, 0, extent, extent)
        if not clipped.is_empty:
            yield shapely.transform(clipped, lambda p: tile.lonlat(p, extent))


def _lines(tile: _Tile, kind: str, tolerance_px: float) -> Iterator[np.ndarray]:
    """The rings or lines of ``kind`` clipped to the tile (no tile edges), in lon/lat."""
    import shapely
    from shapely.geometry import LineString

    extent, features = tile.features(kind)
    for feature in features:
        for ring in _rings(feature.get("geometry") or {}):
            if len(ring) < 2:
                continue
            line: Any = LineString(ring)
            if tolerance_px > 0:
                line = line.simplify(extent / 256 * tolerance_px)
            clipped = shapely.clip_by_rect(line, 0, 0, extent, extent)
            for part in getattr(clipped, "geoms", [clipped]):
                if not part.is_empty and part.geom_type == "LineString":
                    yield tile.lonlat(np.asarray(part.coords, dtype=np.float64), extent)


def _places(tile: _Tile) -> Iterator[Place]:
    """The label points inside the tile (one in its buffer belongs to another tile)."""
    extent, features = tile.features("places")
    for feature in features:
        geometry = feature.get("geometry") or {}
        if geometry.get("type") != "Point":
            continue
        px, py = geometry["coordinates"]
        if not (0 <= px < extent and 0 <= py < extent):
            continue
        lon, lat = tile.lonlat(np.array([[px, py]], dtype=np.float64), extent)[0]
        place = _place(feature.get("properties") or {}, float(lon), float(lat))
        if place is not None:
            yield place


def read_basemap(
    release: Release,
    bbox: BBox,
    max_tiles: int = MAX_TILES,
    max_zoom: int = MAX_ZOOM,
    tolerance_px: float = 0.0,
) -> Basemap:
    """Land, lines and places of the tiles covering ``bbox``; ``EMPTY`` when the release has no
    basemap.

    Read at the finest zoom ≤ ``max_zoom`` (else the archive's first) whose tiles covering
    ``bbox`` number ≤ ``max_tiles`` (county lines only from ``COUNTY_LINES_MINZOOM``); with
    ``tolerance_px`` every shape is simplified to that many pixels of the zoom read (256 px
    tiles)."""

    found = _tiles(release, bbox, max_tiles, max_zoom)
    if found is None:
        return EMPTY
    zoom, tiles = found
    fills = tuple(
        (kind, parts) for kind in FILL_KINDS
        if (parts := tuple(part for tile in tiles for part in _fills(tile, kind, tolerance_px)))
    )  # fmt: skip
    lines = tuple(
        (kind, line) for kind in LINE_KINDS for tile in tiles
        for line in _lines(tile, kind, tolerance_px)
    )  # fmt: skip
    places = {(p.name_zh, p.name_en, p.level): p for tile in tiles for p in _places(tile)}
    return Basemap(zoom, fills, lines, tuple(sorted(places.values(), key=lambda p: p.rank)))


def _round_line(points: np.ndarray) -> list[list[float]]:
    """``[[lat, lon], …]`` rounded to ``DECIMALS``, without repeated points."""
    line: list[list[float]] = []
    for lon, lat in points.tolist():
        point = [round(lat, DECIMALS), round(lon, DECIMALS)]
        if not line or line[-1] != point:
            line.append(point)
    return line


def polygons(parts: Sequence[Any]) -> Iterator[Any]:
    """The polygons of (Multi)Polygon ``parts``."""
    for part in parts:
        for polygon in getattr(part, "geoms", [part]):
            if polygon.geom_type == "Polygon" and not polygon.is_empty:
                yield polygon


def _polygons(parts: Sequence[Any]) -> list[list[list[list[float]]]]:
    """(Multi)Polygons as Leaflet's nested ``[[[lat, lon], …] ring, …] polygon`` lists (one
    Leaflet polygon fills them in one path: no seams between the tiles' pieces)."""
    out = []
    for polygon in polygons(parts):
        rings = [polygon.exterior, *polygon.interiors]
        rounded = [_round_line(np.asarray(r.coords)) for r in rings]
        rounded = [r for r in rounded if len(r) >= 3]
        if rounded:
            out.append(rounded)
    return out


def embed_basemap(
    release: Release, bbox: BBox, lang: Lang, label_bbox: BBox | None = None
) -> dict[str, Any]:
    """The standalone embeds' basemap of ``bbox``: ``fills`` as ``[kind, polygons]``, ``lines``
    as ``[kind, [[lat, lon], …]]`` and ``places`` as ``[name, level, capital, minzoom, lat,
    lon]`` (names in ``lang``, placement order), simplified to a pixel of the zoom read and
    rounded to ``DECIMALS``.

    The places of ``label_bbox`` (the region shown, inside ``bbox``) are also read at the
    finest zoom allowed for it, so its labels are there when the padding is read coarser."""
    base = read_basemap(release, bbox, MAX_TILES, MAX_ZOOM, TOLERANCE_PX)
    found = {(p.name_zh, p.name_en, p.level): p for p in base.places}
    if label_bbox is not None and label_bbox != bbox:
        finer = read_basemap(release, label_bbox, MAX_TILES, MAX_ZOOM, TOLERANCE_PX)
        if finer.zoom > base.zoom:
            found |= {(p.name_zh, p.name_en, p.level): p for p in finer.places}
    lines = [[kind, line] for kind, points in base.lines if len(line := _round_line(points)) >= 2]
    places = [
        [p.name(lang), p.level, p.capital, p.minzoom, round(p.lat, 4), round(p.lon, 4)]
        for p in sorted(found.values(), key=lambda p: p.rank)
    ]
    return {
        "fills": [[kind, _polygons(parts)] for kind, parts in base.fills],
        "lines": lines,
        "places": places,
        "countyLinesMinzoom": COUNTY_LINES_MINZOOM,
    }
