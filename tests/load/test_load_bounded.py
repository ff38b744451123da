"""Issue 5: a bounded load test of ``lantian serve`` on loopback.

64 concurrent keep-alive connections (an asyncio client, portable to CI; no wrk needed) for
``LANTIAN_LOAD_SECONDS`` (default 10 s) over a realistic mix: raster and vector tiles, tiles the
release does not have, enterprise search by bbox, PM2.5 point queries and PMTiles range reads.
Asserted: every answer has the expected status (no 5xx, no connection errors) and the server's
memory and open files are stable (RSS at the start of the second half vs. the end). The rate is
printed, not asserted: CI machines are shared.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from .conftest import (
    RASTER,
    VECTOR,
    Connection,
    builder,
    hammer,
    raster_url,
    serve,
    vector_url,
)

SECONDS = float(os.environ.get("LANTIAN_LOAD_SECONDS", "10"))
CONNECTIONS = 64
RSS_GROWTH_MIB = 50

pytestmark = pytest.mark.timeout(120 + 2 * SECONDS)

BBOXES = ["115,36,120,41", "110,34,122,43", "116,39,117,40", "60,10,70,20"]
ARCHIVES = ["pm25_2019Q1", "pm25-cb_2019Q2", "enterprises", "boundaries"]

# (weight, kind, url maker, expected status)
MIX = [
    (30, "raster", lambda rng: raster_url(*rng.choice(RASTER)), 200),
    (20, "vector", lambda rng: vector_url(*rng.choice(VECTOR)), 200),
    (5, "boundaries", lambda rng: boundary_url(rng), 200),
    (5, "empty tile", lambda rng: "/tiles/enterprises/8/207/97.pbf", 204),
    (5, "outside", lambda rng: f"/tiles/pm25/2019Q1/3/{rng.randint(0, 3)}/7.png", 404),
    (3, "zoom", lambda rng: "/tiles/pm25/2019Q2/9/420/194.png", 404),
    (10, "search", lambda rng: f"/api/enterprises?bbox={rng.choice(BBOXES)}", 200),
    (7, "point", lambda rng: point_url(rng), 200),
    (15, "range", lambda rng: f"/pmtiles/{rng.choice(ARCHIVES)}.pmtiles", 206),
]  # fmt: skip
WEIGHTS = [w for w, *_ in MIX]


def point_url(rng: random.Random) -> str:
    lon, lat = rng.uniform(110.5, 121.5), rng.uniform(34.5, 42.5)
    return f"/api/pm25/point?lon={lon:.3f}&lat={lat:.3f}&quarter={rng.choice(builder.QUARTERS)}"


def boundary_url(rng: random.Random) -> str:
    z = rng.randint(*builder.BOUNDARY_ZOOMS)
    x, y = rng.choice(builder.tiles_covering(z))
    return f"/tiles/boundaries/{z}/{x}/{y}.pbf"


async def check(client: Connection, rng: random.Random):
    _, kind, make, status = rng.choices(MIX, weights=WEIGHTS)[0]
    url = make(rng)
    headers = {}
    if kind == "range":
        start = rng.randrange(0, 2000)
        headers["Range"] = f"bytes={start}-{start + rng.randrange(1, 16384)}"
    response = await client.get(url, headers=headers)
    problem = None
    if response.status_code != status:
        problem = f"expected {status}"
    elif kind == "search" and "features" not in response.json():
        problem = "no features"
    elif kind == "point" and response.json()["quarter"] not in builder.QUARTERS:
        problem = "bad point answer"
    return kind, url, response.status_code, problem, None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builder.build_release(tmp_path_factory.mktemp("load") / "data").data_dir


def settled_fds(server, before: int) -> int:
    """Open descriptors once the server has closed the finished connections (≤ 10 s)."""
    deadline = time.monotonic() + 10
    while (count := len(server.open_files())) > before and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def test_64_connections_zero_errors_stable_memory(data_dir: Path, tmp_path: Path) -> None:
    with serve(data_dir, tmp_path) as server:
        hammer(server.url, check, connections=8, seconds=1.0, seed=1)  # warm up
        fds_before = len(server.open_files())
        rss: dict[str, int] = {"start": server.rss_kib()}
        timer = threading.Timer(SECONDS / 2, lambda: rss.setdefault("half", server.rss_kib()))
        timer.start()
        try:
            stats = hammer(server.url, check, connections=CONNECTIONS, seconds=SECONDS, seed=2)
        finally:
            timer.cancel()
        rss["end"] = server.rss_kib()
        fds_after = settled_fds(server, fds_before)

        latencies = sorted(r.end - r.start for r in stats.results)
        kinds = Counter(r.kind for r in stats.results)
        print(
            f"\nbounded load: {CONNECTIONS} connections, {SECONDS:g} s, {len(stats.results)} "
            f"requests, {stats.rate():.0f} req/s, p50 {latencies[len(latencies) // 2]:.3f} s, "
            f"p99 {latencies[int(len(latencies) * 0.99)]:.3f} s; RSS (MiB) "
            + ", ".join(f"{k} {v / 1024:.1f}" for k, v in rss.items())
            + f"; open fds {fds_before} → {fds_after}; {dict(kinds)}"
        )
        errors = stats.errors
        assert not errors, "\n".join(
            f"{r.kind} {r.url}: {r.status} {r.error or ''} {r.problem or ''}" for r in errors[:20]
        )
        assert len(kinds) == len(MIX), kinds  # every kind of request was made
        assert "half" in rss
        assert rss["end"] - rss["half"] < RSS_GROWTH_MIB * 1024, rss
        assert fds_after <= fds_before + 4, (fds_before, fds_after)
        assert not server.errors()
