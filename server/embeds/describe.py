"""A map view in words: the title, alt text and counts of what a view of a release shows.

A view is a release, a timeline quarter, the enterprise filters (bbox, industry, province, q,
has_violations, output_up, status, min_capacity, coking), a raster layer and optionally a PM2.5
period (a month, quarter or year: ``period``; the plants then show the facts of its quarter, a
year's last, unless a quarter is given). ``describe_view`` reads only the release: the enterprise
arrays and per-quarter facts, and a bounded window of the period's PM2.5 COG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ...i18n import Lang, catalogue, format_date, format_number, format_period, plural, translate
from ...layers.periods import period_type
from ..api.routes import capacity_units, enterprise_mask, timeline_position
from ..deps import EnterpriseFilter, parse_bbox
from ..errors import InvalidParameterError, NotFoundError
from ..releases.records import PM25_SOURCE, RECORDS_SOURCE
from ..releases.release import LayerInfo, Release
from .compare import plant_quarter

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
INDUSTRY_COLOURS = {"steel": "#0072b2", "coal_power": "#d55e00", "cement": "#6e6e6e",
                    "coking": "#cc79a7", "chemical": "#56b4e9"}
OTHER_COLOUR = "#009e73"
SENTENCE_SEP = {"en": " ", "zh": ""}
METHODS = ("idw", "kriging")  # interpolation methods the catalogues name (describe.method.*)


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
    quarter: str  # of the plant facts
    lang: Lang  # of the title and alt text
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
    period: str = ""  # of the PM2.5 shown (a month, quarter or year); "": the quarter

    def __post_init__(self) -> None:
        if not self.period:
            object.__setattr__(self, "period", self.quarter)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "quarter": self.quarter,
            "period": self.period,
            "lang": self.lang,
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


def check_period(release: Release, period: str) -> None:
    """``period`` (``2019-01``, ``2019Q1``, ``2019``) a PM2.5 period or a timeline quarter of
    the release: 422 naming ``period`` when malformed, 404 when the release lacks it."""
    try:
        period_type(period)
    except ValueError:
        raise InvalidParameterError(
            f"period: expected a month, quarter or year (2019-01, 2019Q1, 2019), not {period!r}"
        ) from None
    if period not in release.all_periods and period not in release.timeline:
        raise NotFoundError(f"period: no PM2.5 grid for period {period!r}")


def period_quarter(release: Release, period: str | None, quarter: str | None) -> str | None:
    """The quarter of the plant facts: ``quarter`` when given, else the ``period``'s quarter
    (a month's, a year's last) when the timeline has it; None: the caller's default."""
    if quarter is not None or period is None:
        return quarter
    return plant_quarter(release, period)


def shows_grid(release: Release, info: LayerInfo | None, quarter: str, period: str | None) -> bool:
    """Whether the layer has the PM2.5 of the view: of ``period`` when given, else of the
    quarter (one of the release's PM2.5 quarters)."""
    if info is None:
        return False
    if period is not None:
        return period in info.files and period in release.all_periods
    return quarter in info.files and quarter in release.quarters


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


def industry_name(lang: Lang, industry: str) -> str:
    """``coal_power`` → ``coal power`` / ``燃煤发电`` (the map's ``industry.*`` names); unknown
    industries as written."""
    return value_name(lang, "industry", industry or "other")


def value_name(lang: Lang, kind: str, value: str) -> str:
    """A value's name in ``lang``: ``status.operating``, ``unit.MW``…, else as written (as
    ``tValue`` in web/static/i18n.js)."""
    text = catalogue(lang).get(f"{kind}.{value}")
    return str(text) if isinstance(text, str) else value.replace("_", " ")


def _capacity(lang: Lang, release: Release, industry: str, value: float) -> str:
    """``1,000 MW`` / ``1,000 兆瓦``: in the unit of ``industry``'s plants (as the facets')."""
    unit = capacity_units(release.enterprises).get(industry, "")
    amount = format_number(lang, value, 1 if value % 1 else 0)
    return f"{amount} {value_name(lang, 'unit', unit) if unit else ''}".strip()


def province_name(release: Release, lang: Lang, province: str) -> str:
    """A province as the plants name it (``河北省``) in ``lang``: the plants' ``province_en``
    where the release has it, else the gazetteer's English name, else as given."""
    if lang == "zh" or not province:
        return province
    for feature in release.enterprises.features:
        props = feature["properties"]
        if props.get("province") == province and props.get("province_en"):
            return str(props["province_en"])
    return _provinces_en().get(province, province)


