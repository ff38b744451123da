"""A city's monthly PM2.5 chart as SVG and PNG (matplotlib), for articles and the city panel.

One calendar year (of ``period``): the city's monthly means, its group's (else province's)
mean, the GB 3095-2012 grade II limits (35 annual, 75 24-hour), months that miss the standard's
data-validity rule drawn hollow; title, axis labels and legend from the i18n catalogues, and an
attribution line (PM2.5 source, release id). Text is drawn with the vendored Noto Sans SC (in
the SVG as glyph outlines, so it reads the same without the font). Renders are cached per
release and parameters; rendering runs one at a time (matplotlib keeps global state).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from cachetools import LRUCache
from fastapi import APIRouter, Request, Response

from ...i18n import Lang, place_name
from ...i18n import translate as _
from ...settings import Settings
from ..deps import LangDep, ReleaseDep, vary_language
from ..embeds.canvas import FONT_DIR, FONT_FILE
from ..errors import ERROR_RESPONSES, NotFoundError
from ..releases.release import Release
from .answers import NOT_MODIFIED, cached
from .regions import ANNUAL_LIMIT, DAILY_LIMIT, Region, RegionIndex, number, region_index
from .stats import AdcodePath, PeriodQuery, choose_period, pm25_sources

log = logging.getLogger(__name__)

RENDER_VERSION = "1"  # part of the ETag: bump when the drawing changes
CACHE_SIZE = 64
SVG_NS = "http://www.w3.org/2000/svg"
CITY = "#1f4e79"
REGION = "#7a7a7a"
ANNUAL = "#2e7d32"
DAILY = "#c0392b"
HIGHLIGHT = "#eef2f7"
MUTED = "#555555"
PNG_DPI = 150
SIZE_IN = (8.0, 4.8)
_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def clean(text: str) -> str:
    """Text without control characters (nothing from data can break the SVG)."""
    return text.translate(_CONTROL)


@dataclass(frozen=True)
class ChartText:
    """Every word of the chart, in one language."""

    title: str
    city: str
    region: str | None
    months: tuple[str, ...]
    y_label: str
    annual: str
    daily: str
    invalid: str
    attribution: str
    no_data: str
    description: str


@dataclass(frozen=True)
class ChartData:
    """A year of months: the city's values and validity, the reference region's values."""

    year: str
    months: tuple[str, ...]  # labels 2019-01 …
    city: tuple[float | None, ...]
    valid: tuple[bool | None, ...]
    region: tuple[float | None, ...]
    highlight: int | None  # index of the month shown in the panel


# ---- data ---------------------------------------------------------------------------------


def chart_data(index: RegionIndex, city: Region, period: str) -> ChartData:
    """The months of ``period``'s year; a month without a row is a gap."""
    year = period[:4]
    months = tuple(f"{year}-{m:02d}" for m in range(1, 13))
    reference = index.reference(city)
    rows = index.series(city)
    region_rows = index.series(reference) if reference is not None else {}
    valid = []
    for month in months:
        flag = rows.get(month, {}).get("valid")
        valid.append(None if flag is None else bool(flag))
    return ChartData(
        year=year,
        months=months,
        city=tuple(number(rows.get(m, {}).get("pm25")) for m in months),
        valid=tuple(valid),
        region=tuple(number(region_rows.get(m, {}).get("pm25")) for m in months),
        highlight=months.index(period) if period in months else None,
    )


def chart_text(release: Release, index: RegionIndex, city: Region, data: ChartData,
               lang: Lang) -> ChartText:  # fmt: skip
    name = place_name(lang, city.name_zh, city.name_en)
    reference = index.reference(city)
    region = place_name(lang, reference.name_zh, reference.name_en) if reference else None
    sources = _(lang, "city.chart.sources_sep").join(
        str((lang == "zh" and s.get("attribution_zh")) or s.get("attribution"))
        for s in pm25_sources(release)) or "—"
    attribution = _(lang, "city.chart.attribution", sources=sources, release=release.id)
    if release.manifest.get("synthetic"):
        attribution = _(lang, "city.chart.synthetic", text=attribution)
    values = [(m, v) for m, v in zip(data.months, data.city, strict=True) if v is not None]
    if values:
        high = max(values, key=lambda mv: mv[1])
        low = min(values, key=lambda mv: mv[1])
        description = _(
            lang, "city.chart.description", city=name, year=data.year,
            high_month=_(lang, f"city.chart.month.{int(high[0][5:])}"), high=f"{high[1]:.0f}",
            low_month=_(lang, f"city.chart.month.{int(low[0][5:])}"), low=f"{low[1]:.0f}",
        )  # fmt: skip
    else:
        description = _(lang, "city.chart.no_data")
    return ChartText(
        title=clean(_(lang, "city.chart.title", city=name, year=data.year)),
        city=clean(name),
        region=clean(_(lang, "city.chart.region_mean", region=region)) if region else None,
        months=tuple(_(lang, f"city.chart.month.{m}") for m in range(1, 13)),
        y_label=_(lang, "city.chart.y_axis"),
        annual=_(lang, "city.chart.annual_limit", limit=f"{ANNUAL_LIMIT:g}"),
        daily=_(lang, "city.chart.daily_limit", limit=f"{DAILY_LIMIT:g}"),
        invalid=_(lang, "city.chart.invalid"),
        attribution=clean(attribution),
        no_data=_(lang, "city.chart.no_data"),
        description=clean(description),
    )


