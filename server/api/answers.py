"""Cached answers: an ETag from the release and the request, ``Cache-Control`` by pinning
(a ``?release=`` URL never changes; the current release may), and 304 for a matching
``If-None-Match`` before anything is built."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from ..releases.release import Release
from ..tiles.routes import etag_matches

PINNED_CACHE = "public, max-age=31536000, immutable"
UNPINNED_CACHE = "public, max-age=300"  # the current release may change
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not modified (ETag)."}}


def etag(*parts: Any) -> str:
    """A strong ETag of JSON-serialisable ``parts``."""
    key = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'


def request_etag(request: Request, release: Release, *parts: Any) -> str:
    """The ETag of an answer fixed by the release id, the route, every query parameter, the
    base URL (answers hold absolute links), the negotiated language and ``parts``."""
    return etag(release.id, request.url.path, sorted(request.query_params.multi_items()),
                str(request.base_url), *parts)  # fmt: skip


def cache_headers(request: Request, tag: str) -> dict[str, str]:
    pinned = "release" in request.query_params
    return {"ETag": tag, "Cache-Control": PINNED_CACHE if pinned else UNPINNED_CACHE}


def cached(
    request: Request,
    release: Release,
    build: Callable[[], Response],
    *parts: Any,
    headers: dict[str, str] | None = None,
) -> Response:
    """``build()`` with ETag and Cache-Control, or 304 when the client holds it already."""
    tag = request_etag(request, release, *parts)
    extra = cache_headers(request, tag) | (headers or {})
    if etag_matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=extra)
    response = build()
    response.headers.update(extra)
    return response
