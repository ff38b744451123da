"""The ceiling for any Python app in the tile benchmark: an ASGI app that answers every request
with the same 475 bytes (the demo's mean tile size) and does nothing else, served by Granian as
``lantian serve`` is."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

BODY = bytes(475)
HEADERS = [(b"content-type", b"application/octet-stream"), (b"content-length", b"475")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
