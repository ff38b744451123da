"""Assets of the folium embeds: the vendored Leaflet and Leaflet.markercluster (linked from the
lantian server, or inlined into one self-contained file), MapLibre GL and
``@maplibre/maplibre-gl-leaflet`` with the Noto Sans SC font (linked embeds: their basemap and
PM2.5), and the embed's own CSS and JS.

Nothing here points at a third-party CDN: linked embeds load ``/static/vendor/...`` from the
lantian server, standalone embeds carry every byte (Leaflet's images as ``data:`` URIs) and
draw their basemap from inline rows with Leaflet itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import re
from collections.abc import Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from .style import (
    CHINA,
    FONT_STACK,
    HALO,
    LABELS,
    LAND,
    LINES,
    SEA,
    SHAPE_CORNERS,
    shape_points,
)

VENDOR_DIR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
# (name, path under vendor/) in load order: every embed's, then the linked embeds' basemap.
JS = (
    ("leaflet", "leaflet/leaflet.js"),
    ("leaflet_markercluster", "leaflet.markercluster/leaflet.markercluster.js"),
)
CSS = (
    ("leaflet_css", "leaflet/leaflet.css"),
    ("leaflet_markercluster_css", "leaflet.markercluster/MarkerCluster.css"),
)
LINKED_JS = (
    ("maplibre_gl", "maplibre-gl/maplibre-gl.js"),
    ("maplibre_gl_leaflet", "maplibre-gl-leaflet/leaflet-maplibre-gl.js"),
)
LINKED_CSS = (("maplibre_gl_css", "maplibre-gl/maplibre-gl.css"),)
# Embeds of two periods (compare=A,B): the swipe, leaflet-side-by-side (embeds/compare.py).
SIDE_BY_SIDE_JS = (("leaflet_side_by_side", "leaflet-side-by-side/leaflet-side-by-side.js"),)
SIDE_BY_SIDE_CSS = (("leaflet_side_by_side_css", "leaflet-side-by-side/leaflet-side-by-side.css"),)
FONT = "noto-sans-sc/noto-sans-sc-chinese-simplified-400-normal.woff2"
SOURCE_MAP = re.compile(r"^\s*//[#@] sourceMappingURL=.*$", re.MULTILINE)
CSS_URL = re.compile(r"url\((['\"]?)(images/[A-Za-z0-9_.-]+)\1\)")
SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}  # fmt: skip


def script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\u`` escapes,
    so no string in the data can close the script element or start a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: SCRIPT_UNSAFE[m.group(0)], text)


def vendor_urls(
    server_url: str, side_by_side: bool = False
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(js, css) of a linked embed as folium ``default_js``/``default_css`` lists on the
    lantian server (with the swipe's plugin for ``side_by_side``)."""
    base = f"{server_url.rstrip('/')}/static/vendor"
    js: list[tuple[str, str]] = [*JS, *LINKED_JS]
    css: list[tuple[str, str]] = [*CSS, *LINKED_CSS]
    if side_by_side:
        js, css = js + list(SIDE_BY_SIDE_JS), css + list(SIDE_BY_SIDE_CSS)
    return [(n, f"{base}/{p}") for n, p in js], [(n, f"{base}/{p}") for n, p in css]


def font_face(server_url: str) -> str:
    """CSS: the vendored Noto Sans SC from the lantian server (a local copy when installed),
    for the linked embeds' labels (MapLibre draws them with the page's fonts)."""
    url = f"{server_url.rstrip('/')}/static/vendor/{FONT}"
    return ('@font-face { font-family: "Noto Sans SC"; font-weight: 400; font-display: block;'
            f' src: local("Noto Sans SC"), local("NotoSansSC-Regular"), url("{url}")'
            ' format("woff2"); }')  # fmt: skip


def _data_uri(path: Path) -> str:
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{media};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _css_image(folder: Path, match: re.Match[str]) -> str:
    return f'url("{_data_uri(folder / match.group(2))}")'


def _script_text(text: str) -> str:
    """JS source made safe to sit inside ``<script>``…``</script>``."""
    text = SOURCE_MAP.sub("", text)
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


@lru_cache(maxsize=1)
def inline_assets() -> tuple[str, str]:
    """(``<style>`` elements, ``<script>`` elements) of the vendored libraries, inlined."""
    return _inline(CSS, JS)


