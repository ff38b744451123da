"""JSON API: release summary, colour scales, enterprises and their cards, PM2.5 point values
and the record match report (statistics: ``api.stats``)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Request

from ...layers.periods import bounds, period_type, quarter_of
from ...settings import Settings
from ..deps import (
    NAME_PATTERN,
    EnterpriseFilter,
    EnterpriseId,
    MatchReportFilter,
    PageParams,
    PointParams,
    ReleaseDep,
    parse_bbox,
    pinned_query,
)
from ..errors import ERROR_RESPONSES, InvalidParameterError, NotFoundError
from ..releases.records import PM25_SOURCE, facility_card
from ..releases.release import Enterprises, Release, plain, search_key
from ..tiles.routes import base_url


def release_summary(release: Release, base: str, pin: str = "") -> dict[str, Any]:
    """What the web page needs: quarters, layers with archive URLs, sources, colour scales.

    ``pin`` (``?release=<id>`` or empty) is appended to the archive URLs."""
    manifest = release.manifest
    names = {path: name for name, path in release.pmtiles_names.items()}
    layers = []
    for layer in release.layers.values():
        urls = {
            key: f"{base}/pmtiles/{names[path]}.pmtiles{pin}" for key, path in layer.files.items()
        }
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
        "title_zh": manifest.get("title_zh", ""),
        "synthetic": bool(manifest.get("synthetic", False)),
        "quarters": list(release.quarters),
        "periods": plain(release.periods),
        "timeline": list(release.timeline),
        "layers": layers,
        "sources": plain(release.sources),
        "colormaps": sorted(release.colormaps),
        "summary": plain(manifest.get("summary", {})),
        "files": len(release.files),
    }


def timeline_position(release: Release, quarter: str) -> int:
    """Index of ``quarter`` in the release timeline; InvalidParameterError when absent."""
    try:
        return release.timeline.index(quarter)
    except ValueError:
        raise InvalidParameterError(f"quarter {quarter!r} is not in the timeline") from None


def period_quarters(label: str) -> tuple[str, str]:
    """First and last quarter of a period: a month's quarter, a quarter, a year's Q1 to Q4."""
    kind = period_type(label)
    if kind == "year":
        return f"{label}Q1", f"{label}Q4"
    quarter = label if kind == "quarter" else quarter_of(bounds(label)[0])
    return quarter, quarter


def enterprise_mask(release: Release, filters: EnterpriseFilter, max_area: float) -> np.ndarray:
    """Boolean mask over the enterprises matching every given filter."""
    data, records = release.enterprises, release.records
    mask = np.ones(len(data.features), dtype=bool)
    bbox = parse_bbox(filters.bbox, max_area)
    if bbox is not None:
        west, south, east, north = bbox
        mask &= (data.lon >= west) & (data.lon <= east)
        mask &= (data.lat >= south) & (data.lat <= north)
    if filters.industry is not None:
        mask &= data.industry == filters.industry
    if filters.province is not None:
        mask &= data.province == filters.province
    if filters.q is not None:
        key = search_key(filters.q)
        if not key:
            raise InvalidParameterError("q must contain more than spaces, apostrophes and hyphens")
        mask &= np.char.find(data.text, key) >= 0
    if filters.statuses:
        mask &= np.isin(data.status, filters.statuses)
    if filters.min_capacity is not None:
        mask &= data.capacity >= filters.min_capacity  # NaN (unknown) never passes
    if filters.coking is not None:
        mask &= data.coking == filters.coking
    if filters.period is not None:
        mask &= data.operating(*period_quarters(filters.period))
    if filters.quarter is not None:
        row = timeline_position(release, filters.quarter)
        if filters.period is None:  # else the period decides who operated (a year: any quarter)
            mask &= data.operating(filters.quarter, filters.quarter)
        cited, up = records.violations_12m[row] > 0, records.output_up[row]
    else:
        cited, up = records.counts > 0, records.any_output_up
    if filters.has_violations is not None:
        mask &= cited == filters.has_violations
    if filters.output_up is not None:
        mask &= up == filters.output_up
    return mask


def enterprise_feature(release: Release, index: int, quarter: str | None) -> dict[str, Any]:
    """One enterprise as GeoJSON with ``records`` and, given a quarter, its ``facts``."""
    feature = plain(release.enterprises.features[index])
    props = feature["properties"]
    props["records"] = int(release.records.counts[index])
    if quarter is not None:
        facts = release.records.facts.get(feature["id"], {}).get(quarter)
        props["facts"] = plain(facts) if facts is not None else None
    return feature


def pm25_attribution(release: Release) -> str | None:
    """Attribution of the PM2.5 grids: source ``cnemc``, else the first raster layer's title."""
    for source in release.sources:
        if source.get("id") == PM25_SOURCE:
            return str(source.get("attribution"))
    rasters = [layer.title for layer in release.layers.values() if layer.kind == "raster"]
    return rasters[0] if rasters else None


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


