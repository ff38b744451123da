"""Tile, TileJSON and PMTiles archive routes."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse
from pmtiles.tile import Compression, TileType

from ...settings import Settings
from ..deps import (
    LayerId,
    Quarter,
    RangeHeader,
    ReleaseDep,
    TileParams,
    check_ranges,
    pinned_query,
)
from ..errors import ERROR_RESPONSES, RANGE_RESPONSES, NotFoundError
from ..releases.release import ALL, LayerInfo, Release, plain

MVT = "application/vnd.mapbox-vector-tile"
TILE_MEDIA = {TileType.PNG: "image/png", TileType.MVT: MVT}
ENCODINGS = {Compression.GZIP: "gzip", Compression.BROTLI: "br", Compression.ZSTD: "zstd"}
PMTILES_MEDIA = "application/vnd.pmtiles"


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """WGS-84 bounds (west, south, east, north) of a Web Mercator tile."""
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _intersects(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison of If-None-Match against ``etag`` (RFC 9110 §13.1.2)."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


@dataclass(frozen=True)
class TileAnswer:
    """What a tile request is answered with: 200 with bytes, 204 (no tile) or 304."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    media_type: str | None = None


def tile_answer(
    release: Release,
    layer: LayerInfo,
    key: str,
    zxy: tuple[int, int, int],
    if_none_match: str | None,
    cache_control: str,
) -> TileAnswer:
    """The answer for tile ``zxy`` of ``layer`` (quarter or ``all`` as ``key``); NotFoundError
    outside the layer's zooms, or for a tile the archive lacks outside the layer's bounds (a
    tile the archive has is served even if its buffer is all that reaches past the bounds)."""
    z, x, y = zxy
    archive = release.archive(layer, key)
    minzoom = max(layer.minzoom, archive.minzoom)
    maxzoom = min(layer.maxzoom, archive.maxzoom)
    if not minzoom <= z <= maxzoom:
        raise NotFoundError(f"zoom {z} outside {minzoom}–{maxzoom}")
    headers = {"Cache-Control": cache_control}
    ref = archive.locate(z, x, y)
    if ref is None:  # inside the bounds: empty there; outside (a missing-tile flood): 404
        if not _intersects(tile_bounds(z, x, y), layer.bounds):
            raise NotFoundError("tile outside the layer bounds")
        return TileAnswer(204, headers)
    sha = release.files[layer.files[key]].sha256[:16]
    etag = f'"{release.id}-{sha}-{ref.offset:x}-{ref.length:x}"'
    headers["ETag"] = etag
    if etag_matches(if_none_match, etag):
        return TileAnswer(304, headers)
    if encoding := ENCODINGS.get(archive.tile_compression):
        headers["Content-Encoding"] = encoding
    media = TILE_MEDIA.get(archive.tile_type, "application/octet-stream")
    return TileAnswer(200, headers, archive.read(ref), media)


def attribution(release: Release) -> str:
    return " | ".join(html.escape(str(s.get("attribution", ""))) for s in release.sources)


def base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


