"""``lantian serve --workers 2``: worker processes get the CLI's settings and serve tiles."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_serve_with_two_workers(fixture_release, tmp_path: Path) -> None:
    port = _free_port()
    command = [
        sys.executable, "-m", "lantian", "serve", "--workers", "2", "--port", str(port),
        "--data-dir", str(fixture_release.data_dir), "--release", fixture_release.id,
    ]  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert httpx.get(f"{url}/api/release").json()["id"] == fixture_release.id
        tile = httpx.get(f"{url}/tiles/enterprises/5/26/12.pbf")
        assert tile.status_code == 200 and tile.headers["etag"].startswith(f'"{fixture_release.id}')
        assert len(_children(server.pid)) >= 2
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
