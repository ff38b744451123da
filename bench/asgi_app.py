"""ASGI factory for ``uvicorn --factory asgi_app:create`` (settings from ``LANTIAN_*``), so the
benchmark can compare ``lantian serve`` (Granian) with the same app on uvicorn."""

from __future__ import annotations

from fastapi import FastAPI

from lantian.server.app import create_app
from lantian.settings import Settings


def create() -> FastAPI:
    return create_app(Settings())
