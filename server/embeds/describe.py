"""A map view in words: the title, alt text and counts of what a view of a release shows.

A view is a release, a timeline quarter, the enterprise filters (bbox, industry, province, q,
has_violations, output_up) and a raster layer. ``describe_view`` reads only the release: the
enterprise arrays and per-quarter facts, and a bounded window of the quarter's PM2.5 COG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..api.routes import enterprise_mask, timeline_position
from ..deps import EnterpriseFilter, parse_bbox
from ..errors import InvalidParameterError, NotFoundError
from ..releases.records import PM25_SOURCE, RECORDS_SOURCE
from ..releases.release import LayerInfo, Release

BBox = tuple[float, float, float, float]

DEFAULT_LAYER = "pm25"
DEFAULT_EXTENT: BBox = (73.0, 18.0, 135.0, 54.0)
MAX_LAT = 85.0  # Web Mercator stops at ±85.05°
STATS_MAX_SIDE = 1024  # PM2.5 statistics read at most this many cells per side (overviews)
STATIONS_SOURCE = "stations"
BOUNDARIES_SOURCE = "boundaries"
# Enterprise id prefixes whose source id differs from the prefix.
ID_SOURCES = {"rec": RECORDS_SOURCE}
# The plants' marker colours of web/static/markers.js (drawn by the embeds and the preview).
INDUSTRY_COLOURS = {"steel": "#0072b2", "coal_power": "#d55e00", "coking": "#cc79a7"}
OTHER_COLOUR = "#009e73"
QUARTER_MONTHS = {"1": "Jan–Mar", "2": "Apr–Jun", "3": "Jul–Sep", "4": "Oct–Dec"}
METHODS = {
    "idw": "interpolated by inverse distance weighting",
    "kriging": "interpolated by kriging",
}


@dataclass(frozen=True)
class PM25Summary:
    """PM2.5 (µg/m³) over the grid cells of a view: minimum, unweighted mean, maximum."""

    min: float
    mean: float
    max: float
    cells: int
    resolution: float  # degrees per cell of the COG
    sampled: bool  # read from an overview (the view was larger than STATS_MAX_SIDE cells)

    def to_json(self) -> dict[str, Any]:
        return {
            "min": round(self.min, 1),
            "mean": round(self.mean, 1),
            "max": round(self.max, 1),
            "cells": self.cells,
            "resolution_deg": self.resolution,
            "sampled": self.sampled,
            "units": "µg/m³",
        }


@dataclass(frozen=True)
class ViewDescription:
    """What a view shows: ``title`` and ``alt`` are written from ``counts`` and ``pm25``."""

    release: str
    quarter: str
    layer: str
    colormap: str
    bbox: BBox  # the extent drawn: the given bbox, else the default extent
    bbox_given: bool
    title: str
    alt: str
    counts: Mapping[str, int]
    industries: Mapping[str, int]
    has_grid: bool
    pm25: PM25Summary | None
    plant_pm25: tuple[float, float] | None  # range of the plants' mean PM2.5 within 10 km
    sources: tuple[Mapping[str, Any], ...]
    synthetic: bool
    mask: np.ndarray = field(repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "quarter": self.quarter,
            "layer": self.layer,
            "title": self.title,
            "alt": self.alt,
            "counts": dict(self.counts),
            "industries": dict(self.industries),
            "bbox": [round(v, 4) for v in self.bbox],
            "bbox_given": self.bbox_given,
            "has_grid": self.has_grid,
            "pm25": self.pm25.to_json() if self.pm25 else None,
            "plant_pm25": list(self.plant_pm25) if self.plant_pm25 else None,
            "synthetic": self.synthetic,
            "sources": [
                {"id": s.get("id"), "attribution": s.get("attribution"), "url": s.get("url")}
                for s in self.sources
            ],
        }


def default_quarter(release: Release) -> str:
    """The quarter the web map opens on: the first PM2.5 quarter, else the last of the timeline."""
    if release.quarters:
        return release.quarters[0]
    if release.timeline:
        return release.timeline[-1]
    raise InvalidParameterError("the release has no quarters")


def raster_layer(release: Release, layer_id: str) -> LayerInfo | None:
    """The raster layer ``layer_id``; None when the release has no raster at all."""
    rasters = {k: v for k, v in release.layers.items() if v.kind == "raster"}
    if layer_id in rasters:
        return rasters[layer_id]
    if not rasters and layer_id == DEFAULT_LAYER:
        return None
    known = ", ".join(sorted(rasters)) or "none"
    raise InvalidParameterError(f"layer must be a raster layer of the release ({known})")


def layer_colormap(release: Release, layer: LayerInfo | None) -> str:
    if layer is None:
        return DEFAULT_LAYER
    return layer.colormap or layer.id


def colormap_doc(release: Release, name: str) -> Mapping[str, Any]:
    """The legend of scale ``name``: the release's own (the tiles'), else the registry's."""
    doc = release.colormaps.get(name)
    if doc is None:
        from ...tiles.colormaps import get_colormap

        try:
            doc = get_colormap(name).to_json()
        except KeyError:
            raise NotFoundError(f"unknown colormap {name!r}") from None
    return doc