@lru_cache(maxsize=1)
def inline_side_by_side() -> tuple[str, str]:
    """The swipe's plugin (its thumb's image as a ``data:`` URI), inlined."""
    return _inline(SIDE_BY_SIDE_CSS, SIDE_BY_SIDE_JS)


def _inline(
    css: tuple[tuple[str, str], ...], js: tuple[tuple[str, str], ...]
) -> tuple[str, str]:
    styles = []
    for _, relative in css:
        path = VENDOR_DIR / relative
        text = SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
        text = text.replace("/*# sourceMappingURL", "/* sourceMappingURL")
        text = CSS_URL.sub(partial(_css_image, path.parent), text)
        text = text.replace("</", "<\\/")
        styles.append(f"<style>\n{text}\n</style>")
    scripts = [
        f"<script>\n{_script_text((VENDOR_DIR / relative).read_text(encoding='utf-8'))}\n</script>"
        for _, relative in js
    ]
    return "\n".join(styles), "\n".join(scripts)


SYMBOL_PX = 14  # a plant symbol's box; the circle's radius is 6 px, its stroke centred on it
SYMBOL_LAYERS = ("lt-edge", "lt-halo", "lt-shape")  # bottom to top: outer ring, halo, shape


def _shape_element(shape: str) -> str:
    """The SVG element of ``shape`` (its circle of radius 6 px) around the origin."""
    points = shape_points(shape, 0, 0, SYMBOL_PX / 2 - 1)
    if not points:
        return f'circle r="{SYMBOL_PX / 2 - 1:g}"'
    return 'polygon points="' + " ".join(f"{x:.2f},{y:.2f}" for x, y in points) + '"'


def symbol_svg(shape: str, classes: str = "{cls}", fill: str = "{fill}") -> str:
    """A plant's symbol as inline SVG (the embed's markers and legend): the shape, drawn three
    times as the layers the CSS styles by ``classes`` (cited, up, flag, approx), in the colour
    ``fill``. The defaults leave ``{cls}`` and ``{fill}`` for the embed's script to fill."""
    element = _shape_element(shape)
    half = SYMBOL_PX / 2
    layers = "".join(f'<{element} class="{layer}"/>' for layer in SYMBOL_LAYERS)
    return (f'<svg class="lt-mk {classes}" data-shape="{shape}" width="{SYMBOL_PX}" '
            f'height="{SYMBOL_PX}" viewBox="{-half:g} {-half:g} {SYMBOL_PX} {SYMBOL_PX}" '
            f'style="--fill:{fill}" aria-hidden="true">{layers}</svg>')  # fmt: skip


def _fill(template: str, tokens: Mapping[str, object]) -> str:
    """``template`` with each ``__KEY__`` replaced by its token."""
    for key, value in tokens.items():
        template = template.replace(f"__{key}__", str(value))
    return template


