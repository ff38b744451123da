"""Folium embeds for journalists: a region, a period and filters as one Leaflet map.

The PM2.5 shown is of ``period`` (a month ``2019-01``, a quarter or a year ``2019``) or of
``quarter``; the plants show the facts of ``quarter``, else of the period's quarter (a year's
last: plant facts are quarterly).

``embed_map(release, view, mode, server_url)`` is the one builder (pure over a ``Release``):
PM2.5, plant markers with escaped popups, a legend from the tiles' own colour scale, a title,
the data date and the attribution of every source. Two modes:

- ``linked``: PM2.5 from the server's XYZ tiles and the plants from ``/embed/markers.json``,
  both pinned to the release id, Leaflet from the server's ``/static/vendor``: a small page.
- ``standalone``: one self-contained file: Leaflet and Leaflet.markercluster inlined, PM2.5 as
  an inline PNG overlay reprojected to Web Mercator, plants as a compact inline array,
  clustered; it opens offline.

Both show the release's basemap: the outline of China and its neighbours, the lines of the
area in view and the names of its places, in the embed's language (``lang``: every text of the
page, place and plant names included). Linked embeds draw it, with PM2.5, by MapLibre inside
Leaflet (``style.py``); standalone ones draw it with Leaflet from inline rows (``basemap.py``),
so the file still opens offline.

Used by ``GET /embed`` (``embed_router``: ETag, recent pages kept in memory), ``lantian embed``
and ``lantian.embed(...)``. The view is resolved in ``view``, the page's content written in
``content``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints
from urllib.parse import urlencode

from cachetools import LRUCache
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from ...i18n import Lang, format_period
from ...i18n import translate as _
from ...settings import Settings
from ...tiles.colormaps import PM25_DIFF
from ..deps import (
    NAME_PATTERN,
    PERIOD_PATTERN,
    QUARTER_PATTERN,
    EnterpriseFilter,
    LangDep,
    ReleaseDep,
    parse_bbox,
    vary_language,
)
from ..errors import ERROR_RESPONSES, InvalidParameterError
from ..releases.release import LayerInfo, Release
from ..tiles.routes import base_url, etag_matches
from .assets import (
    EMBED_CSS,
    EMBED_JS,
    assets_digest,
    font_face,
    inline_assets,
    inline_side_by_side,
    script_json,
    vendor_urls,
)
from .basemap import embed_basemap
from .compare import (
    PAIR_PATTERN,
    diff_overlay,
    diff_scale_html,
    pair_texts,
    parse_pair,
    period_overlay,
)
from .content import (
    attributions,
    industry_palette,
    legend_html,
    marker_rows,
    overlay_image,
    title_html,
)
from .describe import INDUSTRY_COLOURS, colormap_doc, describe_view
from .style import RASTER_OPACITY, linked_style
from .view import (
    DEFAULT_LAYER,
    BBox,
    EmbedLimits,
    EmbedView,
    ResolvedView,
    describe_filters,
    padded,
    resolve_view,
)

if TYPE_CHECKING:
    import folium

Mode = Literal["linked", "standalone"]
MODES: tuple[str, ...] = ("linked", "standalone")
MAX_ZOOM = 16
HTML_LANG = {"zh": "zh-CN", "en": "en"}
BASEMAP_PAD = 0.25  # a standalone embed's basemap covers its region and a quarter around it
SERVER_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?$")
ALT_ID = "lt-alt"  # the visually hidden alt text of the map
PAGE_VERSION = "3"  # part of the ETag: bump when the page's building changes
PAGE_CACHE_BYTES = 64 * 2**20  # the built pages of recent /embed requests kept in memory


@dataclass
class EmbedMap:
    """A built embed: ``.html`` is the full page; ``_repr_html_`` shows it in Jupyter."""

    map: folium.Map
    release: str
    quarter: str
    mode: str
    title: str
    bbox: BBox
    markers: int
    alt: str = ""  # the map described in words, from the data
    lang: Lang = "en"
    periods: str | None = None  # two periods: "compare-2019Q1-2019Q3", "diff-…"
    period: str | None = None  # the PM2.5 period asked for: "2019-01", "2019"

    @cached_property
    def html(self) -> str:
        page = str(self.map.get_root().render())
        return page.replace("<html>", f'<html lang="{HTML_LANG[self.lang]}">', 1)

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(self.html, encoding="utf-8")
        return out

    @property
    def filename(self) -> str:
        return f"lantian-{self.release}-{self.periods or self.period or self.quarter}.html"

    def _repr_html_(self) -> str:
        return str(self.map._repr_html_())


# ---- the map ---------------------------------------------------------------------------------


def _embed_script(config: Mapping[str, Any]) -> Any:
    from branca.element import MacroElement
    from jinja2 import Template

    class EmbedScript(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this.code }}"
            "{% endmacro %}"
        )

        def __init__(self) -> None:
            super().__init__()
            self._name = "LantianEmbed"

        def render(self, **kwargs: Any) -> Any:
            assert self._parent is not None
            self.code = EMBED_JS.replace("__MAP__", self._parent.get_name()).replace(
                "__CONFIG__", script_json(config)
            )
            return super().render(**kwargs)

    return EmbedScript()


def check_server_url(server_url: str | None) -> str:
    """An http(s) base URL without query, quotes or spaces (it is written into the page)."""
    if not server_url:
        raise InvalidParameterError("a linked embed needs the lantian server's URL")
    url = server_url.rstrip("/")
    if not SERVER_URL.match(url):
        raise InvalidParameterError("server URL must be http(s)://host[:port][/path]")
    return url


def _bbox_text(bbox: BBox) -> str:
    return ",".join(f"{v:.6f}" for v in bbox)


def markers_query(release: Release, resolved: ResolvedView, lang: Lang) -> str:
    """Query of ``/embed/markers.json`` for ``resolved``, pinned to the release, in ``lang``."""
    f = resolved.filters
    params: dict[str, str] = {"release": release.id, "quarter": resolved.quarter,
                              "bbox": _bbox_text(resolved.bbox), "lang": lang}  # fmt: skip
    for key in ("industry", "province", "q", "status", "min_capacity", "period"):
        value = getattr(f, key)
        if value is not None:
            params[key] = str(value)
    for key in ("has_violations", "output_up", "coking"):
        value = getattr(f, key)
        if value is not None:
            params[key] = "true" if value else "false"
    return urlencode(params)


def _tiles_config(url: str, layer: LayerInfo) -> dict[str, Any]:
    """A Leaflet tile layer of ``url`` within ``layer``'s zooms and bounds (no WebGL)."""
    lw, ls, le, ln = layer.bounds
    return {"url": url, "options": {
        "opacity": RASTER_OPACITY, "maxNativeZoom": layer.maxzoom,
        "minNativeZoom": layer.minzoom, "bounds": [[ls, lw], [ln, le]]}}  # fmt: skip


