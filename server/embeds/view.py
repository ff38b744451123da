"""Where an embed looks: an ``EmbedView`` checked against a release (``resolve_view``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ...geo.enterprises import pinyin_key
from ...settings import Settings
from ..api.routes import enterprise_mask, timeline_position
from ..deps import EnterpriseFilter, parse_bbox
from ..errors import InvalidParameterError, NotFoundError
from ..releases.release import LayerInfo, Release, search_key
from .compare import PeriodPair, check_pair, plant_quarter, view_pair
from .describe import check_period, default_extent, period_quarter, shows_grid

BBox = tuple[float, float, float, float]
DEFAULT_LAYER = "pm25"
MAX_LAT = 85.0
OVERLAY_PAD = 0.5  # the standalone overlay covers the region and half its size around it


@dataclass(frozen=True)
class EmbedView:
    """What an embed shows: quarter, region (``bbox`` and/or ``province``), filters (those of
    the enterprise search), layer, and optionally the PM2.5 of one period (``period``: a month,
    quarter or year) or of two (``compare``: a swipe, ``diff``: the change B − A; ``compare``).

    ``quarter`` (of the plant facts) defaults to the ``period``'s quarter (a month's, a year's
    last), with two periods to B's quarter, else to the latest PM2.5 quarter. The plants are
    those operating in the ``period`` (a year: in any of its quarters), else in the quarter;
    without ``bbox`` the region is the padded extent of the matching plants (of the province
    when given). ``title`` defaults to the one ``view.describe_view`` writes from the data (as the
    PNG preview's), or with two periods to one naming them."""

    quarter: str | None = None
    bbox: BBox | None = None
    province: str | None = None
    industry: str | None = None
    q: str | None = None
    has_violations: bool | None = None
    output_up: bool | None = None
    layer: str = DEFAULT_LAYER
    title: str | None = None
    compare: tuple[str, str] | None = None
    diff: tuple[str, str] | None = None
    period: str | None = None
    status: str | None = None  # comma-separated, as the enterprise search's
    min_capacity: float | None = None  # in the unit of the plants of ``industry`` (required)
    coking: bool | None = None


@dataclass(frozen=True)
class EmbedLimits:
    """What one embed may cost."""

    max_markers: int = 5_000
    max_overlay_side: int = 2_048
    max_bbox_area: float = 2_500.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbedLimits:
        return cls(
            settings.embed_max_markers,
            settings.embed_max_overlay_side,
            settings.max_bbox_area_deg2,
        )


@dataclass(frozen=True)
class ResolvedView:
    """An ``EmbedView`` checked against a release."""

    quarter: str
    layer: LayerInfo | None  # None: the release has no raster layer
    has_grid: bool
    province: str | None
    filters: EnterpriseFilter
    bbox: BBox
    index: np.ndarray = field(repr=False)  # the plants shown (inside bbox, matching filters)
    pair: PeriodPair | None = None  # two periods compared or differenced
    period: str | None = None  # the PM2.5 period asked for (``EmbedView.period``)

    @property
    def shown(self) -> str:
        """The period whose PM2.5 is shown (one period): ``period``, else the quarter."""
        return self.period or self.quarter


def resolve_province(release: Release, name: str) -> str:
    """The province as the plants name it: ``河北省``, ``河北`` or ``Hebei`` → ``河北省``."""
    known = sorted(set(release.enterprises.province.tolist()) - {""})
    if name in known:
        return name
    key = search_key(name)
    found = [p for p in known if p.startswith(name)]
    if not found and key:
        found = [p for p in known if pinyin_key(p).startswith(key)]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidParameterError(f"province {name!r} is ambiguous: {', '.join(found)}")
    raise NotFoundError(f"no plants in province {name!r}")


def _raster(release: Release, layer_id: str) -> LayerInfo | None:
    rasters = {k: v for k, v in release.layers.items() if v.kind == "raster"}
    if layer_id in rasters:
        return rasters[layer_id]
    if not rasters:
        return None
    raise InvalidParameterError(f"layer must be one of {', '.join(sorted(rasters))}")


def _check_bbox(bbox: Sequence[float], max_area: float) -> BBox:
    text = ",".join(repr(float(v)) for v in bbox)
    parsed = parse_bbox(text, max_area)
    assert parsed is not None
    return parsed


def mercator_safe(bbox: BBox) -> BBox:
    west, south, east, north = bbox
    return (max(west, -180.0), max(south, -MAX_LAT), min(east, 180.0), min(north, MAX_LAT))


def padded(bbox: BBox, share: float = OVERLAY_PAD) -> BBox:
    """``bbox`` grown by ``share`` of its size on every side (the overlay outlasts a pan)."""
    west, south, east, north = bbox
    dx, dy = (east - west) * share, (north - south) * share
    return mercator_safe((west - dx, south - dy, east + dx, north + dy))


def resolve_view(release: Release, view: EmbedView, limits: EmbedLimits) -> ResolvedView:
    """Check ``view`` against ``release``: quarter, layer, province, filters, region, plants."""
    layer = _raster(release, view.layer)
    pair = view_pair(view.compare, view.diff)
    if pair is not None:
        check_pair(release, pair)
    if view.period is not None:
        if pair is not None:
            raise InvalidParameterError("period: give period or compare/diff, not both")
        check_period(release, view.period)
    if view.quarter is not None:
        quarter = view.quarter
    elif (own := period_quarter(release, view.period, None)) is not None:
        quarter = own
    elif pair is not None and (paired := plant_quarter(release, pair.b)) is not None:
        quarter = paired
    elif release.quarters:
        quarter = release.quarters[-1]
    elif release.timeline:
        quarter = release.timeline[-1]
    else:
        raise InvalidParameterError("the release has no quarters")
    timeline_position(release, quarter)  # 422 when the quarter is not in the timeline
    has_grid = shows_grid(release, layer, quarter, view.period)
    province = resolve_province(release, view.province) if view.province else None
    # the period shown (one: compare/diff take none) decides which plants operated
    filters = EnterpriseFilter(
        industry=view.industry, province=province, q=view.q, quarter=quarter,
        has_violations=view.has_violations, output_up=view.output_up, status=view.status,
        min_capacity=view.min_capacity, coking=view.coking, period=view.period,
    )  # fmt: skip
    mask = enterprise_mask(release, filters, limits.max_bbox_area)
    if view.bbox is not None:
        bbox = _check_bbox(view.bbox, limits.max_bbox_area)
    else:
        bbox = default_extent(release, mask, limits.max_bbox_area)
    bbox = mercator_safe(bbox)
    west, south, east, north = bbox
    data = release.enterprises
    mask &= (data.lon >= west) & (data.lon <= east) & (data.lat >= south) & (data.lat <= north)
    index = np.flatnonzero(mask)
    if index.size > limits.max_markers:
        raise InvalidParameterError(
            f"{index.size:,} plants match; an embed holds at most {limits.max_markers:,}: "
            "choose a smaller region (bbox, province) or more filters"
        )
    return ResolvedView(quarter, layer, has_grid, province, replace(filters), bbox, index, pair,
                        view.period)  # fmt: skip


def describe_filters(view: EmbedView, resolved: ResolvedView) -> EnterpriseFilter:
    """The filters ``view.describe_view`` describes ``resolved`` by (as ``/api/embed/describe``
    with the embed's query): the province as resolved, the bbox only when one was given."""
    bbox = ",".join(repr(v) for v in resolved.bbox) if view.bbox is not None else None
    return replace(resolved.filters, bbox=bbox)

