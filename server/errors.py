"""The one place where exceptions become HTTP responses (``{"detail": ...}``, no paths)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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


def reason(error: BaseException) -> str:
    """An exception's text for a response: an ``OSError``'s carries the absolute path, so only
    its ``strerror`` is used."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


class RangeNotSatisfiableError(ServerError):
    """A Range header asking for more byte ranges than a file response serves (416)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class ErrorBody(BaseModel):
    """What every error answer holds: a message without internals."""

    detail: str


class ValidationErrorBody(BaseModel):
    """A 422: FastAPI's list of invalid parameters, or a message naming the parameter."""

    detail: str | list[dict[str, Any]]


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    # Inline schema, not ``model``: FastAPI would file it under the route's own media type
    # (text/html for /embed), while errors are always JSON.
    return {
        "description": description,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


# Declared on every router, so the OpenAPI document lists the error answers as they are.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: _json(ErrorBody, "Unknown layer, quarter, tile, file or record."),
    422: _json(ValidationErrorBody, "Invalid parameter."),
    503: _json(ErrorBody, "No release can be served."),
}

# /downloads/{path} answers Range requests (Starlette's FileResponse, at most MAX_RANGES).
RANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    206: {
        "description": "The requested byte range(s) (a multipart/byteranges body for several).",
        "content": {"*/*": {}},
    },
    400: {"description": "Malformed Range header.", "content": {"text/plain": {}}},
    416: {
        "description": "Range not satisfiable, or too many ranges.",
        "content": {
            "text/plain": {},
            "application/json": {"schema": ErrorBody.model_json_schema()},
        },
    },
}

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

    async def too_many_ranges(request: Request, exc: Exception) -> JSONResponse:
        size = exc.size if isinstance(exc, RangeNotSatisfiableError) else "*"
        headers = {"Content-Range": f"bytes */{size}"}
        return JSONResponse({"detail": str(exc)}, status_code=416, headers=headers)

    app.add_exception_handler(RangeNotSatisfiableError, too_many_ranges)

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    app.add_exception_handler(Exception, internal)
