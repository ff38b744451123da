"""The application factory: ``create_app(settings)`` and ``run(settings)``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ..settings import Settings
from .api import api_router
from .downloads import downloads_router
from .embed import embed_router
from .errors import add_exception_handlers
from .extract import extract_router
from .fastpath import TileFastPath
from .preview import preview_router
from .registry import ReleaseRegistry
from .tiles import tile_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the release chosen by ``settings`` (loaded at startup)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = ReleaseRegistry(settings)
        registry.current()  # fail at startup, not on the first request, without a release
        app.state.releases = registry
        try:
            yield
        finally:
            registry.close()

    app = FastAPI(
        title="lantian",
        description="Quarterly PM2.5 grids and steel/coal plants as map tiles and open data.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    add_exception_handlers(app)
    app.add_middleware(TileFastPath, settings=settings)
    app.include_router(tile_router(settings))
    app.include_router(api_router(settings))
    app.include_router(downloads_router(settings))
    app.include_router(preview_router(settings))
    app.include_router(extract_router(settings))
    app.include_router(embed_router(settings))

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """``create_app`` with settings from ``LANTIAN_*`` variables (what uvicorn workers import)."""
    return create_app(Settings())


def run(settings: Settings, workers: int = 1) -> None:
    """Serve the app with uvicorn on ``settings.host:settings.port`` in ``workers`` processes."""
    import uvicorn

    if workers == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
        return
    values = settings.model_dump(exclude_none=True)
    values["data_dir"] = Path(values["data_dir"]).resolve()
    os.environ.update({f"LANTIAN_{name.upper()}": str(v) for name, v in values.items()})
    uvicorn.run(
        "lantian.server.app:create_app_from_env", factory=True, workers=workers,
        host=settings.host, port=settings.port, log_level="info",
    )  # fmt: skip
