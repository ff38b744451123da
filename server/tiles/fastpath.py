"""Tile requests answered before the framework: plain ASGI and a cache of ready answers.

A map view asks for dozens of tiles at once, and FastAPI's per-request work (telemetry checks,
middleware, routing, validating dependencies, a threadpool hop for a 50 µs read) costs twenty
times the lookup. ``TileFastPath`` wraps the whole application (see ``app.LantianApp``) and
answers a ``GET`` or ``HEAD`` of a well-formed tile address (optionally ``?release=<id>``)
with the same ``tile_answer`` as the routes, and a tile the layer does not cover with the same
404 as the errors module; anything else goes on to the app (parameter checks, other errors,
the OpenAPI document).

Answers (200, 204 and the out-of-bounds 404) are kept ready to send, headers encoded, in LRU
caches per process keyed by release id and path, within ``settings.tile_cache_bytes``: tiles
in one, empty and missing ones in another of an eighth of the budget, so a flood of distinct
missing addresses cannot push out the tiles people are viewing. A release
id names immutable content, so a cached answer never goes stale; a new ``current`` release
simply uses new keys. ``If-None-Match`` is compared with the cached ETag on every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from cachetools import LRUCache
from starlette.datastructures import State
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ...settings import Settings
from ..deps import MAX_ZOOM, NAME_PATTERN, PERIOD_PATTERN, RELEASE_PATTERN
from ..errors import NotFoundError
from ..releases.registry import ReleaseRegistry
from ..releases.release import ALL, Release
from .routes import etag_matches, tile_answer

TILE_PATH = re.compile(  # the routes' layer and quarter patterns, without their anchors
    rf"^/tiles/(?P<layer>{NAME_PATTERN[1:-1]})/(?:(?P<quarter>{PERIOD_PATTERN[1:-1]})/)?"
    r"(?P<z>\d{1,2})/(?P<x>\d{1,7})/(?P<y>\d{1,7})\.(?P<ext>png|pbf)$"
)
KINDS = {"png": "raster", "pbf": "vector"}
RELEASE_ID = re.compile(RELEASE_PATTERN)
FAST_METHODS = frozenset({"GET", "HEAD"})  # HEAD: the GET's status and headers, no body
ENTRY_OVERHEAD = 512  # bytes a cached answer costs besides its body (key, headers, object)
MISSES_SHARE = 8  # empty and missing answers get 1/8 of the cache budget


@dataclass(frozen=True, slots=True)
class ReadyAnswer:
    """A tile answer encoded for ASGI, plus its 304 form when it has an ETag."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str | None = None
    not_modified: list[tuple[bytes, bytes]] | None = None

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


def ready(status: int, headers: dict[str, str], body: bytes, media: str | None) -> ReadyAnswer:
    """Encode an answer with Starlette's ``Response`` (content-length and type as it sets them)."""
    response = Response(body, status, headers, media)
    etag = headers.get("ETag")
    if etag is None:
        return ReadyAnswer(status, response.raw_headers, body)
    unchanged = Response(None, 304, {"Cache-Control": headers["Cache-Control"], "ETag": etag})
    return ReadyAnswer(status, response.raw_headers, body, etag, unchanged.raw_headers)


def answer_cache(max_bytes: int) -> LRUCache[tuple[str, str], ReadyAnswer]:
    """An LRU of ready answers by (release id, path), within ``max_bytes``."""
    return LRUCache(max_bytes, getsizeof=lambda answer: answer.size)


def not_found(message: str) -> ReadyAnswer:
    """The errors module's 404 for a tile outside the layer's zooms or bounds."""
    response = JSONResponse({"detail": message}, status_code=404)
    return ReadyAnswer(404, response.raw_headers, bytes(response.body))


class TileFastPath:
    """ASGI wrapper serving tile answers straight from the release, through a cache.

    ``state`` is the application's state, where the lifespan puts the release registry.
    """

    def __init__(self, app: ASGIApp, settings: Settings, state: State) -> None:
        self.app = app
        self.state = state
        self.cache_control = settings.tile_cache_control
        misses_bytes = settings.tile_cache_bytes // MISSES_SHARE
        self.tiles = answer_cache(settings.tile_cache_bytes - misses_bytes)
        self.misses = answer_cache(misses_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = None
        if scope["type"] == "http" and scope["method"] in FAST_METHODS:
            path: str = scope["path"]
            if path.startswith("/tiles/"):
                answer = self._cached(scope, path)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers = answer.status, answer.headers
        if answer.not_modified is not None:
            if_none_match = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
            if if_none_match and etag_matches(if_none_match.decode("latin-1"), answer.etag or ""):
                status, headers = 304, answer.not_modified
        await send({"type": "http.response.start", "status": status, "headers": headers})
        empty = status == 304 or scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if empty else answer.body})

    def _cached(self, scope: Scope, path: str) -> ReadyAnswer | None:
        release = self._release(scope)
        if release is None:
            return None
        key = (release.id, path)
        answer = self.tiles.get(key) or self.misses.get(key)
        if answer is None:
            try:
                answer = self._answer(release, path)
            except Exception:  # an unreadable archive…: the app's routes log it, answer 500
                return None
            if answer is None:
                return None
            cache = self.tiles if answer.status == 200 else self.misses
            if answer.size <= cache.maxsize:
                cache[key] = answer
        return answer

    def _release(self, scope: Scope) -> Release | None:
        """The release asked for (``?release=<id>`` or the current one) if it is open; None
        if the app should answer (other parameters, a release to open first, an unknown or
        broken one, no release at all)."""
        query: bytes = scope["query_string"]
        release_id = None
        if query:
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            if len(pairs) != 1 or pairs[0][0] != "release" or not RELEASE_ID.match(pairs[0][1]):
                return None
            release_id = pairs[0][1]
        registry: ReleaseRegistry | None = getattr(self.state, "releases", None)
        if registry is None:  # not started
            return None
        return registry.opened(release_id)  # one to open, unknown, broken: the app's routes

    def _answer(self, release: Release, path: str) -> ReadyAnswer | None:
        match = TILE_PATH.match(path)
        if match is None:
            return None
        z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
        if z > MAX_ZOOM or x >= 1 << z or y >= 1 << z:
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
        try:
            answer = tile_answer(release, layer, key, (z, x, y), None, self.cache_control)
        except NotFoundError as e:  # outside the layer's zooms or bounds: a missing-tile flood
            return not_found(str(e))
        return ready(answer.status, dict(answer.headers), answer.body, answer.media_type)
