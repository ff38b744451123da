"""HEAD on every GET route: the GET's status and headers without its body (RFC 9110 §9.3.2).

FastAPI routes declare ``GET`` only, so uptime checks and ``curl -I`` met a 405 on the map page,
the API and the embeds. Routes with their own ``HEAD`` (tiles, downloads, archives, static
files) keep it.
"""

from __future__ import annotations

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Run a ``HEAD`` that only a ``GET`` route matches as that ``GET`` and drop the body."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or self._matches(scope):
            await self.app(scope, receive, send)
            return
        get = {**scope, "method": "GET"}
        if not self._matches(get):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
            elif not message.get("more_body", False):  # the last body or a pathsend
                await send({"type": "http.response.body", "body": b""})

        await self.app(get, receive, headers_only)

    def _matches(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.router.routes)
