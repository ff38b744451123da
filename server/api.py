"""JSON API: release summary, colour scales, enterprises, PM2.5 point values, statistics."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Request

from ..settings import Settings
from .deps import (
    NAME_PATTERN,
    EnterpriseFilter,
    PageParams,
    PointParams,
    ReleaseDep,
    StatsFilter,
    parse_bbox,
)
from .errors import NotFoundError
from .release import Release, plain
from .tiles import base_url


def release_summary(release: Release, base: str) -> dict[str, Any]:
    """What the web page needs: quarters, layers with archive URLs, sources, colour scales."""
    manifest = release.manifest
    names = {path: name for name, path in release.pmtiles_names.items()}
    layers = []
    for layer in release.layers.values():
        urls = {key: f"{base}/pmtiles/{names[path]}.pmtiles" for key, path in layer.files.items()}
        layers.append(
            {
                "id": layer.id,
                "kind": layer.kind,
                "title": layer.title,
                "units": layer.units,
                "colormap": layer.colormap,
                "minzoom": layer.minzoom,
                "maxzoom": layer.maxzoom,
                "bounds": list(layer.bounds),
                "vector_layers": plain(layer.vector_layers),
                "pmtiles": urls,
            }
        )
    return {
        "id": release.id,
        "format": manifest.get("format"),
        "created": manifest.get("created"),
        "title": manifest.get("title"),
        "synthetic": bool(manifest.get("synthetic", False)),
        "quarters": list(release.quarters),
        "layers": layers,
        "sources": plain(release.sources),
        "colormaps": sorted(release.colormaps),
        "summary": plain(manifest.get("summary", {})),
        "files": len(release.files),
    }


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def sample_pm25(path: Any, lon: float, lat: float) -> tuple[float | None, float | None]:
    """Band 1 and 2 of the COG at (lon, lat); None outside the grid or at nodata."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        left, bottom, right, top = ds.bounds
        if not (left <= lon < right and bottom < lat <= top):
            return None, None
        inv = ~ds.transform
        col = math.floor(inv.a * lon + inv.b * lat + inv.c)
        row = math.floor(inv.d * lon + inv.e * lat + inv.f)
        if not (0 <= row < ds.height and 0 <= col < ds.width):
            return None, None
        window = Window(col, row, 1, 1)
        values = ds.read(window=window, masked=True)[:, 0, 0]
    out: list[float | None] = []
    for band in range(2):
        if band >= len(values) or np.ma.is_masked(values[band]):
            out.append(None)
        else:
            out.append(_number(float(values[band])))
    return out[0], out[1]


def api_router(settings: Settings) -> APIRouter:
    """Routes under ``/api`` and ``/healthz``."""
    router = APIRouter()

    @router.get("/healthz", tags=["meta"])
    def healthz(release: ReleaseDep) -> dict[str, Any]:
        """Liveness and the id of the served release."""
        return {"ok": True, "release": release.id}

    @router.get("/api/release", tags=["meta"])
    def release_info(release: ReleaseDep, request: Request) -> dict[str, Any]:
        """Summary of the served release's manifest."""
        return release_summary(release, base_url(request, settings))

    @router.get("/api/colormaps/{name}", tags=["meta"])
    def colormap(
        release: ReleaseDep, name: Annotated[str, Path(pattern=NAME_PATTERN)]
    ) -> dict[str, Any]:
        """A classed colour scale (legend): classes of {lower, upper, color, rgba, label}."""
        try:
            return plain(release.colormaps[name])
        except KeyError:
            raise NotFoundError(f"unknown colormap {name!r}") from None

    @router.get("/api/enterprises", tags=["enterprises"])
    def enterprises(
        release: ReleaseDep,
        filters: Annotated[EnterpriseFilter, Depends()],
        page: Annotated[PageParams, Depends()],
    ) -> dict[str, Any]:
        """Enterprises as a GeoJSON FeatureCollection, filtered and paged."""
        data = release.enterprises
        mask = np.ones(len(data.features), dtype=bool)
        bbox = parse_bbox(filters.bbox, settings.max_bbox_area_deg2)
        if bbox is not None:
            west, south, east, north = bbox
            mask &= (data.lon >= west) & (data.lon <= east)
            mask &= (data.lat >= south) & (data.lat <= north)
        if filters.industry is not None:
            mask &= data.industry == filters.industry
        if filters.province is not None:
            mask &= data.province == filters.province
        if filters.q is not None:
            mask &= np.char.find(data.text, filters.q.lower()) >= 0
        index = np.flatnonzero(mask)
        limit = min(page.limit, settings.max_page_size)
        chosen = index[page.offset : page.offset + limit]
        return {
            "type": "FeatureCollection",
            "total": len(index),
            "limit": limit,
            "offset": page.offset,
            "features": [plain(data.features[i]) for i in chosen],
        }

    @router.get("/api/enterprises/{enterprise_id}", tags=["enterprises"])
    def enterprise(
        release: ReleaseDep,
        enterprise_id: Annotated[str, Path(min_length=1, max_length=128)],
    ) -> dict[str, Any]:
        """One enterprise as a GeoJSON Feature."""
        index = release.enterprises.by_id.get(enterprise_id)
        if index is None:
            raise NotFoundError("unknown enterprise")
        return plain(release.enterprises.features[index])

    @router.get("/api/pm25/point", tags=["pm25"])
    def pm25_point(release: ReleaseDep, point: Annotated[PointParams, Depends()]) -> dict[str, Any]:
        """Quarterly mean PM2.5 and its uncertainty (µg/m³) at a point; null = no data."""
        value, uncertainty = sample_pm25(release.pm25_cog(point.quarter), point.lon, point.lat)
        return {
            "lon": point.lon,
            "lat": point.lat,
            "quarter": point.quarter,
            "pm25": value,
            "uncertainty": uncertainty,
            "units": "µg/m³",
        }

    @router.get("/api/stats", tags=["stats"])
    def stats(release: ReleaseDep, filters: Annotated[StatsFilter, Depends()]) -> dict[str, Any]:
        """Regional PM2.5 statistics rows matching every given filter."""
        wanted = {k: v for k, v in vars(filters).items() if v is not None}
        rows = [plain(r) for r in release.stats if all(r.get(k) == v for k, v in wanted.items())]
        return {"total": len(rows), "rows": rows}

    return router
