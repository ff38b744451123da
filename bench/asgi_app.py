"""ASGI factory for ``uvicorn --factory asgi_app:create`` (settings from ``LANTIAN_*``), so the
benchmark can run lantian with ``--workers N``, ``--no-access-log`` and other uvicorn options
that ``lantian serve`` does not expose."""

from __future__ import annotations

from fastapi import FastAPI

from lantian.server.app import create_app
from lantian.settings import Settings


def create() -> FastAPI:
    return create_app(Settings())