# The embed's own style: title box, legend, basemap labels, markers (the SVG symbols of
# symbol_svg, styled as web/static/style.css .mk), clusters. __TOKENS__ are filled from the
# basemap's palette (style.py).
_CSS = """
.leaflet-container { font: 12px/1.35 system-ui, -apple-system, "Segoe UI", __FONTS__;
  background: __SEA__; }
.leaflet-container .lt-box { background: rgba(255, 255, 255, 0.94); border-radius: 6px;
  padding: 6px 9px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); color: #222; font-size: 12px;
  line-height: 1.3; max-width: min(300px, 60vw); }
.leaflet-container .lt-legend { font-size: 11px; width: max-content; max-width: min(236px, 46vw);
  padding: 5px 8px; }
.leaflet-container .leaflet-control-attribution { font-size: 10px; line-height: 1.3;
  max-width: calc(100% - 140px); background: rgba(255, 255, 255, 0.85); }
@media (max-width: 639px) {  /* phones: the attribution takes the whole width, no scale bar */
  .leaflet-container .leaflet-control-scale { display: none; }
  .leaflet-container .leaflet-control-attribution { max-width: 100%; }
}
.leaflet-container .leaflet-popup-content { font-size: 12px; line-height: 1.35; }
.lt-sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0; }
.lt-title h1 { font-size: 15px; margin: 0 0 2px; line-height: 1.25; }
.lt-title p { margin: 0; color: #555; font-size: 11px; }
.lt-title .lt-synthetic { color: #b00020; font-weight: 700; text-transform: uppercase; }
.lt-title .lt-status:empty { display: none; }
.lt-legend { max-height: calc(100vh - 60px); overflow: auto; }
.lt-legend summary { font-weight: 700; cursor: pointer; }
.lt-legend h2 { font-size: 11px; margin: 4px 0 2px; }
.lt-legend .lt-scale { display: flex; }
.lt-legend .lt-class { flex: 1 1 0; min-width: 0; font-size: 10px; color: #444; }
.lt-legend .lt-sw { display: block; height: 9px; border: 1px solid rgba(0,0,0,0.2);
  border-right: 0; }
.lt-legend .lt-class:last-child .lt-sw { border-right: 1px solid rgba(0,0,0,0.2); }
.lt-legend .lt-note { color: #555; margin: 2px 0; }
.lt-legend .lt-ends { display: flex; justify-content: space-between; gap: 6px; margin: 2px 0; }
.lt-legend .lt-cleaner { color: #2166ac; font-weight: 600; }
.lt-legend .lt-dirtier { color: #b2182b; font-weight: 600; text-align: right; }
.lt-title .lt-sides { color: #222; font-weight: 600; }
.leaflet-sbs-range:focus-visible::-webkit-slider-thumb { outline: 3px solid #0b61a4; }
.leaflet-sbs-range:focus-visible::-moz-range-thumb { outline: 3px solid #0b61a4; }
.lt-legend .lt-keys { display: flex; flex-wrap: wrap; column-gap: 8px; }
.lt-legend .lt-item { display: flex; align-items: center; gap: 3px; margin: 1px 0;
  line-height: 1.2; }
.lt-mk { display: block; overflow: visible; }  /* an SVG: symbol_svg() */
.lt-mk > * { fill: none; stroke: none; stroke-linejoin: round; }
.lt-mk .lt-shape { fill: var(--fill); stroke: #fff; stroke-width: 1.5; }
.lt-mk .lt-edge { stroke: rgba(0, 0, 0, 0.3); stroke-width: 3.5; }  /* 1 px beyond the white */
.lt-mk.cited .lt-shape { stroke: #d7191c; stroke-width: 2.5; }
.lt-mk.up .lt-halo { stroke: rgba(255, 140, 0, 0.55); stroke-width: 9.5; }  /* 4 px beyond */
.lt-mk.flag .lt-shape { stroke: #5c0010; stroke-width: 2.5; }
.lt-mk.flag .lt-halo { stroke: rgba(255, 140, 0, 0.7); stroke-width: 8.5; }  /* 3 px beyond */
.lt-mk.flag .lt-edge { stroke: #5c0010; stroke-width: 12.5; }  /* 5 px beyond */
.lt-mk.cited .lt-edge, .lt-mk.up .lt-edge, .lt-mk.approx .lt-edge { stroke: none; }
.lt-mk.approx .lt-shape { fill-opacity: 0.25; stroke: var(--fill); stroke-width: 2; }
.lt-legend .lt-mk { flex: none; width: 11px; height: 11px; margin: 3px 4px; }
.lt-cluster { box-sizing: border-box; border-radius: 50%; background: rgba(68, 68, 68, 0.8);
  border: 2px solid #fff; color: #fff; font-weight: 700; display: flex; align-items: center;
  justify-content: center; }
.lt-cluster.has-cited { border-color: #d7191c; }
.lt-label { position: absolute; white-space: nowrap; transform: translate(-50%, -50%);
  pointer-events: none; font: __CITY_PX__px/1.1 __FONTS__; color: __CITY__;
  text-shadow: 1px 1px 0 __HALO__, -1px 1px 0 __HALO__, 1px -1px 0 __HALO__,
    -1px -1px 0 __HALO__, 0 1px 1px __HALO__, 0 -1px 1px __HALO__, 1px 0 1px __HALO__,
    -1px 0 1px __HALO__, 0 0 3px __HALO__; }  /* the halo */
.lt-label.country { font-size: __COUNTRY_PX__px; color: __COUNTRY__; }
.lt-label.province { font-size: __PROVINCE_PX__px; color: __PROVINCE__; }
.lt-label.county { font-size: __COUNTY_PX__px; color: __COUNTY__; }
.lt-label.capital { font-size: __CAPITAL_PX__px; font-weight: 600; }
.leaflet-popup-content .lt-popup h3 { margin: 0 0 3px; font-size: 13px; }
.leaflet-popup-content .lt-popup p { margin: 2px 0; }
.leaflet-popup-content .lt-popup .lt-muted { color: #666; }
"""
EMBED_CSS = _fill(_CSS, {
    "FONTS": FONT_STACK, "SEA": SEA, "HALO": HALO, "CAPITAL_PX": f"{LABELS['city'][1] + 1:g}",
    **{level.upper(): colour for level, (colour, _) in LABELS.items()},
    **{f"{level.upper()}_PX": f"{size:g}" for level, (_, size) in LABELS.items()},
})  # fmt: skip
SMALL_FRAME = (640, 420)  # frames narrower or lower than this open with the legend collapsed