@cache
def _provinces_en() -> dict[str, str]:
    from ...geo.gazetteer import PROVINCES_EN

    names: dict[str, str] = {}
    for english, chinese in PROVINCES_EN.items():
        names.setdefault(chinese, english.title())
    return names


def quarter_months(lang: Lang, quarter: str) -> str:
    """``2019Q1`` → ``Jan–Mar`` / ``1–3月``."""
    q = quarter.partition("Q")[2]
    return translate(lang, f"describe.months.q{q}") if q in ("1", "2", "3", "4") else ""


def release_stamp(release: Release, lang: Lang) -> str:
    """``release r-…, built 1 January 2024`` (the build date when the manifest has one)."""
    created = str(release.manifest.get("created") or "")[:10]
    try:
        built = format_date(lang, date.fromisoformat(created))
    except ValueError:
        return translate(lang, "describe.release", id=release.id)
    return translate(lang, "describe.release_built", id=release.id, date=built)


def data_date(release: Release, quarter: str, lang: Lang, plants: str | None = None) -> str:
    """``Data: 2019 Q1 (Jan–Mar) · release r-…, built 1 January 2024``; when the plants'
    quarter differs from the PM2.5 period ``quarter`` (a month, a year), both:
    ``Data: PM2.5 January 2019; plant facts 2019 Q1 (Jan–Mar) · …``."""
    if plants is not None and plants != quarter:
        return translate(lang, "describe.data_date_plants", period=format_period(lang, quarter),
                         quarter=format_period(lang, plants),
                         months=quarter_months(lang, plants),
                         release=release_stamp(release, lang))  # fmt: skip
    return translate(lang, "describe.data_date", period=format_period(lang, quarter),
                     months=quarter_months(lang, quarter),
                     release=release_stamp(release, lang))  # fmt: skip


def _range_text(lang: Lang, low: float, high: float, hemispheres: tuple[str, str]) -> str:
    a, b = format_number(lang, abs(low), 1), format_number(lang, abs(high), 1)
    positive, negative = hemispheres
    if low >= 0 and high >= 0:
        return translate(lang, f"describe.extent.{positive}", a=a, b=b)
    if low < 0 and high < 0:
        return translate(lang, f"describe.extent.{negative}", a=b, b=a)
    return translate(lang, f"describe.extent.{negative}_{positive}", a=a, b=b)


def extent_text(lang: Lang, bbox: BBox) -> str:
    """``113.5–119.8°E, 36.0–42.6°N`` / ``东经113.5–119.8°，北纬36.0–42.6°``."""
    west, south, east, north = bbox
    return translate(lang, "describe.extent", lon=_range_text(lang, west, east, ("e", "w")),
                     lat=_range_text(lang, south, north, ("n", "s")))  # fmt: skip


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


def grid_text(release: Release, quarter: str, summary: PM25Summary | None, lang: Lang) -> str:
    """How the quarter's grid was made, e.g. ``0.01° grid interpolated by inverse distance
    weighting from 1,435 CNEMC monitoring stations``."""
    facts = release.manifest.get("summary") or {}
    method = str(facts.get("method", "")).lower()
    cv = (facts.get("cross_validation") or {}).get(quarter) or {}
    stations = cv.get("n") if isinstance(cv, Mapping) else None
    source = next((s for s in release.sources if s.get("id") == PM25_SOURCE), None)
    res = _resolution_text(summary.resolution) if summary else ""
    grid = translate(lang, "describe.grid.resolution" if res else "describe.grid.plain", res=res)
    if method in METHODS:
        who = "cnemc" if source is not None else "stations"
        stations_text = (
            plural(lang, f"describe.grid.{who}_n", int(stations)) if stations
            else translate(lang, f"describe.grid.{who}")
        )  # fmt: skip
        return translate(lang, "describe.grid.interpolated", grid=grid, stations=stations_text,
                         method=translate(lang, f"describe.method.{method}"))  # fmt: skip
    if source is not None:
        named = str(source.get("title") or source.get("attribution"))
        return translate(lang, "describe.grid.from_source", grid=grid, source=named)
    return grid