def _compare_config(release: Release, layer: LayerInfo, doc: Mapping[str, Any],
                    resolved: ResolvedView, server: str | None, lang: Lang,
                    limits: EmbedLimits) -> dict[str, Any]:  # fmt: skip
    """The swipe of ``compare=A,B`` for the embed's script: linked, a MapLibre style per side
    (and Leaflet tiles without WebGL); standalone, an inline overlay per side."""
    pair = resolved.pair
    assert pair is not None
    labels = (pair.a, pair.b)
    label = _(lang, "compare.swipe_label", a=format_period(lang, pair.a),
              b=format_period(lang, pair.b))  # fmt: skip
    if server is None:
        overlays = [
            period_overlay(release.pm25_cog(p), padded(resolved.bbox), doc["classes"],
                           limits.max_overlay_side) if p in layer.files else None
            for p in labels
        ]  # fmt: skip
        return {"overlays": overlays, "label": label, "opacity": RASTER_OPACITY}
    styles, tiles = [], []
    for period in labels:
        shown = period in layer.files
        styles.append(linked_style(server, release, lang, layer if shown else None, period))
        url = f"{server}/tiles/{layer.id}/{period}/{{z}}/{{x}}/{{y}}.png?release={release.id}"
        tiles.append(_tiles_config(url, layer) if shown else None)
    return {"styles": styles, "tiles": tiles, "label": label}


