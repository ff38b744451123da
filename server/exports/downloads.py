"""Downloads: only the exact files listed in the manifest are ever served."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from ...settings import Settings
from ..deps import RangeHeader, ReleaseDep, check_ranges, pinned_query
from ..errors import ERROR_RESPONSES, RANGE_RESPONSES, NotFoundError
from ..releases.release import safe_relative
from ..tiles.routes import base_url


def downloads_router(settings: Settings) -> APIRouter:
    """Routes ``/downloads`` and ``/downloads/{path}``."""
    router = APIRouter(tags=["downloads"], responses=ERROR_RESPONSES)

    @router.get("/downloads")
    def list_downloads(release: ReleaseDep, request: Request) -> dict[str, Any]:
        """Every file of the release, with size, SHA-256, media type and URL."""
        base, pin = base_url(request, settings), pinned_query(request)
        return {
            "release": release.id,
            "files": [
                {
                    "path": f.path,
                    "title": f.title,
                    "bytes": f.bytes,
                    "sha256": f.sha256,
                    "media_type": f.media_type,
                    "url": f"{base}/downloads/{f.path}{pin}",
                }
                for f in release.files.values()
            ],
        }

    # HEAD too: GDAL (/vsicurl/, QGIS) and netCDF byte-range mode ask for the size first.
    @router.get(
        "/downloads/{path:path}",
        response_class=FileResponse,
        responses={200: {"content": {"*/*": {}}}, **RANGE_RESPONSES},
    )
    @router.head("/downloads/{path:path}", include_in_schema=False)
    def download(release: ReleaseDep, path: str, range_: RangeHeader = None) -> FileResponse:
        """One file listed in the manifest (exact path match only), with HTTP Range support;
        served with the media type the manifest gives it."""
        if len(path) > 512 or not safe_relative(path) or path not in release.files:
            raise NotFoundError("file not found")
        entry = release.files[path]
        check_ranges(range_, entry.bytes)
        return FileResponse(
            release.path(path),
            media_type=entry.media_type,
            filename=PurePosixPath(path).name,
        )

    return router
