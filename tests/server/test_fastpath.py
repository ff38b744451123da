"""The tile fast path answers exactly as the framework's tile routes do.

A query parameter the fast path does not know (``_=``) sends a request on to the routes, which
ignore it: the two answers for every address must be the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.server.tiles import fastpath
from lantian.server.tiles import routes as tiles
from lantian.settings import Settings

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


def test_fast_answers_equal_routed_answers(fresh_client: TestClient, fast_calls: list[str]) -> None:
    client = fresh_client
    statuses = set()
    for url in ADDRESSES:
        fast = client.get(url)
        routed = client.get(url, params={"_": "1"})
        _same(fast, routed)
        statuses.add(fast.status_code)
    assert {200, 204, 404} <= statuses
    assert len(fast_calls) == len(ADDRESSES)  # every address, errors included, tried fast


def test_head_answers_the_gets_status_and_headers(fresh_client: TestClient) -> None:
    """``HEAD`` (curl -I, caches checking a tile) answers like ``GET``, fast or routed."""
    statuses = set()
    for url in ADDRESSES[::7]:
        got = fresh_client.get(url)
        for params in ({}, {"_": "1"}):
            head = fresh_client.head(url, params=params)
            assert head.status_code == got.status_code, url
            assert head.content == b""
            for name in COMPARED:
                assert head.headers.get(name) == got.headers.get(name), (url, name)
        statuses.add(got.status_code)
    assert {200, 204, 404} <= statuses


def test_conditional_and_pinned_requests(fresh_client: TestClient, fast_calls: list[str]) -> None:
    client = fresh_client
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


def test_answers_are_cached_per_release(fresh_client: TestClient, fast_calls: list[str]) -> None:
    client = fresh_client
    url = "/tiles/boundaries/4/13/6.pbf"
    first = client.get(url)
    again = client.get(url)
    _same(again, first)
    etag = first.headers["etag"]
    unchanged = client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag and "content-type" not in unchanged.headers
    assert client.get(url, headers={"If-None-Match": '"other"'}).content == first.content
    assert len(fast_calls) == 1  # read once; the rest came from the cache
    release = client.get("/api/release").json()["id"]
    _same(client.get(url, params={"release": release}), first)
    assert len(fast_calls) == 1  # the pinned address names the same release: same entry


def test_cache_stays_within_its_byte_budget(fixture_release, fast_calls: list[str]) -> None:
    budget = 20_000
    app = create_app(Settings(data_dir=fixture_release.data_dir, tile_cache_bytes=budget))
    with TestClient(app) as client:
        for url in ADDRESSES:
            assert client.get(url).status_code in (200, 204, 404)
        tiles, misses = app.tile_fast_path.tiles, app.tile_fast_path.misses
        assert tiles.currsize > 0 and misses.currsize > 0
        assert tiles.currsize + misses.currsize <= budget
        assert len(tiles) + len(misses) < len(ADDRESSES)
        cached = len(fast_calls)
        for url in ADDRESSES[:5]:  # evicted long ago: read again
            client.get(url)
        assert len(fast_calls) == cached + 5


def test_a_zero_budget_caches_nothing(fixture_release, fast_calls: list[str]) -> None:
    app = create_app(Settings(data_dir=fixture_release.data_dir, tile_cache_bytes=0))
    with TestClient(app) as client:
        url = "/tiles/enterprises/5/26/12.pbf"
        assert client.get(url).content == client.get(url).content
    assert len(fast_calls) == 2
    assert len(app.tile_fast_path.tiles) == len(app.tile_fast_path.misses) == 0


def test_a_flood_of_missing_tiles_leaves_cached_tiles_alone(
    fixture_release, fast_calls: list[str]
) -> None:
    """Distinct missing addresses (a scraper, an attack) fill only the misses' share."""
    app = create_app(Settings(data_dir=fixture_release.data_dir, tile_cache_bytes=64_000))
    with TestClient(app) as client:
        url = "/tiles/enterprises/5/26/12.pbf"
        assert client.get(url).status_code == 200
        flood = [f"/tiles/enterprises/8/{x}/0.pbf" for x in range(256)]  # the far north
        assert {client.get(u).status_code for u in flood} == {404}
        assert len(fast_calls) == 1 + len(flood)
        assert client.get(url).status_code == 200
        assert len(fast_calls) == 1 + len(flood)  # still cached
        assert app.tile_fast_path.misses.currsize <= 64_000 // fastpath.MISSES_SHARE


def test_an_unexpected_failure_gets_the_apps_500(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path sits outside FastAPI's error handling: what it cannot answer, the app
    answers (and logs) in its own format."""

    def unreadable(*args: Any) -> Any:
        raise OSError("disk error")

    monkeypatch.setattr(fastpath, "tile_answer", unreadable)
    monkeypatch.setattr(tiles, "tile_answer", unreadable)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/tiles/enterprises/5/26/12.pbf")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
