"""``lantian serve --workers 2``: worker processes get the CLI's settings and serve tiles."""

from __future__ import annotations

from pathlib import Path

import httpx
from lantian_served import lantian_serve  # registered by tests/conftest.py
from typer.testing import CliRunner

from lantian import cli


def test_serve_with_two_workers(fixture_release, tmp_path: Path) -> None:
    options = ("--workers", "2", "--release", fixture_release.id)
    with lantian_serve(fixture_release.data_dir, tmp_path / "serve.log", *options) as server:
        assert httpx.get(f"{server.url}/api/release").json()["id"] == fixture_release.id
        tile = httpx.get(f"{server.url}/tiles/enterprises/5/26/12.pbf")
        assert tile.status_code == 200 and tile.headers["etag"].startswith(f'"{fixture_release.id}')
        assert len(server.workers()) == 2


def test_serve_without_a_release_says_so_and_exits(tmp_path: Path) -> None:
    """No release yet (or a broken one): one clear error, not a crash loop of worker tracebacks."""
    result = CliRunner().invoke(cli.app, ["serve", "--data-dir", str(tmp_path / "var")])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"no release manifest at {tmp_path / 'var' / 'current'}" in message
    assert "lantian build --demo" in message
    assert "Traceback" not in result.output
