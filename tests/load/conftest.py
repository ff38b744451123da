"""Load-test helpers: releases whose tiles differ, ``lantian serve`` in its own process (see
``tests/served.py``: its URL, RSS and open files) and a concurrent asyncio client.

Durations are short and bounded so the suite stays fast on a shared 2-core CI machine; nothing
here asserts on timing. ``LANTIAN_LOAD_SECONDS`` lengthens the bounded load test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lantian_fixture_release as builder  # registered by tests/conftest.py
from lantian_served import Served, lantian_serve  # registered by tests/conftest.py
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType

B_ID = "20300101T000000Z-b"


# --- releases -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_release(data_dir: Path, src_id: str, new_id: str, *, differ: bool) -> None:
    """``releases/new_id``: a copy of ``src_id``; with ``differ`` its tiles are other bytes.

    The raster archives of the two colour scales swap contents (so B's ``pm25`` tile z/x/y is
    A's ``pm25-cb`` tile) and the enterprise archive is rebuilt without clustering (its z0–3
    tiles change); the manifest's sizes and SHA-256 follow, so B opens as a valid release."""
    dst = builder.copy_release(data_dir / "releases" / src_id, new_id, f"release {new_id}")
    if differ:
        tiles = dst / "tiles"
        for quarter in builder.QUARTERS:
            a, b = tiles / f"pm25_{quarter}.pmtiles", tiles / f"pm25-cb_{quarter}.pmtiles"
            a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
            a.write_bytes(b_bytes)
            b.write_bytes(a_bytes)
        builder.write_pmtiles(
            tiles / "enterprises.pmtiles",
            builder.enterprise_tiles(builder.quarter_facts(), cluster=False),
            builder._header(TileType.MVT, Compression.GZIP, builder.ENTERPRISE_ZOOMS),
            {"name": "enterprises"},
        )
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        path = dst / entry["path"]
        entry["bytes"] = path.stat().st_size
        entry["sha256"] = _sha256(path)
    (dst / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


RASTER = [
    (cmap, q, z, x, y)
    for cmap in ("pm25", "pm25-cb")
    for q in builder.QUARTERS
    for z in range(builder.RASTER_ZOOMS[0], builder.RASTER_ZOOMS[1] + 1)
    for x, y in builder.tiles_covering(z)
]
VECTOR = sorted(builder.enterprise_tiles(builder.quarter_facts()))  # (z, x, y) with a tile


def raster_url(cmap: str, quarter: str, z: int, x: int, y: int) -> str:
    return f"/tiles/{cmap}/{quarter}/{z}/{x}/{y}.png"


def vector_url(z: int, x: int, y: int) -> str:
    return f"/tiles/enterprises/{z}/{x}/{y}.pbf"


def expected_tiles(release_root: Path) -> dict[str, bytes]:
    """``{url: body}`` of every raster and enterprise tile, read with the ``pmtiles`` library
    (not the server's reader); vector bodies gunzipped, as a client receives them."""
    out: dict[str, bytes] = {}

    def read(name: str) -> Reader:
        handle = (release_root / "tiles" / name).open("rb")
        readers.append(handle)
        return Reader(MmapSource(handle))

    readers: list = []
    try:
        for cmap, q, z, x, y in RASTER:
            data = read(f"{cmap}_{q}.pmtiles").get(z, x, y)
            assert data, (cmap, q, z, x, y)
            out[raster_url(cmap, q, z, x, y)] = data
        vector = read("enterprises.pmtiles")
        for z, x, y in VECTOR:
            data = vector.get(z, x, y)
            if data:
                out[vector_url(z, x, y)] = gzip.decompress(data)
    finally:
        for handle in readers:
            handle.close()
    return out


# --- the server process ---------------------------------------------------------------------


def serve(data_dir: Path, tmp_path: Path) -> AbstractContextManager[Served]:
    """``lantian serve`` with its access log on (so 5xx answers show in ``Served.errors``)."""
    return lantian_serve(data_dir, tmp_path / "server.log", "--access-log")


# --- the load generator ---------------------------------------------------------------------


class RawResponse:
    """What the checks read of a response: status, headers (lower-case names), body."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content

    def json(self) -> Any:
        return json.loads(self.content)


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for the server's answers.

    httpx's asyncio pool manages ~30 requests/s with 64 connections on a busy 2-core machine,
    so the client, not the server, would be what is measured; this manages ~10× that."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str] | None = None) -> RawResponse:
        try:
            return await self._get(path, headers or {})
        except BaseException:
            await self.close()  # a half-read answer must not be read as the next one
            raise

    async def _get(self, path: str, headers: dict[str, str]) -> RawResponse:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept-Encoding: gzip"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *rest = head.split("\r\n")
        status = int(status_line.split()[1])
        fields: dict[str, str] = {}
        for line in filter(None, rest):
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:  # 204, 304
            body = b""
        if fields.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return RawResponse(status, fields, body)

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@dataclass
class Result:
    """One request: when it started and ended (monotonic), its status or transport error."""

    kind: str
    url: str
    start: float
    end: float
    status: int | None = None
    error: str | None = None
    problem: str | None = None  # a check of the body or headers that failed
    release: str | None = None  # which release answered, when the check could tell


@dataclass
class Stats:
    results: list[Result] = field(default_factory=list)

    @property
    def errors(self) -> list[Result]:
        return [r for r in self.results if r.error or (r.status or 0) >= 500 or r.problem]

    def rate(self) -> float:
        if not self.results:
            return 0.0
        span = max(r.end for r in self.results) - min(r.start for r in self.results)
        return len(self.results) / span if span > 0 else 0.0


# Makes one request on the connection and checks the answer: (kind, url, status, problem,
# release that answered or None).
Check = Callable[
    [Connection, random.Random], Awaitable[tuple[str, str, int, str | None, str | None]]
]
TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


async def _hammer(base: str, check: Check, connections: int, seconds: float, seed: int) -> Stats:
    stats = Stats()
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        connection = Connection(base)
        try:
            while time.monotonic() < deadline:
                start = time.monotonic()
                try:
                    kind, url, status, problem, release = await asyncio.wait_for(
                        check(connection, rng), timeout=60
                    )
                except (*TRANSPORT_ERRORS, TimeoutError) as e:
                    stats.results.append(Result("?", "?", start, time.monotonic(), error=repr(e)))
                    continue
                end = time.monotonic()
                stats.results.append(Result(kind, url, start, end, status, None, problem, release))
        finally:
            await connection.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return stats


def hammer(
    base: str, check: Check, *, connections: int = 64, seconds: float = 5.0, seed: int = 0
) -> Stats:
    """``connections`` concurrent clients, one keep-alive connection each, for ``seconds``."""
    return asyncio.run(_hammer(base, check, connections, seconds, seed))