def plants_count(lang: Lang, n: int, industry: str | None, zero: bool = False) -> str:
    """``2 plants``, ``1 steel plant``, ``no plants`` (with ``zero``) / ``2家企业``…"""
    if industry:
        name = industry_name(lang, industry)
        if zero and not n:
            return translate(lang, "describe.no_plants_industry", industry=name)
        return plural(lang, "describe.plants_industry", n, industry=name)
    return translate(lang, "describe.no_plants") if zero and not n else plural(
        lang, "describe.plants", n)


def _only(lang: Lang, release: Release, filters: EnterpriseFilter, plants: str) -> str:
    """``plants (only those with status operating and cited for violations)``: the filters
    beyond industry, region and name, as conditions; ``plants`` alone without any."""
    only = []
    if filters.statuses:
        names = (value_name(lang, "status", s) for s in filters.statuses)
        only.append(translate(lang, "describe.only.status",
                              status=translate(lang, "describe.or").join(names)))
    if filters.min_capacity is not None and filters.industry:
        only.append(translate(lang, "describe.only.min_capacity", capacity=_capacity(
            lang, release, filters.industry, filters.min_capacity)))  # fmt: skip
    if filters.coking is not None:
        only.append(translate(lang, "describe.only.coking" if filters.coking
                              else "describe.only.not_coking"))  # fmt: skip
    if filters.has_violations is not None:
        only.append(translate(lang, "describe.only." + (
            "cited" if filters.has_violations else "not_cited")))  # fmt: skip
    if filters.output_up is not None:
        only.append(translate(lang, "describe.only." + ("up" if filters.output_up else "not_up")))
    if not only:
        return plants
    return translate(lang, "describe.only", plants=plants,
                     conditions=translate(lang, "describe.and").join(only))


def _plants_phrase(lang: Lang, release: Release, n: int, filters: EnterpriseFilter,
                   industries: Mapping[str, int]) -> str:  # fmt: skip
    text = plants_count(lang, n, filters.industry, zero=True)
    if filters.province:
        text = translate(lang, "describe.in_province", plants=text,
                         province=province_name(release, lang, filters.province))  # fmt: skip
    if filters.q:
        text = translate(lang, "describe.matching", plants=text, q=filters.q)
    if n:
        text = _only(lang, release, filters, text)
    if not filters.industry and len(industries) > 1:
        parts = translate(lang, "describe.list_sep").join(
            translate(lang, "describe.industry_count", n=format_number(lang, c),
                      industry=industry_name(lang, k))
            for k, c in industries.items()
        )  # fmt: skip
        text = translate(lang, "describe.breakdown", plants=text, parts=parts)
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


def pm25_range(lang: Lang, low: float, high: float) -> str:
    """``35 to 80 µg/m³`` (``35 µg/m³`` when both round alike)."""
    if round(low) == round(high):
        return translate(lang, "describe.value", value=format_number(lang, low))
    return translate(lang, "describe.range", low=format_number(lang, low),
                     high=format_number(lang, high))  # fmt: skip


def _alt(lang: Lang, release: Release, quarter: str, extent: BBox, plants: str,
         counts: Mapping[str, int], summary: PM25Summary | None, has_grid: bool,
         plant_pm25: tuple[float, float] | None, sources: Sequence[Mapping[str, Any]],
         synthetic: bool, plants_quarter: str | None = None) -> str:  # fmt: skip
    """The view in sentences, each a catalogue message with its numbers formatted
    (``quarter``: the period shown; ``plants_quarter``: the plants' quarter when another)."""
    period, where = format_period(lang, quarter), extent_text(lang, extent)
    sentences = [translate(lang, "describe.alt.synthetic")] if synthetic else []
    if has_grid:
        key = {"month": "describe.alt.map_grid_month", "year": "describe.alt.map_grid_year"}.get(
            period_type(quarter), "describe.alt.map_grid")
        sentences.append(translate(lang, key, period=period, where=where,
                                   grid=grid_text(release, quarter, summary, lang),
                                   plants=plants))  # fmt: skip
    else:
        sentences.append(translate(lang, "describe.alt.map_plants", period=period, where=where,
                                   plants=plants))  # fmt: skip
    if plants_quarter is not None and plants_quarter != quarter:
        sentences.append(translate(lang, "describe.alt.plant_quarter",
                                   quarter=format_period(lang, plants_quarter)))  # fmt: skip
    cited, up, both = counts["cited"], counts["output_up"], counts["cited_and_output_up"]
    if counts["plants"]:
        sentences.append(plural(lang, "describe.alt.cited", cited))
        if both:
            sentences.append(plural(lang, "describe.alt.cited_up", both))
        if up > both:
            key = "describe.alt.more_up" if cited else "describe.alt.up"
            sentences.append(plural(lang, key, up - both))
    if has_grid and summary is not None:
        sentences.append(translate(lang, "describe.alt.pm25", range=pm25_range(
            lang, summary.min, summary.max), mean=pm25_range(lang, summary.mean, summary.mean)))
    elif has_grid:
        sentences.append(translate(lang, "describe.alt.no_values"))
    elif release.quarters:
        sentences.append(translate(lang, "describe.alt.no_grid_span", period=period,
                                   first=format_period(lang, release.quarters[0]),
                                   last=format_period(lang, release.quarters[-1])))  # fmt: skip
    else:
        sentences.append(translate(lang, "describe.alt.no_grid", period=period))
    if plant_pm25 is not None:
        sentences.append(translate(lang, "describe.alt.plants_pm25",
                                   range=pm25_range(lang, *plant_pm25)))  # fmt: skip
    if sources:
        names = translate(lang, "describe.sources_sep").join(
            str(s.get("attribution") or s.get("title")) for s in sources)
        sentences.append(translate(lang, "describe.alt.sources", sources=names))
    return SENTENCE_SEP[lang].join(sentences)


