"""Assets of the folium embeds: the vendored Leaflet and Leaflet.markercluster (linked from the
lantian server, or inlined into one self-contained file) and the embed's own CSS and JS.

Nothing here points at a third-party CDN: linked embeds load ``/static/vendor/...`` from the
lantian server, standalone embeds carry every byte (Leaflet's images as ``data:`` URIs).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import re
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

VENDOR_DIR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
# (name, path under vendor/) in load order.
JS = (
    ("leaflet", "leaflet/leaflet.js"),
    ("leaflet_markercluster", "leaflet.markercluster/leaflet.markercluster.js"),
)
CSS = (
    ("leaflet_css", "leaflet/leaflet.css"),
    ("leaflet_markercluster_css", "leaflet.markercluster/MarkerCluster.css"),
)
SOURCE_MAP = re.compile(r"^\s*//[#@] sourceMappingURL=.*$", re.MULTILINE)
CSS_URL = re.compile(r"url\((['\"]?)(images/[A-Za-z0-9_.-]+)\1\)")
SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}  # fmt: skip


def script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\u`` escapes,
    so no string in the data can close the script element or start a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: SCRIPT_UNSAFE[m.group(0)], text)


def vendor_urls(server_url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(js, css) as folium ``default_js``/``default_css`` lists on the lantian server."""
    base = f"{server_url.rstrip('/')}/static/vendor"
    return [(n, f"{base}/{p}") for n, p in JS], [(n, f"{base}/{p}") for n, p in CSS]


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
    styles = []
    for _, relative in CSS:
        path = VENDOR_DIR / relative
        text = SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
        text = text.replace("/*# sourceMappingURL", "/* sourceMappingURL")
        text = CSS_URL.sub(partial(_css_image, path.parent), text)
        text = text.replace("</", "<\\/")
        styles.append(f"<style>\n{text}\n</style>")
    scripts = [
        f"<script>\n{_script_text((VENDOR_DIR / relative).read_text(encoding='utf-8'))}\n</script>"
        for _, relative in JS
    ]
    return "\n".join(styles), "\n".join(scripts)


# The embed's own style: title box, legend, markers (as web/static/style.css .mk), clusters.
EMBED_CSS = """
.leaflet-container { font: 12px/1.35 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
  "Noto Sans SC", sans-serif; background: #f4f5f7; }
.leaflet-container .lt-box { background: rgba(255, 255, 255, 0.94); border-radius: 6px;
  padding: 6px 9px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); color: #222; font-size: 12px;
  line-height: 1.3; max-width: min(300px, 60vw); }
.leaflet-container .lt-legend { font-size: 11px; max-width: min(270px, 55vw); }
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
.lt-legend { max-height: 60vh; overflow: auto; }
.lt-legend summary { font-weight: 700; cursor: pointer; }
.lt-legend h2 { font-size: 12px; margin: 6px 0 3px; }
.lt-legend .lt-item { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.lt-legend .lt-sw { flex: none; width: 16px; height: 11px; border: 1px solid rgba(0,0,0,0.25); }
.lt-legend .lt-note { color: #555; margin: 4px 0 0; }
.lt-mk { --fill: #999; box-sizing: border-box; width: 14px; height: 14px; border-radius: 50%;
  background: var(--fill); border: 1.5px solid #fff; box-shadow: 0 0 0 1px rgba(0, 0, 0, 0.3); }
.lt-mk.cited { border: 2.5px solid #d7191c; box-shadow: none; }
.lt-mk.up { box-shadow: 0 0 0 4px rgba(255, 140, 0, 0.55); }
.lt-mk.flag { border: 2.5px solid #5c0010;
  box-shadow: 0 0 0 3px rgba(255, 140, 0, 0.7), 0 0 0 5px #5c0010; }
.lt-mk.approx { background: color-mix(in srgb, var(--fill) 25%, transparent);
  border: 2px solid var(--fill); box-shadow: none; }
.lt-legend .lt-mk { flex: none; margin: 2px 3px; }
.lt-mk.cluster, .lt-cluster { --fill: #444; }
.lt-cluster { box-sizing: border-box; border-radius: 50%; background: rgba(68, 68, 68, 0.8);
  border: 2px solid #fff; color: #fff; font-weight: 700; display: flex; align-items: center;
  justify-content: center; }
.lt-cluster.has-cited { border-color: #d7191c; }
.leaflet-popup-content .lt-popup h3 { margin: 0 0 3px; font-size: 13px; }
.leaflet-popup-content .lt-popup p { margin: 2px 0; }
.leaflet-popup-content .lt-popup .lt-muted { color: #666; }
"""