def embed_map(
    release: Release,
    view: EmbedView,
    mode: Mode = "standalone",
    server_url: str | None = None,
    limits: EmbedLimits | None = None,
    lang: Lang = "en",
) -> EmbedMap:
    """The folium map of ``view`` in ``lang``: ``linked`` (needs ``server_url``) or
    ``standalone``."""
    import folium
    from branca.element import Element, Figure

    if mode not in MODES:
        raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}")
    limits = limits or EmbedLimits()
    server = check_server_url(server_url) if mode == "linked" else None
    resolved = resolve_view(release, view, limits)
    described = describe_view(release, describe_filters(view, resolved), (
        resolved.layer.id if resolved.layer is not None else DEFAULT_LAYER),
        limits.max_bbox_area, lang, resolved.period)  # fmt: skip
    pair = resolved.pair
    paired = pair_texts(lang, pair) if pair is not None else None
    title = view.title or (paired.title if paired is not None else described.title)
    alt_text = f"{paired.alt} {described.alt}" if paired is not None else described.alt
    side_by_side = pair is not None and pair.mode == "compare"
    synthetic = bool(release.manifest.get("synthetic", False))
    quarter = resolved.quarter
    shown = resolved.shown  # the period of the PM2.5 (one period)
    west, south, east, north = resolved.bbox

    figure = Figure(title=html.escape(title))
    m = folium.Map(tiles=None, control_scale=True, zoom_start=5, location=[
        (south + north) / 2, (west + east) / 2])  # fmt: skip
    m.add_to(figure)
    texts = attributions(release, lang)
    css = EMBED_CSS
    if mode == "linked":
        assert server is not None
        m.default_js, m.default_css = vendor_urls(server, side_by_side)
        css = font_face(server) + css
    else:
        m.default_js, m.default_css = [], []
        styles, scripts = inline_assets()
        if side_by_side:
            extra_styles, extra_scripts = inline_side_by_side()
            styles, scripts = f"{styles}\n{extra_styles}", f"{scripts}\n{extra_scripts}"
        figure.header.add_child(Element(styles), name="lantian_vendor_css")
        figure.header.add_child(Element(scripts), name="lantian_vendor_js")
    figure.header.add_child(Element(f"<style>{css}</style>"), name="lantian_embed_css")
    # No favicon request (a 404 on the lantian server, a network attempt offline).
    figure.header.add_child(Element('<link rel="icon" href="data:,">'), name="lantian_icon")
    # The alt text written from the data: the page's description, and the map's (the script
    # points the map container's aria-describedby at it).
    alt = html.escape(alt_text)
    figure.header.add_child(Element(f'<meta name="description" content="{alt}">'),
                            name="lantian_description")  # fmt: skip
    figure.html.add_child(Element(f'<p id="{ALT_ID}" class="lt-sr-only">{alt}</p>'),
                          name="lantian_alt")  # fmt: skip

    config: dict[str, Any] = {"bounds": [[south, west], [north, east]], "lang": lang}
    # Before any layer: the script fits the region without animation, so nothing of the
    # initial zoom is requested (and aborted).
    m.add_child(_embed_script(config))

    layer = resolved.layer
    doc = colormap_doc(release, layer.colormap or layer.id) if layer is not None else None
    grid = layer is not None and resolved.has_grid and doc is not None
    scale_html = None
    if pair is not None and layer is not None and doc is not None:
        if pair.mode == "compare":
            config["compare"] = _compare_config(release, layer, doc, resolved, server, lang,
                                                limits)  # fmt: skip
            if server is not None:
                config["style"] = config["compare"]["styles"][1]
        else:
            scale = colormap_doc(release, PM25_DIFF.name)
            scale_html = diff_scale_html(scale, pair, lang)
            if server is not None:
                url = (f"{server}/tiles/{PM25_DIFF.name}/{pair.a}/{pair.b}/{{z}}/{{x}}/{{y}}.png"
                       f"?release={release.id}")  # fmt: skip
                config["style"] = linked_style(server, release, lang, layer, pair.b, url)
                config["pm25Tiles"] = _tiles_config(url, layer)
            else:
                image = diff_overlay(release, pair, padded(resolved.bbox), scale["classes"],
                                     limits.max_overlay_side)  # fmt: skip
                if image is not None:
                    uri, (ow, os_, oe, on) = image
                    folium.raster_layers.ImageOverlay(
                        image=uri, bounds=[[os_, ow], [on, oe]], opacity=RASTER_OPACITY,
                        name=paired.title if paired else "", class_name="lt-pm25",
                        interactive=False,
                    ).add_to(m)  # fmt: skip
    elif mode == "linked":
        assert server is not None
        config["style"] = linked_style(server, release, lang, layer if grid else None, shown)
        if grid:
            assert layer is not None
            url = f"{server}/tiles/{layer.id}/{shown}/{{z}}/{{x}}/{{y}}.png?release={release.id}"
            config["pm25Tiles"] = _tiles_config(url, layer)
    elif grid:
        assert layer is not None and doc is not None
        image = overlay_image(
            release.pm25_cog(shown), padded(resolved.bbox), doc["classes"],
            limits.max_overlay_side,
        )
        if image is not None:
            uri, (ow, os_, oe, on) = image
            folium.raster_layers.ImageOverlay(
                image=uri, bounds=[[os_, ow], [on, oe]], opacity=RASTER_OPACITY,
                name=layer.title, class_name="lt-pm25", interactive=False,
            ).add_to(m)  # fmt: skip

    palette = industry_palette(release, resolved.index)
    present = {
        i if i in INDUSTRY_COLOURS or i else "other"
        for i in (str(v) for v in release.enterprises.industry[resolved.index])
    }
    config.update({
        "title": title,
        "altId": ALT_ID,
        "prefix": "Leaflet · lantian",
        "maxZoom": MAX_ZOOM,
        "attributions": texts,
        "titleHtml": title_html(title, release, quarter, synthetic, lang,
                                paired.sides if paired is not None else None, resolved.period),
        "legendHtml": legend_html(doc, resolved.has_grid or side_by_side, quarter, palette,
                                  int(resolved.index.size), lang, present, scale_html,
                                  resolved.period),
        "industries": [list(p) for p in palette],
        "texts": {"loading": _(lang, "embed.loading"), "loadFailed": _(lang, "embed.load_failed"),
                  "zoomIn": _(lang, "embed.zoom_in"), "zoomOut": _(lang, "embed.zoom_out")},
        "markers": None,
        "markersUrl": None,
    })
    if mode == "linked":
        query = markers_query(release, resolved, lang)
        config["markersUrl"] = f"{server}/embed/markers.json?{query}"
    else:
        config["markers"] = marker_rows(release, resolved, lang)
        config["basemap"] = embed_basemap(release, padded(resolved.bbox, BASEMAP_PAD), lang,
                                          resolved.bbox)  # fmt: skip
    periods = f"{pair.mode}-{pair.a}-{pair.b}" if pair is not None else None
    return EmbedMap(m, release.id, quarter, mode, title, resolved.bbox, int(resolved.index.size),
                    alt_text, lang, periods, resolved.period)


