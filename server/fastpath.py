"""Tile hits answered below the framework: plain ASGI, no routing or dependency machinery.

A map view asks for dozens of tiles at once, and FastAPI's per-request work (routing, validating
dependencies, a threadpool hop for a 50 µs read) costs twenty times the lookup. This middleware
answers a ``GET`` of a well-formed tile address (optionally ``?release=<id>``) with the same
``tile_answer`` as the routes, and a tile the layer does not cover with the same 404 as the
errors module; anything else goes on to the app (parameter checks, other errors, the OpenAPI
document).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import Settings
from .deps import MAX_ZOOM, RELEASE_PATTERN
from .errors import NotFoundError
from .registry import ReleaseRegistry
from .release import ALL
from .tiles import TileAnswer, tile_answer

TILE_PATH = re.compile(
    r"^/tiles/(?P<layer>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})/(?:(?P<quarter>\d{4}Q[1-4])/)?"
    r"(?P<z>\d{1,2})/(?P<x>\d{1,7})/(?P<y>\d{1,7})\.(?P<ext>png|pbf)$"
)
KINDS = {"png": "raster", "pbf": "vector"}
RELEASE_ID = re.compile(RELEASE_PATTERN)


class TileFastPath:
    """ASGI middleware serving tile hits (200, 204, 304) straight from the release."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.cache_control = settings.tile_cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            TILE_PATH.match(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        try:
            answer = self._answer(scope, match) if match else None
        except NotFoundError as e:  # outside the layer's zooms or bounds: a missing-tile flood
            await JSONResponse({"detail": str(e)}, status_code=404)(scope, receive, send)
            return
        if answer is None:
            await self.app(scope, receive, send)
            return
        headers = [(k.lower().encode(), v.encode()) for k, v in answer.headers.items()]
        if answer.media_type is not None:
            headers.append((b"content-type", answer.media_type.encode()))
        if answer.status == 200:
            headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _answer(self, scope: Scope, match: re.Match[str]) -> TileAnswer | None:
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if len(query) > 1 or (query and query[0][0] != "release"):
            return None
        release_id = query[0][1] if query else None
        if release_id is not None and not RELEASE_ID.match(release_id):
            return None
        z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
        if z > MAX_ZOOM or x >= 1 << z or y >= 1 << z:
            return None
        registry: ReleaseRegistry = scope["app"].state.releases
        try:
            release = registry.current() if release_id is None else registry.get(release_id)
        except Exception:  # the app answers 404 / 503 in its own format
            return None
        layer = release.layers.get(match["layer"])
        quarter = match["quarter"]
        if layer is None or layer.kind != KINDS[match["ext"]]:
            return None
        if (layer.kind == "raster") != (quarter is not None):
            return None
        key = quarter if quarter is not None else ALL
        if key not in layer.files:
            return None
        if_none_match = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None
        )
        return tile_answer(release, layer, key, (z, x, y), if_none_match, self.cache_control)