def facet(values: np.ndarray) -> list[dict[str, Any]]:
    """``[{value, count}]`` of the non-empty values, most frequent first."""
    found, counts = np.unique(values[values != ""], return_counts=True)
    order = sorted(zip(found.tolist(), counts.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
    return [{"value": value, "count": count} for value, count in order]


def capacity_units(data: Enterprises) -> dict[str, str]:
    """The capacity unit of each industry's plants (their most frequent) in ``data``
    (``release.enterprises``)."""
    units = np.array([str(f["properties"].get("capacity_unit") or "") for f in data.features],
                     dtype=str)  # fmt: skip
    return {
        kind: found[0]["value"]
        for kind in np.unique(data.industry[data.industry != ""]).tolist()
        if (found := facet(units[data.industry == kind]))
    }


def enterprise_index(release: Release, enterprise_id: str) -> int:
    """Position of an enterprise; NotFoundError for an unknown id."""
    index = release.enterprises.by_id.get(enterprise_id)
    if index is None:
        raise NotFoundError("unknown enterprise")
    return index


def api_router(settings: Settings) -> APIRouter:
    """Routes under ``/api`` and ``/healthz``."""
    router = APIRouter(responses=ERROR_RESPONSES)

    @router.get("/healthz", tags=["meta"])
    def healthz(release: ReleaseDep) -> dict[str, Any]:
        """Liveness and the id of the served release."""
        return {"ok": True, "release": release.id}

    @router.get("/api/release", tags=["meta"])
    def release_info(release: ReleaseDep, request: Request) -> dict[str, Any]:
        """Summary of the served release's manifest."""
        return release_summary(release, base_url(request, settings), pinned_query(request))

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
        mask = enterprise_mask(release, filters, settings.max_bbox_area_deg2)
        index = np.flatnonzero(mask)
        limit = min(page.limit, settings.max_page_size)
        chosen = index[page.offset : page.offset + limit]
        return {
            "type": "FeatureCollection",
            "total": len(index),
            "limit": limit,
            "offset": page.offset,
            "features": [enterprise_feature(release, int(i), filters.quarter) for i in chosen],
        }

    @router.get("/api/enterprises/facets", tags=["enterprises"])
    def enterprise_facets(release: ReleaseDep) -> dict[str, Any]:
        """The industries, provinces and statuses present, each with its number of
        enterprises; the capacity unit of each industry (its plants' most frequent); the
        number of plants with the coking marker."""
        data = release.enterprises
        facets: dict[str, Any] = {name: facet(getattr(data, name))
                                  for name in ("industry", "province", "status")}
        facets["capacity_units"] = capacity_units(data)
        facets["coking"] = int(data.coking.sum())
        return facets

    @router.get("/api/enterprises/{enterprise_id}", tags=["enterprises"])
    def enterprise(release: ReleaseDep, enterprise_id: EnterpriseId) -> dict[str, Any]:
        """One enterprise as a GeoJSON Feature."""
        return enterprise_feature(release, enterprise_index(release, enterprise_id), None)

    @router.get("/api/enterprises/{enterprise_id}/card", tags=["enterprises"])
    def enterprise_card(release: ReleaseDep, enterprise_id: EnterpriseId) -> dict[str, Any]:
        """The facility card: identity, location, cited records, output, facts per quarter."""
        index = enterprise_index(release, enterprise_id)
        return facility_card(
            release.enterprises.features[index],
            release.records,
            release.timeline,
            pm25_attribution(release),
            release.sources,
        )

    @router.get("/api/records/match-report", tags=["records"])
    def match_report(
        release: ReleaseDep,
        filters: Annotated[MatchReportFilter, Depends()],
        page: Annotated[PageParams, Depends()],
    ) -> dict[str, Any]:
        """How each violation and output record was matched to an enterprise, paged."""
        rows = [
            r for r in release.records.match_report
            if filters.status is None or r["status"] == filters.status
        ]  # fmt: skip
        limit = min(page.limit, settings.max_page_size)
        return {
            "total": len(rows),
            "limit": limit,
            "offset": page.offset,
            "rows": plain(rows[page.offset : page.offset + limit]),
        }

    @router.get("/api/pm25/point", tags=["pm25"])
    def pm25_point(release: ReleaseDep, point: Annotated[PointParams, Depends()]) -> dict[str, Any]:
        """Mean PM2.5 of a month, quarter or year and its uncertainty (µg/m³) at a point;
        null = no data."""
        value, uncertainty = sample_pm25(release.pm25_cog(point.label), point.lon, point.lat)
        return {
            "lon": point.lon,
            "lat": point.lat,
            "period": point.label,
            **({"quarter": point.quarter} if point.quarter else {}),
            "pm25": value,
            "uncertainty": uncertainty,
            "units": "µg/m³",
        }

    return router