def embed(
    data_dir: str | Path = "var",
    *,
    release: str | None = None,
    quarter: str | None = None,
    bbox: Sequence[float] | None = None,
    province: str | None = None,
    industry: str | None = None,
    q: str | None = None,
    has_violations: bool | None = None,
    output_up: bool | None = None,
    status: str | None = None,
    min_capacity: float | None = None,
    coking: bool | None = None,
    layer: str = DEFAULT_LAYER,
    title: str | None = None,
    mode: Mode = "standalone",
    server_url: str | None = None,
    lang: Lang = "en",
    compare: str | None = None,
    diff: str | None = None,
    period: str | None = None,
) -> EmbedMap:
    """A folium embed from a data dir, for notebooks and scripts::

        lantian.embed(data_dir="var", province="河北省", quarter="2019Q1", lang="zh").save(
            "hebei.html")
        lantian.embed(data_dir="var", province="河北省", period="2019-01")  # a month (or 2019)
        lantian.embed(data_dir="var", province="河北省", compare="2019Q1,2019Q3")  # a swipe
        lantian.embed(data_dir="var", province="河北省", diff="2019Q1,2019Q3")  # B − A
        lantian.embed(data_dir="var", industry="coal_power", status="operating",
                      min_capacity=1000, period="2019")  # operating in 2019, ≥ 1,000 MW
    """
    from ..releases.release import load_release

    settings = Settings(data_dir=Path(data_dir), release=release)
    opened = load_release(settings)
    try:
        view = EmbedView(
            quarter=quarter, bbox=tuple(bbox) if bbox is not None else None,  # type: ignore[arg-type]
            province=province, industry=industry, q=q, has_violations=has_violations,
            output_up=output_up, layer=layer, title=title, compare=parse_pair("compare", compare),
            diff=parse_pair("diff", diff), period=period, status=status,
            min_capacity=min_capacity, coking=coking,
        )  # fmt: skip
        return embed_map(opened, view, mode, server_url, EmbedLimits.from_settings(settings),
                         lang)  # fmt: skip
    finally:
        opened.close()


