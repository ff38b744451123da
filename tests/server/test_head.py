"""HEAD answers like GET on every route: status and headers, never a body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Message

from lantian.server.head import HeadAsGet

COMPARED = ("content-type", "content-length", "etag", "cache-control", "last-modified")


def _get_paths_without_parameters(client: TestClient) -> list[str]:
    paths = client.get("/openapi.json").json()["paths"]
    return [path for path, operations in paths.items() if "get" in operations and "{" not in path]


def test_head_of_every_get_route_matches_the_get(client: TestClient) -> None:
    """The map page, API, embeds and downloads (uptime checks, ``curl -I``, link checkers)."""
    urls = ["/", "/static/app.js", "/api/pm25/point", "/no/such/page",
            *_get_paths_without_parameters(client)]
    statuses = set()
    for url in urls:
        got = client.get(url)
        head = client.head(url)
        assert head.status_code == got.status_code, url
        assert head.content == b"", url
        for name in COMPARED:
            assert head.headers.get(name) == got.headers.get(name), (url, name)
        statuses.add(got.status_code)
    assert len(urls) > 10
    assert {200, 404, 422} <= statuses


def test_a_method_no_route_takes_is_still_refused(client: TestClient) -> None:
    """Only HEAD borrows the GET: other methods keep their 405 and its ``Allow``."""
    answer = client.post("/api/release")
    assert answer.status_code == 405
    assert "GET" in answer.headers["allow"]


def _messages(app: HeadAsGet, method: str, path: str, pathsend: bool) -> list[Message]:
    extensions: dict[str, object] = {"http.response.pathsend": {}} if pathsend else {}
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": [], "scheme": "http",
             "server": ("test", 80), "extensions": extensions}
    sent: list[Message] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if requests:
            return requests.pop()
        await anyio.sleep_forever()  # no disconnect: the response runs to its end
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    return sent


def test_the_body_is_dropped_at_the_asgi_level(tmp_path: Path) -> None:
    """HTTP clients hide a HEAD's body, so the ASGI messages are checked: one start, one empty
    final body, whether the GET answered in one piece, streamed or sent a file (read by the app,
    or by the server with ``pathsend``)."""
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>" * 40_000)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"chunk"

    framework = FastAPI()  # FastAPI routes, unlike Starlette's, take only the methods given
    framework.add_api_route("/whole", lambda: Response(b"whole", media_type="text/plain"))
    framework.add_api_route("/streamed", lambda: StreamingResponse(chunks()))
    framework.add_api_route("/file", lambda: FileResponse(page))
    app = HeadAsGet(framework, framework.router)
    for path, pathsend in [("/whole", False), ("/streamed", False), ("/file", False),
                           ("/file", True)]:
        got = _messages(app, "GET", path, pathsend)
        head = _messages(app, "HEAD", path, pathsend)
        assert head[0] == got[0], path  # the same status and headers
        assert head[1:] == [{"type": "http.response.body", "body": b""}], path
        assert len(got) > 1 and got[-1] != head[-1], path
