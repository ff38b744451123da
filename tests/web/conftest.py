"""Web fixtures: the fixture release served by uvicorn on a free localhost port, headless
Debian Chromium and a click-at-coordinates helper."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import lantian_fixture_release as builder  # registered by tests/conftest.py
import lantian_fixture_stats as stats_builder  # registered by tests/conftest.py
import pytest
import uvicorn
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from lantian.server.app import create_app
from lantian.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, one per test module."""
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run scripts/install-system"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _on_page(page: Page, lon: float, lat: float) -> tuple[float, float]:
    """Where ``lon, lat`` is drawn, in page pixels."""
    x, y = page.evaluate(
        "([lon, lat]) => { const m = window.lantian.map; const p = m.project([lon, lat]);"
        " const r = m.getCanvas().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
        [lon, lat],
    )
    return float(x), float(y)


def _click_at(page: Page, lon: float, lat: float) -> None:
    """Click the map where ``lon, lat`` is drawn."""
    page.mouse.click(*_on_page(page, lon, lat))


def _pixel_at(page: Page, lon: float, lat: float) -> tuple[int, int, int]:
    """The screenshot's colour where ``lon, lat`` is drawn."""
    x, y = _on_page(page, lon, lat)
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    r, g, b = image.getpixel((round(x), round(y)))  # type: ignore[misc]
    return int(r), int(g), int(b)


@pytest.fixture(scope="session")
def click_at() -> Callable[[Page, float, float], None]:
    """``click_at(page, lon, lat)`` clicks the map where that point is drawn."""
    return _click_at


@pytest.fixture(scope="session")
def pixel_at() -> Callable[[Page, float, float], tuple[int, int, int]]:
    """``pixel_at(page, lon, lat)``: the colour (RGB) drawn at that point."""
    return _pixel_at


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def web_release(tmp_path_factory: pytest.TempPathFactory):
    return builder.build_release(tmp_path_factory.mktemp("webdata"), map_layers=True)


# Months and a year added to the fixture's PM2.5 archives (SYNTHETIC, like the whole fixture).
PERIOD_MONTHS = tuple(f"2019-{m:02d}" for m in range(1, 13))
PERIOD_YEARS = ("2019",)


def add_periods(release: builder.FixtureRelease) -> builder.FixtureRelease:
    """Synthetic grids and raster archives of every month of 2019 and of the year beside the
    quarters (each the field of 2019Q2: 60 µg/m³ at 34 °N, 110 °E)."""
    added = dict.fromkeys([*PERIOD_MONTHS, *PERIOD_YEARS], "2019Q2")
    return builder.add_periods(release, added, "tests/web/conftest.py")


@pytest.fixture(scope="session")
def period_release(tmp_path_factory: pytest.TempPathFactory):
    """The map fixture with month and year archives and statistics (all synthetic)."""
    release = builder.build_release(tmp_path_factory.mktemp("perioddata"), map_layers=True)
    stats_builder.add_statistics(release.root)
    return add_periods(release)


@pytest.fixture(scope="session")
def period_server(period_release) -> Iterator[str]:
    """Base URL of a server of the fixture with months, years and statistics."""
    with running_server(period_release.data_dir) as url:
        yield url


@pytest.fixture(scope="session")
def live_server(web_release) -> Iterator[str]:
    """Base URL of a uvicorn server running in a thread, serving the fixture release."""
    with running_server(web_release.data_dir) as url:
        yield url


@pytest.fixture(scope="session")
def demo_server(demo_release: Path) -> Iterator[str]:
    """Base URL of a server serving the real demo release."""
    with running_server(demo_release) as url:
        yield url


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """Serve ``data_dir``'s current release with uvicorn in a thread."""
    port = _free_port()
    settings = Settings(data_dir=data_dir, port=port)
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
        # Longer than the browser keeps an idle connection: with uvicorn's 5 s a connection it
        # closed as Chromium reused it for a tile failed as "Failed to fetch" (CI, under load).
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
