"""The application factory: ``create_app(settings)`` and ``run(settings)``."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import Settings
from .api.chart import chart_router
from .api.routes import api_router
from .api.stats import stats_router
from .catalogues import catalogue_router
from .embeds.preview import preview_router
from .embeds.routes import embed_router
from .errors import add_exception_handlers
from .exports.downloads import downloads_router
from .exports.extract import extract_router
from .feeds.routes import feeds_router
from .head import HeadAsGet
from .releases.registry import ReleaseRegistry
from .releases.release import load_release
from .tiles.diff import diff_router
from .tiles.fastpath import TileFastPath
from .tiles.routes import tile_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


class LantianApp(FastAPI):
    """FastAPI whose tile requests are answered before the framework (``fastpath``).

    Tile answers therefore skip FastAPI's middleware, including its OpenTelemetry hooks; the
    Host check (``settings.allowed_hosts``) comes first for every request, and a ``HEAD`` of a
    ``GET`` route is answered as that ``GET`` without the body (``head``).
    """

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        framework = HeadAsGet(super().__call__, self.router)
        self.tile_fast_path = TileFastPath(framework, settings, self.state)
        self.entry: ASGIApp = self.tile_fast_path
        if settings.allowed_hosts != ["*"]:
            self.entry = TrustedHostMiddleware(self.entry, allowed_hosts=settings.allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.entry(scope, receive, send)


def create_app(settings: Settings) -> LantianApp:
    """A FastAPI app serving the release chosen by ``settings`` (loaded at startup)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = ReleaseRegistry(settings)
        await anyio.to_thread.run_sync(registry.current)  # no release: fail at startup
        app.state.releases = registry
        try:
            yield
        finally:
            registry.close()

    app = LantianApp(
        settings,
        title="lantian",
        description="Quarterly PM2.5 grids and steel/coal plants as map tiles and open data.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    add_exception_handlers(app)
    app.include_router(tile_router(settings))
    app.include_router(diff_router(settings))
    app.include_router(api_router(settings))
    app.include_router(stats_router(settings))
    app.include_router(chart_router(settings))
    app.include_router(feeds_router(settings))
    app.include_router(downloads_router(settings))
    app.include_router(preview_router(settings))
    app.include_router(extract_router(settings))
    app.include_router(embed_router(settings))
    app.include_router(catalogue_router())

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def create_app_from_env() -> LantianApp:
    """``create_app`` with settings from ``LANTIAN_*`` variables (what server workers import)."""
    return create_app(Settings())


def _env_value(value: Any) -> str:
    """A setting as pydantic-settings reads it back from the environment (JSON for lists)."""
    return json.dumps(value) if isinstance(value, list) else str(value)


def _load_app(target: str) -> LantianApp:
    """Granian's loader in each worker process (module-level, so it pickles)."""
    return create_app_from_env()


def run(settings: Settings, workers: int = 1, access_log: bool = False) -> None:
    """Serve the app with Granian on ``settings.host:settings.port`` in ``workers`` processes.

    Granian parses HTTP in Rust and sends ``FileResponse`` bodies itself (ASGI ``pathsend``);
    on uvicorn the same app answered 0.56–0.95× as many tile requests (bench/README.md).
    Workers build the app from ``LANTIAN_*`` variables, set here from ``settings``.
    """
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    load_release(settings).close()  # no or a broken release: one clear error, not a crash loop
    values = settings.model_dump(exclude_none=True)
    values["data_dir"] = Path(values["data_dir"]).resolve()
    os.environ.update({f"LANTIAN_{name.upper()}": _env_value(v) for name, v in values.items()})
    server = Server(
        "lantian.server.app:create_app_from_env", address=settings.host, port=settings.port,
        interface=Interfaces.ASGI, workers=workers, log_level=LogLevels.info,
        log_access=access_log, websockets=False, respawn_failed_workers=True,
    )  # fmt: skip
    server.serve(target_loader=_load_app)
