"""The message catalogues of :mod:`lantian.i18n`, served to the web map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from ..i18n import Lang, catalogue

CACHE_CONTROL = "public, max-age=300"


def catalogue_router() -> APIRouter:
    router = APIRouter(tags=["i18n"])

    @router.get("/i18n/{lang}.json", summary="Every text of the map in one language")
    def messages(lang: Annotated[Lang, Path(description="zh or en")]) -> Any:
        return JSONResponse(catalogue(lang), headers={"Cache-Control": CACHE_CONTROL})

    return router