# ---- HTTP ------------------------------------------------------------------------------------


def search_query(name: str) -> Any:
    """The ``Query`` (checks and description) of the enterprise search's filter ``name``."""
    return get_type_hints(EnterpriseFilter, include_extras=True)[name].__metadata__[0]


@dataclass
class EmbedFilter:
    """Region, period, quarter and filters of an embed (the enterprise search's filters); the
    plants shown are those operating in the ``period``, else in the ``quarter``."""

    quarter: Annotated[
        str | None, Query(pattern=QUARTER_PATTERN, description="Quarter of the plant facts (and, "
                          "without period, of the PM2.5 and the plants operating). Default: the "
                          "period's quarter (a year's last), else the latest PM2.5 quarter.")
    ] = None
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="The PM2.5 of a month, quarter or "
                          "year: 2019-01, 2019Q1 or 2019; only plants operating in it (a year: "
                          "in any of its quarters).")
    ] = None
    bbox: Annotated[
        str | None, Query(max_length=100, description="Region: minlon,minlat,maxlon,maxlat.")
    ] = None
    province: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Province (河北省, 河北 or Hebei): "
              "filters the plants; the region when no bbox is given."),
    ] = None
    industry: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None
    has_violations: Annotated[bool | None, Query(description="Cited plants only.")] = None
    output_up: Annotated[bool | None, Query()] = None
    status: Annotated[str | None, search_query("status")] = None
    min_capacity: Annotated[float | None, search_query("min_capacity")] = None
    coking: Annotated[bool | None, search_query("coking")] = None

    def view(self, max_area: float, **extra: Any) -> EmbedView:
        bbox = parse_bbox(self.bbox, max_area)
        return EmbedView(
            quarter=self.quarter, bbox=bbox, province=self.province, industry=self.industry,
            q=self.q, has_violations=self.has_violations, output_up=self.output_up,
            period=self.period, status=self.status, min_capacity=self.min_capacity,
            coking=self.coking, **extra,
        )  # fmt: skip


@dataclass
class EmbedOptions:
    """Layer, title and mode of an embed."""

    layer: Annotated[
        str, Query(pattern=NAME_PATTERN, description="pm25 or colour-blind-safe pm25-cb.")
    ] = DEFAULT_LAYER
    title: Annotated[str | None, Query(min_length=1, max_length=160)] = None
    mode: Annotated[
        Literal["linked", "standalone"],
        Query(description="linked: small page loading tiles and plants from this server; "
              "standalone: one self-contained HTML file (download) that opens offline."),
    ] = "linked"
    compare: Annotated[
        str | None,
        Query(pattern=PAIR_PATTERN, description="Two periods A,B (months, quarters or years, "
              "e.g. 2019Q1,2019Q3): a swipe between their PM2.5, A left, B right."),
    ] = None
    diff: Annotated[
        str | None,
        Query(pattern=PAIR_PATTERN, description="Two periods A,B of one type (e.g. "
              "2019Q1,2019Q3): the change in PM2.5 B − A with its diverging legend."),
    ] = None

    def pairs(self) -> dict[str, tuple[str, str] | None]:
        return {"compare": parse_pair("compare", self.compare),
                "diff": parse_pair("diff", self.diff)}  # fmt: skip