# ---- font ---------------------------------------------------------------------------------


def _private_dir() -> Path:
    """``$TMPDIR/lantian-fonts-<uid>``: this user's, not a link, mode 0700."""
    folder = Path(tempfile.gettempdir()) / f"lantian-fonts-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if folder.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{folder} is not a private directory")
    return folder


@lru_cache(maxsize=1)
def font_path() -> Path | None:
    """The vendored Noto Sans SC as TrueType: matplotlib's FreeType reads no WOFF2, so it is
    decompressed once (fontTools with brotli, a few seconds) into a private temp folder and
    reused by later processes; None (matplotlib's default font) if that fails."""
    source = FONT_DIR / FONT_FILE.format(400)
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        target = _private_dir() / f"lantian-noto-sans-sc-400-{digest}.ttf"
        if not target.is_file():
            from fontTools.ttLib import TTFont

            font = TTFont(str(source))
            font.flavor = None
            partial = target.with_name(f"lantian-{os.getpid()}-{threading.get_ident()}.ttf.part")
            font.save(str(partial))
            os.replace(partial, target)
        return target
    except Exception:  # no brotli, no font, a read-only temp dir: Latin-only text
        log.exception("chart font unavailable; charts use matplotlib's default font")
        return None


# ---- drawing ------------------------------------------------------------------------------