def tile_router(settings: Settings) -> APIRouter:
    """Routes ``/tiles/...`` and ``/pmtiles/{name}.pmtiles``."""
    router = APIRouter(tags=["tiles"], responses=ERROR_RESPONSES)

    def serve(
        release: Release, layer: LayerInfo, key: str, tile: TileParams, request: Request
    ) -> Response:
        answer = tile_answer(
            release, layer, key, (tile.z, tile.x, tile.y),
            request.headers.get("if-none-match"), settings.tile_cache_control,
        )  # fmt: skip
        return Response(answer.body, answer.status, dict(answer.headers), answer.media_type)

    def kind(release: Release, layer_id: str, expected: str) -> LayerInfo:
        layer = release.layer(layer_id)
        if layer.kind != expected:
            raise NotFoundError(f"layer {layer_id!r} is not a {expected} layer")
        return layer

    @router.head("/tiles/{layer}/{quarter}/{z}/{x}/{y}.png", include_in_schema=False)
    @router.get(
        "/tiles/{layer}/{quarter}/{z}/{x}/{y}.png",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 204: {}, 304: {}},
    )
    def raster_tile(
        release: ReleaseDep,
        layer: LayerId,
        quarter: Quarter,
        tile: Annotated[TileParams, Depends()],
        request: Request,
    ) -> Response:
        """A PNG tile of a raster layer for one quarter."""
        return serve(release, kind(release, layer, "raster"), quarter, tile, request)

    @router.head("/tiles/{layer}/{z}/{x}/{y}.pbf", include_in_schema=False)
    @router.get(
        "/tiles/{layer}/{z}/{x}/{y}.pbf",
        response_class=Response,
        responses={200: {"content": {MVT: {}}}, 204: {}, 304: {}},
    )
    def vector_tile(
        release: ReleaseDep,
        layer: LayerId,
        tile: Annotated[TileParams, Depends()],
        request: Request,
    ) -> Response:
        """A Mapbox Vector Tile of a vector layer (gzip-encoded when stored so)."""
        return serve(release, kind(release, layer, "vector"), ALL, tile, request)

    def tilejson(release: Release, layer: LayerInfo, key: str, url: str) -> dict[str, Any]:
        archive = release.archive(layer, key)
        west, south, east, north = layer.bounds
        minzoom = max(layer.minzoom, archive.minzoom)
        maxzoom = min(layer.maxzoom, archive.maxzoom)
        doc: dict[str, Any] = {
            "tilejson": "3.0.0",
            "name": layer.title if key == ALL else f"{layer.title} {key}",
            "version": "1.0.0",
            "scheme": "xyz",
            "tiles": [url],
            "minzoom": minzoom,
            "maxzoom": maxzoom,
            "bounds": [west, south, east, north],
            "center": [(west + east) / 2, (south + north) / 2, minzoom],
            "attribution": attribution(release),
        }
        if layer.kind == "vector":
            doc["vector_layers"] = [
                {"fields": {}, **plain(v)} for v in layer.vector_layers
            ] or archive.metadata.get("vector_layers", [])
        return doc

    @router.get("/tiles/{layer}/{quarter}/tilejson.json")
    def raster_tilejson(
        release: ReleaseDep, layer: LayerId, quarter: Quarter, request: Request
    ) -> dict[str, Any]:
        """TileJSON 3.0.0 of a raster layer for one quarter."""
        info = kind(release, layer, "raster")
        base, pin = base_url(request, settings), pinned_query(request)
        url = f"{base}/tiles/{info.id}/{quarter}/{{z}}/{{x}}/{{y}}.png{pin}"
        return tilejson(release, info, quarter, url)

    @router.get("/tiles/{layer}/tilejson.json")
    def vector_tilejson(release: ReleaseDep, layer: LayerId, request: Request) -> dict[str, Any]:
        """TileJSON 3.0.0 of a vector layer."""
        info = kind(release, layer, "vector")
        base, pin = base_url(request, settings), pinned_query(request)
        url = f"{base}/tiles/{info.id}/{{z}}/{{x}}/{{y}}.pbf{pin}"
        return tilejson(release, info, ALL, url)

    @router.head("/pmtiles/{name}.pmtiles", include_in_schema=False)  # GDAL asks the size first
    @router.get(
        "/pmtiles/{name}.pmtiles",
        response_class=FileResponse,
        responses={200: {"content": {PMTILES_MEDIA: {}}}, 206: {}, 304: {}, **RANGE_RESPONSES},
    )
    def pmtiles_file(
        release: ReleaseDep,
        name: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")],
        request: Request,
        range_: RangeHeader = None,
    ) -> Response:
        """A whole PMTiles archive, with HTTP Range support (for the pmtiles JS protocol)."""
        relative = release.pmtiles_names.get(name)
        if relative is None:
            raise NotFoundError(f"unknown archive {name!r}")
        entry = release.files[relative]
        check_ranges(range_, entry.bytes)
        # The ETag is the content's SHA-256 (checked when the release was opened): it changes
        # exactly when the bytes do, which is how the pmtiles JS client notices a new archive.
        etag = f'"{entry.sha256[:32]}"'
        headers = {"Cache-Control": settings.tile_cache_control, "ETag": etag}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return FileResponse(release.path(relative), media_type=PMTILES_MEDIA, headers=headers)

    return router
