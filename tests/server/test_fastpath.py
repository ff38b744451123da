"""The tile fast path answers exactly as the framework's tile routes do.

A query parameter the fast path does not know (``_=``) sends a request on to the routes, which
ignore it: the two answers for every address must be the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lantian.server import fastpath

from .conftest import builder

ADDRESSES = [
    f"/tiles/{layer}/{quarter}/{z}/{x}/{y}.png"
    for layer in ("pm25", "pm25-cb")
    for quarter in ("2019Q1", "2019Q2")
    for z in range(0, 10)
    for x, y in builder.tiles_covering(z)[:6]
] + [
    f"/tiles/{layer}/{z}/{x}/{y}.pbf"
    for layer in ("enterprises", "cited", "boundaries")
    for z in range(0, 14)
    for x, y in builder.tiles_covering(z)[:6]
]
COMPARED = ("content-type", "content-length", "cache-control", "etag", "content-encoding")


def _same(fast, routed) -> None:
    assert fast.status_code == routed.status_code
    assert fast.content == routed.content
    for name in COMPARED:
        assert fast.headers.get(name) == routed.headers.get(name), name


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Addresses the fast path answered itself."""
    calls: list[str] = []
    real = fastpath.tile_answer

    def counting(release: Any, layer: Any, key: str, zxy: Any, *args: Any) -> Any:
        calls.append(f"{layer.id}/{key}/{zxy}")
        return real(release, layer, key, zxy, *args)

    monkeypatch.setattr(fastpath, "tile_answer", counting)
    return calls


def test_fast_answers_equal_routed_answers(client: TestClient, fast_calls: list[str]) -> None:
    statuses = set()
    for url in ADDRESSES:
        fast = client.get(url)
        routed = client.get(url, params={"_": "1"})
        _same(fast, routed)
        statuses.add(fast.status_code)
    assert {200, 204, 404} <= statuses
    assert len(fast_calls) == len(ADDRESSES)  # every address, errors included, tried fast


def test_conditional_and_pinned_requests(client: TestClient, fast_calls: list[str]) -> None:
    url = "/tiles/enterprises/5/26/12.pbf"
    first = client.get(url)
    assert first.status_code == 200 and fast_calls
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    release = client.get("/api/release").json()["id"]
    _same(client.get(url, params={"release": release}), first)


@pytest.mark.parametrize(
    "url",
    [
        "/tiles/pm25/2019Q1/3/8/3.png",  # x ≥ 2^z
        "/tiles/pm25/2019Q1/23/0/0.png",  # beyond the zoom limit
        "/tiles/pm25/2019Q9/3/6/3.png",  # not a quarter
        "/tiles/pm25/2031Q1/3/6/3.png",  # a quarter the release lacks
        "/tiles/enterprises/2019Q1/3/6/3.png",  # a vector layer as raster
        "/tiles/nope/3/6/3.pbf",
        "/tiles/enterprises/0/0/0.pbf?release=../x",
        "/tiles/enterprises/0/0/0.pbf?release=20990101T000000Z-missing",
        "/tiles/pm25/2019Q1/0/0/0.png?release=a&release=b",
    ],
)
def test_errors_are_the_frameworks(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 422)
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()
