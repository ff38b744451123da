"""``lantian serve`` in its own process on a free loopback port, for tests that need the real
server (its HTTP stack, worker processes, signals) rather than an in-process client."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A running ``lantian serve``: its URL, main process and log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """Pids of the worker processes (Granian serves from children of the main process)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def processes(self) -> list[int]:
        return [self.process.pid, *self.workers()]

    def rss_kib(self) -> int:
        """Resident set size of the main process and its workers together (VmRSS)."""
        total = 0
        for pid in self.processes():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def open_files(self) -> list[str]:
        """Targets of every open file descriptor of the main process and its workers."""
        targets = []
        for pid in self.processes():
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):  # closed meanwhile
                    targets.append(os.readlink(fd))
        return targets

    def errors(self) -> list[str]:
        """Tracebacks and 5xx access-log lines in the server's log."""
        text = self.log.read_text(errors="replace")
        return [ln for ln in text.splitlines() if "Traceback" in ln or '" 50' in ln]


@contextmanager
def lantian_serve(data_dir: Path, log: Path, *options: str) -> Iterator[Served]:
    """Run ``lantian serve --data-dir data_dir [options]`` until the block ends; the server's
    output goes to ``log``. Yields once ``/healthz`` answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "lantian", "serve", "--data-dir", str(data_dir),
               "--host", "127.0.0.1", "--port", str(port), *options]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "lantian serve did not start"
            try:
                if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