def quarter_label(quarter: str) -> str:
    """``2019Q1`` → ``2019 Q1``."""
    return quarter.replace("Q", " Q")


def quarter_month_span(quarter: str) -> str:
    """``2019Q1`` → ``Jan–Mar``."""
    return QUARTER_MONTHS.get(quarter.partition("Q")[2], "")


def release_stamp(release: Release) -> str:
    """``release r-…, built 2026-11-23`` (the build date when the manifest has one)."""
    created = str(release.manifest.get("created") or "")[:10]
    return f"release {release.id}" + (f", built {created}" if created else "")


def _degrees(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.1f}°{positive if value >= 0 else negative}"


def extent_text(bbox: BBox) -> str:
    """``113.5–119.8°E, 36.0–42.6°N``."""
    west, south, east, north = bbox
    lon = f"{_degrees(west, 'E', 'W')}–{_degrees(east, 'E', 'W')}"
    lat = f"{_degrees(south, 'N', 'S')}–{_degrees(north, 'N', 'S')}"
    if west >= 0 and east >= 0:
        lon = f"{abs(west):.1f}–{_degrees(east, 'E', 'W')}"
    if south >= 0 and north >= 0:
        lat = f"{abs(south):.1f}–{_degrees(north, 'N', 'S')}"
    return f"{lon}, {lat}"


def _clip(bbox: BBox, max_area: float) -> BBox:
    """``bbox`` within Web Mercator's latitudes, shrunk about its centre to ``max_area``."""
    west, south, east, north = bbox
    west, east = max(west, -180.0), min(east, 180.0)
    south, north = max(south, -MAX_LAT), min(north, MAX_LAT)
    area = (east - west) * (north - south)
    if area > max_area:
        scale = math.sqrt(max_area / area) * 0.999
        cx, cy = (west + east) / 2, (south + north) / 2
        half_w, half_h = (east - west) / 2 * scale, (north - south) / 2 * scale
        west, east, south, north = cx - half_w, cx + half_w, cy - half_h, cy + half_h
    return west, south, east, north


def default_extent(release: Release, mask: np.ndarray, max_area: float) -> BBox:
    """Extent of the plants in ``mask`` (padded), else of the PM2.5 grid, else of the plants."""
    data = release.enterprises
    if mask.any():
        lon, lat = data.lon[mask], data.lat[mask]
        west, east = float(lon.min()), float(lon.max())
        south, north = float(lat.min()), float(lat.max())
        pad = max(0.25, 0.05 * max(east - west, north - south))
        return _clip((west - pad, south - pad, east + pad, north + pad), max_area)
    for layer_id in (DEFAULT_LAYER, "enterprises"):
        layer = release.layers.get(layer_id)
        if layer is not None:
            return _clip(layer.bounds, max_area)
    return _clip(DEFAULT_EXTENT, max_area)


