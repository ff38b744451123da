"""``/pmtiles/{name}.pmtiles`` through Starlette's FileResponse: HEAD, byte ranges, the
content-hash ETag and validators, and a cap on the number of ranges."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lantian.server.app import create_app
from lantian.settings import Settings

from .conftest import builder

URL = "/pmtiles/pm25_2019Q1.pmtiles"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory):
    return builder.build_release(tmp_path_factory.mktemp("ranges") / "data")


@pytest.fixture(scope="module")
def client(release) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=release.data_dir))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def data(release) -> bytes:
    return (release.root / "tiles" / "pm25_2019Q1.pmtiles").read_bytes()


@pytest.fixture(scope="module")
def etag(release) -> str:
    manifest = json.loads((release.root / "manifest.json").read_text(encoding="utf-8"))
    sha = next(f["sha256"] for f in manifest["files"] if f["path"] == "tiles/pm25_2019Q1.pmtiles")
    return f'"{sha[:32]}"'


def test_head_gives_the_size(client: TestClient, data: bytes, etag: str) -> None:
    r = client.head(URL)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["accept-ranges"] == "bytes" and r.headers["etag"] == etag


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-126", 0, 126), ("bytes=100-", 100, None), ("bytes=-100", -100, None),
     ("bytes=10-999999", 10, None), ("bytes=-999999", 0, None)],
)  # fmt: skip
def test_ranges(
    client: TestClient, data: bytes, etag: str, header: str, first: int, last: int | None
) -> None:
    r = client.get(URL, headers={"Range": header})
    expected = data[first : None if last is None else last + 1]
    start = first % len(data) if first < 0 else first
    assert r.status_code == 206 and r.content == expected
    assert r.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    assert r.headers["etag"] == etag


def test_many_ranges_are_refused(client: TestClient, data: bytes) -> None:
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(20))
    r = client.get(URL, headers={"Range": header})
    assert r.status_code == 416 and len(r.content) < 200


def test_unsatisfiable_range(client: TestClient, data: bytes) -> None:
    for header in (f"bytes={len(data)}-", "bytes=-0"):
        r = client.get(URL, headers={"Range": header})
        assert r.status_code == 416
        assert r.headers["content-range"] == f"bytes */{len(data)}"


def test_validators(client: TestClient, data: bytes, etag: str) -> None:
    assert client.get(URL, headers={"If-None-Match": etag}).status_code == 304
    stale = client.get(URL, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data
    fresh = client.get(URL, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == data[:10]