def page_etag(release: Release, *parts: Any) -> str:
    """An embed page is determined by the release id, the parameters and the building code.

    The ETag is weak: folium names the page's elements at random, so two builds of one page
    differ in those names only."""
    key = [PAGE_VERSION, assets_digest(), release.id, *parts]
    text = json.dumps(key, sort_keys=True, ensure_ascii=False)
    return 'W/"' + hashlib.sha256(text.encode()).hexdigest()[:24] + '"'


def embed_router(settings: Settings) -> APIRouter:
    """Routes ``/embed`` and ``/embed/markers.json``."""
    router = APIRouter(tags=["embed"], responses=ERROR_RESPONSES)
    limits = EmbedLimits.from_settings(settings)

    def cache(request: Request) -> str:
        pinned = "release" in request.query_params
        return settings.tile_cache_control if pinned else "public, max-age=300"

    pages: LRUCache[str, tuple[bytes, dict[str, str]]] = LRUCache(
        PAGE_CACHE_BYTES, getsizeof=lambda page: len(page[0])
    )  # built pages by ETag (a standalone page of all China takes seconds to build)
    lock = threading.Lock()  # cachetools caches are not thread-safe

    @router.get("/embed", response_class=HTMLResponse, responses={304: {}})
    def embed_page(
        release: ReleaseDep,
        request: Request,
        where: Annotated[EmbedFilter, Depends()],
        options: Annotated[EmbedOptions, Depends()],
        lang: LangDep,
    ) -> Response:
        """A Leaflet (folium) map of the region, period and filters, for an iframe: the
        basemap with place names, PM2.5, plants with popups, legend, title, data date, every
        source's attribution, in ``lang``. ``linked`` loads tiles and plants from this server
        (pinned to the release); ``standalone`` is a self-contained file served as a
        download."""
        view = where.view(limits.max_bbox_area, layer=options.layer, title=options.title,
                          **options.pairs())  # fmt: skip
        server = base_url(request, settings)
        linked = options.mode == "linked"
        etag = page_etag(release, asdict(view), options.mode, server if linked else None,
                         asdict(limits), lang)  # fmt: skip
        headers = {"Cache-Control": cache(request), "ETag": etag} | vary_language(request)
        fresh = etag_matches(request.headers.get("if-none-match"), etag.removeprefix("W/"))
        with lock:
            page = pages.get(etag)
        if page is None:
            if fresh:  # no need to build the page: check the view, then answer 304
                if linked:
                    check_server_url(server)
                resolve_view(release, view, limits)
                return Response(status_code=304, headers=headers)
            built = embed_map(release, view, options.mode, server, limits, lang)
            extra = {}
            if options.mode == "standalone":
                extra["Content-Disposition"] = f'attachment; filename="{built.filename}"'
            page = (built.html.encode(), extra)
            if len(page[0]) <= pages.maxsize:
                with lock:
                    pages[etag] = page
        if fresh:
            return Response(status_code=304, headers=headers)
        return HTMLResponse(page[0], headers=headers | page[1])

    @router.get("/embed/markers.json")
    def embed_markers(
        release: ReleaseDep,
        request: Request,
        where: Annotated[EmbedFilter, Depends()],
        lang: LangDep,
    ) -> JSONResponse:
        """The plants of an embed as compact rows ``[lat, lon, industry, flags, name, popup]``
        (flags: 1 cited, 2 output up, 4 approximate, 8 has records), names and popups in
        ``lang``; CORS-open."""
        view = where.view(limits.max_bbox_area)
        resolved = resolve_view(release, view, limits)
        body = {
            "release": release.id,
            "quarter": resolved.quarter,
            "lang": lang,
            "total": int(resolved.index.size),
            "industries": [list(p) for p in industry_palette(release, resolved.index)],
            "markers": marker_rows(release, resolved, lang),
        }
        headers = {"Cache-Control": cache(request), "Access-Control-Allow-Origin": "*"}
        return JSONResponse(body, headers=headers | vary_language(request))

    return router