# Runs after folium created the map: `map`, and `config` from the builder (script_json).
_JS = """
(function (map, config) {
  "use strict";
  function box(position, className, html) {
    var Control = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var div = L.DomUtil.create("div", "lt-box " + className);
        div.innerHTML = html; // built by the server with every data text escaped
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      },
    });
    return new Control().addTo(map);
  }
  function pane(name, zIndex) {
    var p = map.createPane(name);
    p.style.zIndex = zIndex;
    p.style.pointerEvents = "none";
    return name;
  }
  if (map.options.maxZoom === undefined) map.setMaxZoom(config.maxZoom);
  map.fitBounds(config.bounds, { animate: false });
  map.getContainer().setAttribute("role", "region");
  map.getContainer().setAttribute("aria-label", config.title); // plain text, not HTML
  if (document.getElementById(config.altId)) {
    map.getContainer().setAttribute("aria-describedby", config.altId); // the alt text
  }
  map.attributionControl.setPrefix(config.prefix);
  config.attributions.forEach(function (text) { map.attributionControl.addAttribution(text); });
  if (map.zoomControl) { // the buttons' titles in the page's language
    map.removeControl(map.zoomControl);
    map.zoomControl = L.control.zoom({ zoomInTitle: config.texts.zoomIn,
      zoomOutTitle: config.texts.zoomOut }).addTo(map);
  }
  var title = box("topleft", "lt-title", config.titleHtml);
  var legend = box("topright", "lt-legend", config.legendHtml);
  var details = legend.getContainer().querySelector("details");
  var size = map.getSize();
  if (details && (size.x < __SMALL_W__ || size.y < __SMALL_H__)) details.open = false;
  var status = title.getContainer().querySelector(".lt-status");
  function say(text) { if (status) status.textContent = text; }
  var state = { map: map, markers: 0, ready: false, basemap: null, labels: [] };
  window.lantianEmbed = state;

  // Two periods side by side (compare=A,B): each side is a pane, handed to
  // leaflet-side-by-side as a layer whose container it clips (its own layers' containers are
  // offset inside the map pane, which the plugin's clip rectangle does not allow for).
  var Side = L.Layer.extend({
    initialize: function (name, zIndex) { this._name = name; this._zIndex = zIndex; },
    onAdd: function (m) {
      this._pane = m.getPane(this._name) || m.createPane(this._name);
      this._pane.style.zIndex = this._zIndex;
      this._pane.style.pointerEvents = "none";
    },
    onRemove: function () {},
    getContainer: function () { return this._pane; },
  });
  function sideBySide(zIndex) {
    var left = new Side("lt-side-a", zIndex).addTo(map);
    var right = new Side("lt-side-b", zIndex + 1).addTo(map);
    state.sideBySide = L.control.sideBySide(left, right).addTo(map);
    var range = map.getContainer().querySelector(".leaflet-sbs-range");
    if (range) range.setAttribute("aria-label", config.compare.label);
  }
  function linkedCompare(c) {
    sideBySide(200);
    state.sides = c.styles.map(function (style, i) {
      var pane = i ? "lt-side-b" : "lt-side-a";
      try {
        return L.maplibreGL({ style: style, interactive: false, pane: pane }).addTo(map);
      } catch (e) {
        var tiles = c.tiles[i];
        if (!tiles) return null;
        return L.tileLayer(tiles.url, L.extend({ pane: pane }, tiles.options)).addTo(map);
      }
    });
    state.basemap = state.sides[1];
  }

  // The basemap. Linked: MapLibre inside Leaflet draws the release's basemap tiles and PM2.5
  // (labels with the vendored font, loaded first); without WebGL, PM2.5 as Leaflet tiles.
  function linkedBasemap() {
    if (config.compare) {
      linkedCompare(config.compare);
      return;
    }
    try {
      state.basemap = L.maplibreGL({ style: config.style, interactive: false }).addTo(map);
    } catch (e) {
      if (config.pm25Tiles) L.tileLayer(config.pm25Tiles.url, config.pm25Tiles.options).addTo(map);
    }
  }
  // Standalone: land below the PM2.5 overlay, lines and labels above it, from inline rows.
  var LINES = __LINES__;
  function standaloneBasemap(base) {
    var fills = { land: "__LAND__", country: "__CHINA__" };
    var land = pane("lt-land", 150), lines = pane("lt-lines", 450), labels = pane("lt-labels", 460);
    base.fills.forEach(function (f) {
      L.polygon(f[1], { pane: land, renderer: L.canvas({ pane: land }), stroke: false,
        fillColor: fills[f[0]], fillOpacity: 1, interactive: false }).addTo(map);
    });
    var counties = L.layerGroup(), byKind = {};
    base.lines.forEach(function (r) { (byKind[r[0]] = byKind[r[0]] || []).push(r[1]); });
    var renderer = L.canvas({ pane: lines });
    Object.keys(LINES).forEach(function (kind) {
      if (!byKind[kind]) return;
      var s = LINES[kind];
      var line = L.polyline(byKind[kind], { pane: lines, renderer: renderer, interactive: false,
        color: s[0], weight: s[1], dashArray: s[2].length ? s[2].join(" ") : null });
      line.addTo(kind === "counties" ? counties : map);
    });
    var group = L.layerGroup().addTo(map), ctx = document.createElement("canvas").getContext("2d");
    var SIZES = __SIZES__, FONTS = __FONT_STACK__;
    function place() { // labels of the zoom, higher levels first, none overlapping another
      var zoom = map.getZoom() - 1, frame = map.getContainer().getBoundingClientRect();
      var controls = map.getContainer().querySelectorAll(".leaflet-control");
      var boxes = [].map.call(controls, function (c) { // the title, legend… cover the map
        var r = c.getBoundingClientRect();
        return [r.left - frame.left, r.top - frame.top, r.right - frame.left, r.bottom - frame.top];
      });
      if (zoom >= base.countyLinesMinzoom) counties.addTo(map); else counties.remove();
      group.clearLayers();
      state.labels = [];
      base.places.forEach(function (p) {
        if (p[3] > zoom) return;
        var px = map.latLngToContainerPoint([p[4], p[5]]);
        var size = (SIZES[p[1]] || SIZES.city) + (p[2] ? 1 : 0);
        ctx.font = (p[2] ? "600 " : "") + size + "px " + FONTS;
        var w = ctx.measureText(p[0]).width / 2 + 3, h = size / 2 + 3;
        var b = [px.x - w, px.y - h, px.x + w, px.y + h], s = map.getSize();
        if (b[0] < 0 || b[1] < 0 || b[2] > s.x || b[3] > s.y) return;
        for (var i = 0; i < boxes.length; i++) {
          var o = boxes[i];
          if (b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3]) return;
        }
        boxes.push(b);
        var label = L.DomUtil.create("div", "lt-label " + p[1] + (p[2] ? " capital" : ""));
        label.textContent = p[0];
        L.marker([p[4], p[5]], { pane: labels, interactive: false, keyboard: false,
          icon: L.divIcon({ className: "", html: label, iconSize: null }) }).addTo(group);
        state.labels.push(p[0]);
      });
    }
    map.on("zoomend moveend resize", place);
    if (details) details.addEventListener("toggle", place);
    place();
  }
  if (config.compare && config.compare.overlays) { // standalone: each period's inline image
    sideBySide(400); // above the land, under the lines and labels
    config.compare.overlays.forEach(function (o, i) {
      if (!o) return;
      L.imageOverlay(o[0], [[o[1][1], o[1][0]], [o[1][3], o[1][2]]], {
        pane: i ? "lt-side-b" : "lt-side-a", opacity: config.compare.opacity, interactive: false,
        className: "lt-pm25" }).addTo(map);
    });
  }
  if (config.style) {
    var fonts = document.fonts && document.fonts.load
      ? document.fonts.load('12px "Noto Sans SC"', "\\u77f3A").catch(function () {})
      : Promise.resolve();
    fonts.then(linkedBasemap);
  } else if (config.basemap) {
    standaloneBasemap(config.basemap);
  }

  var industries = config.industries; // [industry, colour, shape]
  var SYMBOLS = __SYMBOLS__; // shape: its SVG with {cls} and {fill} to fill (symbol_svg)
  function icon(m) {
    var flags = m[3], cls = "";
    var cited = flags & 1, up = flags & 2;
    if (cited && up) cls = "flag"; else if (cited) cls = "cited"; else if (up) cls = "up";
    if ((flags & 4) && !cited && !up) cls = "approx";
    var industry = industries[m[2]] || industries[industries.length - 1];
    var symbol = SYMBOLS[industry[2]] || SYMBOLS.circle;
    return L.divIcon({
      className: "", iconSize: [__SYMBOL_PX__, __SYMBOL_PX__],
      html: symbol.replace("{cls}", cls).replace("{fill}", industry[1]),
    });
  }
  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers(), cited = 0;
    for (var i = 0; i < children.length; i++) if (children[i].options.ltCited) cited++;
    var n = cluster.getChildCount(), size = n < 10 ? 24 : n < 100 ? 30 : 38;
    return L.divIcon({
      className: "", iconSize: [size, size],
      html: '<div class="lt-cluster' + (cited ? " has-cited" : "") + '" style="width:' + size +
        "px;height:" + size + 'px">' + n + "</div>",
    });
  }
  var clusters = L.markerClusterGroup({
    iconCreateFunction: clusterIcon, showCoverageOnHover: false, maxClusterRadius: 40,
    chunkedLoading: true,
  });
  var onTop = L.layerGroup(); // plants with records are never clustered (as on the web map)
  state.clusters = clusters;
  state.onTop = onTop;
  function add(markers) {
    var plain = [], top = [];
    markers.forEach(function (m) {
      var marker = L.marker([m[0], m[1]], {
        icon: icon(m), title: m[4], alt: m[4], keyboard: true, riseOnHover: true,
        ltCited: !!(m[3] & 1), zIndexOffset: m[3] & 3 ? 1000 : 0,
      });
      marker.bindPopup(m[5], { maxWidth: 300 }); // escaped by the server
      (m[3] & 8 ? top : plain).push(marker);
    });
    clusters.addLayers(plain);
    top.forEach(function (marker) { onTop.addLayer(marker); });
    map.addLayer(clusters);
    map.addLayer(onTop);
    state.markers = markers.length;
    state.ready = true;
  }
  if (config.markers) {
    add(config.markers);
  } else if (config.markersUrl) {
    say(config.texts.loading);
    fetch(config.markersUrl)
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) { add(d.markers); say(""); })
      .catch(function () { say(config.texts.loadFailed); });
  } else {
    state.ready = true;
  }
})(__MAP__, __CONFIG__);
"""
EMBED_JS = _fill(_JS, {
    "SMALL_W": SMALL_FRAME[0], "SMALL_H": SMALL_FRAME[1], "LAND": LAND, "CHINA": CHINA,
    "LINES": json.dumps({kind: [c, w, list(d)] for kind, (c, w, d) in LINES.items()}),
    "SIZES": json.dumps({level: size for level, (_, size) in LABELS.items()}),
    "FONT_STACK": json.dumps(FONT_STACK), "SYMBOL_PX": SYMBOL_PX,
    "SYMBOLS": script_json({shape: symbol_svg(shape) for shape in SHAPE_CORNERS}),
})  # fmt: skip


@lru_cache(maxsize=1)
def assets_digest() -> str:
    """A digest of every asset an embed carries or links (part of the ETag of ``/embed``)."""
    digest = hashlib.sha256()
    for text in (EMBED_CSS, EMBED_JS, *inline_assets(), *inline_side_by_side()):
        digest.update(text.encode())
    return digest.hexdigest()[:16]