# Runs after folium created the map: `map`, and `config` from the builder (script_json).
EMBED_JS = """
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
  if (map.options.maxZoom === undefined) map.setMaxZoom(config.maxZoom);
  map.fitBounds(config.bounds, { animate: false });
  map.getContainer().setAttribute("role", "region");
  map.getContainer().setAttribute("aria-label", config.title); // plain text, not HTML
  if (document.getElementById(config.altId)) {
    map.getContainer().setAttribute("aria-describedby", config.altId); // the alt text
  }
  map.attributionControl.setPrefix(config.prefix);
  config.attributions.forEach(function (text) { map.attributionControl.addAttribution(text); });
  var title = box("topleft", "lt-title", config.titleHtml);
  var legend = box("topright", "lt-legend", config.legendHtml);
  var details = legend.getContainer().querySelector("details");
  if (details && map.getSize().x < 640) details.open = false; // phones: legend on demand
  var status = title.getContainer().querySelector(".lt-status");
  function say(text) { if (status) status.textContent = text; }

  // Province and city lines above PM2.5, below the plants.
  var pane = map.createPane("lt-lines");
  pane.style.zIndex = 450;
  pane.style.pointerEvents = "none";
  var LINES = {
    cities: { color: "#555", weight: 0.6, opacity: 0.7 },
    provinces: { color: "#333", weight: 1.3, opacity: 0.9 },
  };
  function lines(rows) {
    var byKind = {};
    rows.forEach(function (r) { (byKind[r[0]] = byKind[r[0]] || []).push(r[1]); });
    ["cities", "provinces"].forEach(function (kind) {
      if (!byKind[kind]) return;
      L.polyline(byKind[kind], L.extend({ pane: "lt-lines", interactive: false,
        renderer: L.canvas({ pane: "lt-lines" }) }, LINES[kind])).addTo(map);
    });
  }
  if (config.boundaries) {
    lines(config.boundaries);
  } else if (config.boundariesUrl) {
    fetch(config.boundariesUrl)
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) { lines(d.lines); })
      .catch(function () { /* the map reads without them */ });
  }

  var colours = config.industries;
  function icon(m) {
    var flags = m[3], cls = "lt-mk";
    var cited = flags & 1, up = flags & 2;
    if (cited && up) cls += " flag"; else if (cited) cls += " cited"; else if (up) cls += " up";
    if ((flags & 4) && !cited && !up) cls += " approx";
    var colour = (colours[m[2]] || colours[colours.length - 1])[1];
    return L.divIcon({
      className: "", iconSize: [14, 14],
      html: '<div class="' + cls + '" style="--fill:' + colour + '"></div>',
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
    window.lantianEmbed.markers = markers.length;
    window.lantianEmbed.ready = true;
  }
  window.lantianEmbed = { map: map, clusters: clusters, onTop: onTop, markers: 0, ready: false };
  if (config.markers) {
    add(config.markers);
  } else if (config.markersUrl) {
    say("Loading plants…");
    fetch(config.markersUrl)
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) { add(d.markers); say(""); })
      .catch(function () { say("The plants could not be loaded from the lantian server."); });
  } else {
    window.lantianEmbed.ready = true;
  }
})(__MAP__, __CONFIG__);
"""


@lru_cache(maxsize=1)
def assets_digest() -> str:
    """A digest of every asset an embed carries or links (part of the ETag of ``/embed``)."""
    digest = hashlib.sha256()
    for text in (EMBED_CSS, EMBED_JS, *inline_assets()):
        digest.update(text.encode())
    return digest.hexdigest()[:16]
