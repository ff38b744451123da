"""The one place where exceptions become HTTP responses (``{"detail": ...}``, no paths)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..errors import LantianError

log = logging.getLogger(__name__)


class ServerError(LantianError):
    """Base class for errors raised while answering a request."""


class NotFoundError(ServerError):
    """A layer, quarter, tile, file or record that the release does not have."""


class InvalidParameterError(ServerError):
    """A parameter that passed type checks but makes no sense (x ≥ 2^z, bbox too large…)."""


class ReleaseUnavailableError(ServerError):
    """No valid release could be found or loaded; raised at startup."""


STATUS_CODES: dict[type[Exception], int] = {
    NotFoundError: 404,
    InvalidParameterError: 422,
    ReleaseUnavailableError: 503,
}


def add_exception_handlers(app: FastAPI) -> None:
    """Register a JSON handler for each mapped error and a catch-all 500 without internals."""

    def _handler(status: int):
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        return handle

    for exc_type, status in STATUS_CODES.items():
        app.add_exception_handler(exc_type, _handler(status))

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    app.add_exception_handler(Exception, internal)