def _title(lang: Lang, release: Release, quarter: str, filters: EnterpriseFilter,
           counts: Mapping[str, int], has_grid: bool, synthetic: bool) -> str:  # fmt: skip
    tail = plants_count(lang, counts["plants"], filters.industry)
    if filters.province:
        tail = translate(lang, "describe.in_province", plants=tail,
                         province=province_name(release, lang, filters.province))  # fmt: skip
    if filters.q:
        tail = translate(lang, "describe.title.matching", plants=tail, q=filters.q)
    if counts["plants"]:
        tail = _only(lang, release, filters, tail)
    if counts["plants"] and filters.has_violations is None and counts["cited"]:
        tail = translate(lang, "describe.title.cited", plants=tail,
                         cited=format_number(lang, counts["cited"]))  # fmt: skip
    elif counts["plants"] and filters.has_violations is None:
        tail = translate(lang, "describe.title.none_cited", plants=tail)
    key = "describe.title.grid" if has_grid else "describe.title.plants"
    title = translate(lang, key, period=format_period(lang, quarter), tail=tail)
    return translate(lang, "describe.title.synthetic", title=title) if synthetic else title


def describe_view(
    release: Release,
    filters: EnterpriseFilter,
    layer: str = DEFAULT_LAYER,
    max_area: float = 2_500.0,
    lang: Lang = "en",
    period: str | None = None,
) -> ViewDescription:
    """Title, alt text (in ``lang``) and counts of a view, written from the release's data.

    ``period`` (a month, quarter or year) is the PM2.5 shown and named; the plants show the
    facts of ``filters.quarter``, else of the period's quarter (a year's last). Without either
    the web map's default quarter is described; without ``filters.bbox`` every matching plant
    is counted and the extent is their padded extent."""
    info = raster_layer(release, layer)
    if period is not None:
        check_period(release, period)
    quarter = period_quarter(release, period, filters.quarter) or default_quarter(release)
    shown = period or quarter
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

    has_grid = shows_grid(release, info, quarter, period)
    summary = pm25_summary(release.pm25_cog(shown), extent) if has_grid else None
    plant_pm25 = _plant_pm25(release, mask, quarter)
    sources = view_sources(release, mask, has_grid, cited)
    synthetic = bool(release.manifest.get("synthetic", False))
    plants = _plants_phrase(lang, release, counts["plants"], filters, industries)
    return ViewDescription(
        release=release.id,
        quarter=quarter,
        lang=lang,
        layer=info.id if info is not None else layer,
        colormap=layer_colormap(release, info),
        bbox=extent,
        bbox_given=bbox is not None,
        title=_title(lang, release, shown, filters, counts, has_grid, synthetic),
        alt=_alt(lang, release, shown, extent, plants, counts, summary, has_grid, plant_pm25,
                 sources, synthetic, quarter),
        counts=counts,
        industries=industries,
        has_grid=has_grid,
        pm25=summary,
        plant_pm25=plant_pm25,
        sources=sources,
        synthetic=synthetic,
        mask=mask,
        period=shown,
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