def pm25_summary(path: Path, bbox: BBox) -> PM25Summary | None:
    """Min, mean and max of band 1 of the COG within ``bbox``; None without valid cells.

    Reads one window, decimated (from the COG's overviews) to at most ``STATS_MAX_SIDE``
    cells per side, so the cost is bounded whatever the bbox."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import WindowError
    from rasterio.windows import Window, from_bounds

    with rasterio.open(path) as ds:
        full = Window(0, 0, ds.width, ds.height)
        try:
            window = from_bounds(*bbox, transform=ds.transform).intersection(full)
        except WindowError:
            return None
        window = window.round_offsets().round_lengths()
        width, height = max(int(window.width), 1), max(int(window.height), 1)
        window = Window(int(window.col_off), int(window.row_off), width, height)
        factor = max(1, math.ceil(max(width, height) / STATS_MAX_SIDE))
        shape = (max(1, math.ceil(height / factor)), max(1, math.ceil(width / factor)))
        data = ds.read(1, window=window, out_shape=shape, masked=True,
                       resampling=Resampling.nearest)  # fmt: skip
        resolution = abs(float(ds.transform.a))
    values = np.asarray(data.filled(np.nan), dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return PM25Summary(
        float(values.min()), float(values.mean()), float(values.max()),
        int(values.size), resolution, factor > 1,
    )  # fmt: skip


def _resolution_text(resolution: float) -> str:
    return f"{resolution:.3f}".rstrip("0").rstrip(".") + "°"


def grid_text(release: Release, quarter: str, summary: PM25Summary | None) -> str:
    """How the quarter's grid was made, e.g. ``0.01° grid interpolated by … from 1435 stations``."""
    facts = release.manifest.get("summary") or {}
    method = METHODS.get(str(facts.get("method", "")).lower())
    cv = (facts.get("cross_validation") or {}).get(quarter) or {}
    stations = cv.get("n") if isinstance(cv, Mapping) else None
    source = next((s for s in release.sources if s.get("id") == PM25_SOURCE), None)
    words = [f"{_resolution_text(summary.resolution)} grid" if summary else "grid"]
    if method:
        words.append(method)
        who = "CNEMC monitoring stations" if source is not None else "monitoring stations"
        words.append(f"from {stations:,} {who}" if stations else f"from {who}")
    elif source is not None:
        words.append(f"from {source.get('title') or source.get('attribution')}")
    return " ".join(words)


def _industry_name(industry: str) -> str:
    return industry.replace("_", " ") if industry else "other"


def _plants_phrase(n: int, filters: EnterpriseFilter, industries: Mapping[str, int]) -> str:
    noun = "plant" if n == 1 else "plants"
    if filters.industry:
        noun = f"{_industry_name(filters.industry)} {noun}"
    text = f"{n:,} {noun}" if n else f"no {noun}"
    if filters.province:
        text += f" in {filters.province}"
    if filters.q:
        text += f" whose names match “{filters.q}”"
    only = []
    if filters.has_violations is not None:
        only.append(("" if filters.has_violations else "not ") + "cited for violations")
    if filters.output_up is not None:
        only.append("with output up" if filters.output_up else "without output up")
    if only and n:
        text += f" (only those {' and '.join(only)})"
    if not filters.industry and len(industries) > 1:
        text += " (" + ", ".join(f"{c:,} {_industry_name(k)}" for k, c in industries.items()) + ")"
    return text


def _source_ids(release: Release, mask: np.ndarray, has_grid: bool, cited: int) -> list[str]:
    ids: list[str] = []
    if has_grid:
        ids += [PM25_SOURCE, STATIONS_SOURCE]
    for index in np.flatnonzero(mask):
        prefix = str(release.enterprises.features[int(index)]["id"]).partition(":")[0]
        ids.append(ID_SOURCES.get(prefix, prefix))
    if cited or release.records.counts[mask].any():
        ids.append(RECORDS_SOURCE)
    if "boundaries" in release.layers:
        ids.append(BOUNDARIES_SOURCE)
    return ids


def view_sources(
    release: Release, mask: np.ndarray, has_grid: bool, cited: int
) -> tuple[Mapping[str, Any], ...]:
    """The release's sources behind what the view shows, in manifest order."""
    wanted = set(_source_ids(release, mask, has_grid, cited))
    return tuple(s for s in release.sources if s.get("id") in wanted)


def _range(low: float, high: float) -> str:
    return f"{low:.0f} µg/m³" if round(low) == round(high) else f"{low:.0f} to {high:.0f} µg/m³"