def _series(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _y_max(data: ChartData) -> float:
    values = [v for v in (*data.city, *data.region) if v is not None]
    top = max([DAILY_LIMIT, *values]) * 1.12
    step = 25 if top <= 200 else 50
    return math.ceil(top / step) * step


def draw(data: ChartData, text: ChartText, fmt: Literal["svg", "png"]) -> bytes:
    """The chart as SVG or PNG bytes."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D

    path = font_path()

    def face(size: float) -> FontProperties:
        return FontProperties(fname=str(path), size=size) if path else FontProperties(size=size)

    # glyphs as outlines in the SVG; ids that do not change between renders; "$" in a name is
    # text, not mathtext; a hyphen for minus (the font has both)
    rc: dict[Any, Any] = {"svg.fonttype": "path", "svg.hashsalt": "lantian",
                          "text.parse_math": False, "axes.unicode_minus": False}  # fmt: skip
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=SIZE_IN, dpi=100)
        ax = fig.add_axes((0.08, 0.27, 0.9, 0.6))
        x = list(range(12))
        top = _y_max(data)
        if data.highlight is not None:
            ax.axvspan(data.highlight - 0.5, data.highlight + 0.5, color=HIGHLIGHT, zorder=0)
        ax.axhline(ANNUAL_LIMIT, color=ANNUAL, linestyle=(0, (4, 3)), linewidth=1.2, zorder=1)
        ax.axhline(DAILY_LIMIT, color=DAILY, linestyle=(0, (1.5, 2)), linewidth=1.4, zorder=1)
        if text.region is not None:
            ax.plot(x, _series(data.region), color=REGION, linestyle=(0, (6, 3)), linewidth=1.6,
                    zorder=2)  # fmt: skip
        ax.plot(x, _series(data.city), color=CITY, linewidth=2.2, zorder=3)
        for i, (value, valid) in enumerate(zip(data.city, data.valid, strict=True)):
            if value is None:
                continue
            ax.plot([i], [value], marker="o", markersize=7, markeredgewidth=1.8,
                    markeredgecolor=CITY, markerfacecolor="white" if valid is False else CITY,
                    zorder=4, gid=f"month-{i + 1}-{'invalid' if valid is False else 'valid'}")
        ax.set_xlim(-0.5, 11.5)
        ax.set_ylim(0, top)
        ax.set_xticks(x, text.months, fontproperties=face(9.5))
        ticks = list(range(0, int(top) + 1, 25 if top <= 200 else 50))
        ax.set_yticks(ticks, [str(t) for t in ticks], fontproperties=face(9.5))
        ax.set_ylabel(text.y_label, fontproperties=face(10))
        ax.grid(axis="y", color="#e3e3e3", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_title(text.title, loc="left", fontproperties=face(13), pad=10)
        if all(v is None for v in data.city):
            ax.text(5.5, top / 2, text.no_data, ha="center", va="center", color=MUTED,
                    fontproperties=face(12))  # fmt: skip
        handles = [Line2D([], [], color=CITY, linewidth=2.2, marker="o", markerfacecolor=CITY)]
        labels = [text.city]
        if text.region is not None:
            handles.append(Line2D([], [], color=REGION, linestyle=(0, (6, 3)), linewidth=1.6))
            labels.append(text.region)
        if any(v is not None and ok is False for v, ok in zip(data.city, data.valid, strict=True)):
            handles.append(Line2D([], [], color=CITY, linestyle="none", marker="o",
                                  markerfacecolor="white", markeredgewidth=1.8))
            labels.append(text.invalid)
        handles += [Line2D([], [], color=ANNUAL, linestyle=(0, (4, 3)), linewidth=1.2),
                    Line2D([], [], color=DAILY, linestyle=(0, (1.5, 2)), linewidth=1.4)]
        labels += [text.annual, text.daily]
        fig.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.07, 0.06), ncol=3,
                   frameon=False, prop=face(9), handlelength=2.6, columnspacing=1.4)  # fmt: skip
        fig.text(0.08, 0.02, text.attribution, color=MUTED, fontproperties=face(8))
        out = io.BytesIO()
        if fmt == "png":
            fig.savefig(out, format="png", dpi=PNG_DPI, metadata={"Software": None})
            return out.getvalue()
        fig.savefig(out, format="svg", metadata={"Date": None, "Title": text.title})
    return accessible_svg(out.getvalue(), text)


def accessible_svg(svg: bytes, text: ChartText) -> bytes:
    """The SVG with ``<title>``, ``<desc>`` and ``role="img"`` for screen readers."""
    for prefix, uri in (("", SVG_NS), ("xlink", "http://www.w3.org/1999/xlink"),
                        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
                        ("cc", "http://creativecommons.org/ns#"),
                        ("dc", "http://purl.org/dc/elements/1.1/")):  # fmt: skip
        ET.register_namespace(prefix, uri)
    root = ET.fromstring(svg)
    root.set("role", "img")
    root.set("aria-labelledby", "chart-title chart-desc")
    title = ET.Element(f"{{{SVG_NS}}}title", {"id": "chart-title"})
    title.text = text.title
    desc = ET.Element(f"{{{SVG_NS}}}desc", {"id": "chart-desc"})
    desc.text = f"{text.description} {text.attribution}"
    root.insert(0, desc)
    root.insert(0, title)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ---- route --------------------------------------------------------------------------------


def chart_router(settings: Settings) -> APIRouter:
    """Routes ``/api/cities/{adcode}/chart.svg`` and ``/api/cities/{adcode}/chart.png``."""
    router = APIRouter(tags=["stats"], responses=ERROR_RESPONSES)
    cache: LRUCache[tuple[Any, ...], bytes] = LRUCache(CACHE_SIZE)
    cache_lock = threading.Lock()  # cachetools caches are not thread-safe
    draw_lock = threading.Lock()  # nor is matplotlib's state

    def answer(release: Release, request: Request, adcode: str, period: str | None,
               lang: Lang, fmt: Literal["svg", "png"]) -> Response:  # fmt: skip
        index = region_index(release)
        city = index.city(adcode)
        label = choose_period(index, period)
        if label is None:
            raise NotFoundError("this release has no statistics")
        media = "image/svg+xml" if fmt == "svg" else "image/png"

        def build() -> Response:
            key = (str(release.root), release.id, adcode, label, lang, fmt)
            with cache_lock:
                body = cache.get(key)
            if body is None:
                data = chart_data(index, city, label)
                text = chart_text(release, index, city, data, lang)
                with draw_lock:
                    body = draw(data, text, fmt)
                with cache_lock:
                    cache[key] = body
            return Response(body, media_type=media)

        headers = {"Content-Language": lang} | vary_language(request)
        return cached(request, release, build, RENDER_VERSION, lang, headers=headers)

    responses: dict[int | str, dict[str, Any]] = NOT_MODIFIED

    @router.get("/api/cities/{adcode}/chart.svg", response_class=Response,
                responses={200: {"content": {"image/svg+xml": {}}}, **responses})
    def chart_svg(release: ReleaseDep, request: Request, adcode: AdcodePath, lang: LangDep,
                  period: PeriodQuery = None) -> Response:  # fmt: skip
        """The city's monthly PM2.5 in ``period``'s year as SVG (default: the latest month's)."""
        return answer(release, request, adcode, period, lang, "svg")

    @router.get("/api/cities/{adcode}/chart.png", response_class=Response,
                responses={200: {"content": {"image/png": {}}}, **responses})
    def chart_png(release: ReleaseDep, request: Request, adcode: AdcodePath, lang: LangDep,
                  period: PeriodQuery = None) -> Response:  # fmt: skip
        """The same chart as a PNG (1200×720 px)."""
        return answer(release, request, adcode, period, lang, "png")

    return router

