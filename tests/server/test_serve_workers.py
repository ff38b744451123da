"""``lantian serve --workers 2``: worker processes get the CLI's settings and serve tiles."""

from __future__ import annotations

from pathlib import Path

import httpx
from lantian_served import lantian_serve  # registered by tests/conftest.py


def test_serve_with_two_workers(fixture_release, tmp_path: Path) -> None:
    options = ("--workers", "2", "--release", fixture_release.id)
    with lantian_serve(fixture_release.data_dir, tmp_path / "serve.log", *options) as server:
        assert httpx.get(f"{server.url}/api/release").json()["id"] == fixture_release.id
        tile = httpx.get(f"{server.url}/tiles/enterprises/5/26/12.pbf")
        assert tile.status_code == 200 and tile.headers["etag"].startswith(f'"{fixture_release.id}')
        assert len(server.workers()) == 2