def describe_view(
    release: Release,
    filters: EnterpriseFilter,
    layer: str = DEFAULT_LAYER,
    max_area: float = 2_500.0,
) -> ViewDescription:
    """Title, alt text and counts of a view, written from the release's data.

    Without ``filters.quarter`` the web map's default quarter is described; without
    ``filters.bbox`` every matching plant is counted and the extent is their padded extent."""
    info = raster_layer(release, layer)
    quarter = filters.quarter or default_quarter(release)
    filters = replace(filters, quarter=quarter)
    row = timeline_position(release, quarter)
    bbox = parse_bbox(filters.bbox, max_area)
    mask = enterprise_mask(release, filters, max_area)
    extent = bbox if bbox is not None else default_extent(release, mask, max_area)

    records = release.records
    cited_rows = records.violations_12m[row] > 0
    up_rows = records.output_up[row]
    cited = int((mask & cited_rows).sum())
    up = int((mask & up_rows).sum())
    both = int((mask & cited_rows & up_rows).sum())
    found, numbers = np.unique(release.enterprises.industry[mask], return_counts=True)
    industries = dict(
        sorted(zip(found.tolist(), numbers.tolist(), strict=True), key=lambda p: (-p[1], p[0]))
    )
    counts = {"plants": int(mask.sum()), "cited": cited, "output_up": up,
              "cited_and_output_up": both}  # fmt: skip

    has_grid = info is not None and quarter in info.files and quarter in release.quarters
    summary = pm25_summary(release.pm25_cog(quarter), extent) if has_grid else None
    plant_pm25 = _plant_pm25(release, mask, quarter)
    sources = view_sources(release, mask, has_grid, cited)
    synthetic = bool(release.manifest.get("synthetic", False))
    qlabel = quarter_label(quarter)
    plants = _plants_phrase(counts["plants"], filters, industries)

    sentences = []
    if synthetic:
        sentences.append("Synthetic data, not real conditions.")
    where = f"over {extent_text(extent)}"
    if has_grid:
        grid = grid_text(release, quarter, summary)
        sentences.append(f"Map of quarterly mean PM2.5 in {qlabel} ({grid}) {where}, with {plants}")
    else:
        sentences.append(f"Map of {plants} {where} in {qlabel}")
    if counts["plants"]:
        facts = (
            f"{cited:,} cited for environmental violations in the 12 months to the quarter's end"
        )
        if both:
            facts += f", {both:,} of them with output up on a year before"
        if up > both:
            facts += f"; {up - both:,} more with output up" if cited else f"; {up:,} with output up"
        sentences[-1] += f"; {facts}."
    else:
        sentences[-1] += "."
    if has_grid and summary is not None:
        sentences.append(
            f"PM2.5 in view ranges from {_range(summary.min, summary.max)} "
            f"(mean of grid cells {summary.mean:.0f} µg/m³)."
        )
    elif has_grid:
        sentences.append("The PM2.5 grid has no values in view.")
    else:
        grids = release.quarters
        span = f" (the grids cover {quarter_label(grids[0])} to {quarter_label(grids[-1])})"
        sentences.append(f"There is no PM2.5 grid for {qlabel}{span if grids else ''}.")
    if plant_pm25 is not None:
        sentences.append(
            f"Around the plants (mean within 10 km) PM2.5 ranges from {_range(*plant_pm25)}."
        )
    if sources:
        attributions = "; ".join(str(s.get("attribution") or s.get("title")) for s in sources)
        sentences.append(f"Sources: {attributions}.")

    head = f"PM2.5 and plants, {qlabel}" if has_grid else f"Plants, {qlabel}"
    noun = f"{_industry_name(filters.industry)} plants" if filters.industry else "plants"
    tail = f"{counts['plants']:,} {noun}"
    if filters.province:
        tail += f" in {filters.province}"
    if filters.q:
        tail += f" matching “{filters.q}”"
    if counts["plants"] and filters.has_violations is None:
        tail += f", {cited:,} cited for violations"
    title = f"{head}: {tail}" + (" (synthetic data)" if synthetic else "")

    return ViewDescription(
        release=release.id,
        quarter=quarter,
        layer=info.id if info is not None else layer,
        colormap=layer_colormap(release, info),
        bbox=extent,
        bbox_given=bbox is not None,
        title=title,
        alt=" ".join(sentences),
        counts=counts,
        industries=industries,
        has_grid=has_grid,
        pm25=summary,
        plant_pm25=plant_pm25,
        sources=sources,
        synthetic=synthetic,
        mask=mask,
    )


def _plant_pm25(release: Release, mask: np.ndarray, quarter: str) -> tuple[float, float] | None:
    values = []
    for index in np.flatnonzero(mask):
        enterprise_id = str(release.enterprises.features[int(index)]["id"])
        facts = release.records.facts.get(enterprise_id, {}).get(quarter)
        value = facts.get("pm25_10km") if facts is not None else None
        if value is not None and math.isfinite(value):
            values.append(float(value))
    return (min(values), max(values)) if values else None
