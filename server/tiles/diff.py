"""Difference tiles: the PM2.5 of period B minus period A, rendered on demand from two COGs.

``GET /tiles/pm25-diff/{a}/{b}/{z}/{x}/{y}.png`` (and its ``tilejson.json``), for the web map's
and the embeds' "difference" view of two periods:

- ``a`` and ``b`` are PM2.5 periods of the release (``Release.all_periods``: months ``2019-01``,
  quarters ``2019Q1``, years ``2019``), both of one type: month with month, quarter with
  quarter, year with year (a month against a quarter would mix a season's days into the
  change). ``a == b`` is allowed (every pixel is "within ±5"). A period the release lacks is a
  404 naming the parameter; periods of two types, a 422 naming ``b``.
- Each pixel is B − A in µg/m³ where both periods have data, classed by the diverging scale
  ``pm25-diff`` (``tiles.colormaps``); transparent where either has none. A tile without any
  pixel of data is a transparent PNG (200), which every client draws without an error.
- Zooms and bounds are those of the PM2.5 layer: outside them, 404 as for its tiles.

Costs are bounded: a tile reads one window of each COG (their overviews below the grid's
native zoom, averaged, as ``tiles.raster.render_tile_cog``); at most ``MAX_RENDERS`` tiles are
rendered at once per process; answers are kept in an LRU by (release, a, b, z, x, y) within a
quarter of ``settings.tile_cache_bytes``. The ETag is the release id, both COGs' SHA-256, the
scale's version and the address, so a revalidation is answered 304 without rendering; a
pinned release's tiles never change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from cachetools import LRUCache
from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam

from ...layers.periods import period_type
from ...settings import Settings
from ...tiles.colormaps import NODATA_CLASS, PM25_DIFF, Colormap
from ...tiles.raster import TILE_SIZE, encode_png, native_zoom, quiet_affine
from ..deps import PERIOD_PATTERN, ReleaseDep, TileParams, pinned_query
from ..errors import ERROR_RESPONSES, InvalidParameterError, NotFoundError
from ..releases.release import LayerInfo, Release
from .routes import _intersects, attribution, base_url, etag_matches, tile_bounds

DIFF_LAYER = "pm25-diff"
SOURCE_LAYER = "pm25"  # whose zooms and bounds the difference tiles take
SCALE_VERSION = "1"  # part of the ETag: bump when the scale or the rendering changes
MAX_RENDERS = 4  # tiles rendered at once per process; more requests wait their turn
CACHE_SHARE = 4  # a quarter of the tile cache budget
ENTRY_OVERHEAD = 256  # bytes a cached tile costs besides its PNG

PeriodA = Annotated[str, PathParam(pattern=PERIOD_PATTERN, description="Period A (before), "
                                   "e.g. 2019Q1, 2019-01 or 2019.")]  # fmt: skip
PeriodB = Annotated[str, PathParam(pattern=PERIOD_PATTERN, description="Period B (after), of "
                                   "the same type as A, e.g. 2019Q3.")]  # fmt: skip


@dataclass(frozen=True)
class DiffPair:
    """Two periods of one type checked against a release, with their COGs."""

    a: str
    b: str
    path_a: Path
    path_b: Path
    sha_a: str
    sha_b: str


def _cog(release: Release, name: str, label: str) -> tuple[Path, str]:
    try:
        path = release.pm25_cog(label)
    except NotFoundError:
        periods = release.all_periods
        known = f"{periods[0]} … {periods[-1]}" if periods else "none"
        raise NotFoundError(f"{name}: no PM2.5 grid for period {label!r} "
                            f"(the release has {known})") from None  # fmt: skip
    relative = path.relative_to(release.root).as_posix()
    return path, release.files[relative].sha256


def check_pair(release: Release, a: str, b: str) -> DiffPair:
    """``a`` and ``b`` as periods of ``release`` of one type; 404/422 naming the parameter."""
    path_a, sha_a = _cog(release, "a", a)
    path_b, sha_b = _cog(release, "b", b)
    kind_a, kind_b = period_type(a), period_type(b)
    if kind_a != kind_b:
        raise InvalidParameterError(
            f"b: {b} is a {kind_b} and a ({a}) a {kind_a}; compare periods of one type"
        )
    return DiffPair(a, b, path_a, path_b, sha_a, sha_b)


def source_layer(release: Release) -> LayerInfo:
    """The PM2.5 raster layer whose zooms and bounds the difference tiles share."""
    layer = release.layers.get(SOURCE_LAYER)
    if layer is None or layer.kind != "raster":
        raise NotFoundError("the release has no PM2.5 layer")
    return layer


def _read(path: Path, z: int, x: int, y: int) -> np.ndarray:
    """Band 1 of the COG on tile z/x/y (NaN where it has no data or does not reach)."""
    from rio_tiler.errors import TileOutsideBounds
    from rio_tiler.io import Reader

    quiet_affine()
    with Reader(str(path)) as src:
        method = "average" if z < native_zoom(abs(src.dataset.res[0])) else "nearest"
        try:
            image = src.tile(x, y, z, indexes=1, reproject_method=method)
        except TileOutsideBounds:
            return np.full((TILE_SIZE, TILE_SIZE), np.nan, dtype=np.float32)
    return np.ma.filled(image.array[0].astype(np.float32), np.nan)


def diff_values(pair: DiffPair, z: int, x: int, y: int) -> np.ndarray:
    """B − A (µg/m³) on tile z/x/y; NaN where either period has no data."""
    return _read(pair.path_b, z, x, y) - _read(pair.path_a, z, x, y)


def render_diff(values: np.ndarray, colormap: Colormap = PM25_DIFF) -> bytes:
    """The paletted PNG of ``values`` classed by ``colormap`` (NaN transparent)."""
    return encode_png(colormap.classify(values), colormap)


EMPTY_TILE = encode_png(np.full((TILE_SIZE, TILE_SIZE), NODATA_CLASS, np.uint8), PM25_DIFF)


@dataclass(frozen=True)
class DiffAnswer:
    """A rendered tile and its ETag, as cached."""

    body: bytes
    etag: str

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


def diff_router(settings: Settings) -> APIRouter:
    """Routes ``/tiles/pm25-diff/{a}/{b}/{z}/{x}/{y}.png`` and its TileJSON."""
    router = APIRouter(tags=["tiles"], responses=ERROR_RESPONSES)
    cache: LRUCache[tuple[str, str, str, int, int, int], DiffAnswer] = LRUCache(
        settings.tile_cache_bytes // CACHE_SHARE, getsizeof=lambda answer: answer.size
    )
    lock = threading.Lock()  # cachetools caches are not thread-safe
    renders = threading.BoundedSemaphore(MAX_RENDERS)

    def etag(release: Release, pair: DiffPair, z: int, x: int, y: int) -> str:
        return (f'"{release.id}-{DIFF_LAYER}{SCALE_VERSION}-{pair.sha_a[:12]}-{pair.sha_b[:12]}'
                f'-{z}-{x}-{y}"')  # fmt: skip

    @router.get(
        "/tiles/pm25-diff/{a}/{b}/{z}/{x}/{y}.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 304: {}},
    )
    def diff_tile(
        release: ReleaseDep,
        a: PeriodA,
        b: PeriodB,
        tile: Annotated[TileParams, Depends()],
        request: Request,
    ) -> Response:
        """A PNG tile of the change in PM2.5 from period ``a`` to period ``b`` (B − A, µg/m³),
        classed by the diverging scale ``pm25-diff`` (blue cleaner, red dirtier, grey within
        ±5); transparent where either period has no data. Both periods of one type."""
        pair = check_pair(release, a, b)
        layer = source_layer(release)
        z, x, y = tile.z, tile.x, tile.y
        if not layer.minzoom <= z <= layer.maxzoom:
            raise NotFoundError(f"z: zoom {z} outside the PM2.5 layer's zooms "
                                f"{layer.minzoom}–{layer.maxzoom}")  # fmt: skip
        if not _intersects(tile_bounds(z, x, y), layer.bounds):
            raise NotFoundError(f"x, y: tile {z}/{x}/{y} outside the PM2.5 layer's bounds")
        tag = etag(release, pair, z, x, y)
        headers = {"Cache-Control": settings.tile_cache_control, "ETag": tag}
        if etag_matches(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
        key = (release.id, a, b, z, x, y)
        with lock:
            answer = cache.get(key)
        if answer is None:
            with renders:
                values = diff_values(pair, z, x, y)
            body = render_diff(values) if np.isfinite(values).any() else EMPTY_TILE
            answer = DiffAnswer(body, tag)
            if answer.size <= cache.maxsize:
                with lock:
                    cache[key] = answer
        return Response(answer.body, 200, headers, "image/png")

    @router.get("/tiles/pm25-diff/{a}/{b}/tilejson.json")
    def diff_tilejson(
        release: ReleaseDep, a: PeriodA, b: PeriodB, request: Request
    ) -> dict[str, Any]:
        """TileJSON 3.0.0 of the difference tiles B − A, with the scale's legend
        (``colormap``: classes of {lower, upper, color, rgba, label}, µg/m³)."""
        check_pair(release, a, b)
        layer = source_layer(release)
        base, pin = base_url(request, settings), pinned_query(request)
        west, south, east, north = layer.bounds
        return {
            "tilejson": "3.0.0",
            "name": f"PM2.5 change {b} − {a}",
            "version": "1.0.0",
            "scheme": "xyz",
            "tiles": [f"{base}/tiles/{DIFF_LAYER}/{a}/{b}/{{z}}/{{x}}/{{y}}.png{pin}"],
            "minzoom": layer.minzoom,
            "maxzoom": layer.maxzoom,
            "bounds": [west, south, east, north],
            "center": [(west + east) / 2, (south + north) / 2, layer.minzoom],
            "attribution": attribution(release),
            "colormap": PM25_DIFF.to_json(),
        }

    return router
