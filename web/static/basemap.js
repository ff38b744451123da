// The basemap from the release's `boundaries` archive (source-layers land, countries, country,
// provinces, cities, counties, maritime, places): a calm light base under the PM2.5 raster,
// lines and labels with halos above it. No glyph server: MapLibre draws the text with the
// browser's fonts (the stacks below name the CJK fonts of common systems; Debian's
// fonts-noto-cjk first), so Chinese and Latin names render offline.

export const SEA = "#d6e4ec";
const LAND = "#ebeae4";
const CHINA = "#fbfaf6";
const HALO = "rgba(255, 255, 255, 0.92)";
const CHINA_ADCODE = "100000";
export const FONT = ["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "sans-serif"];
export const FONT_BOLD = ["Noto Sans CJK SC Bold", "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC",
  "Microsoft YaHei", "sans-serif"];

const SOURCE = "boundaries";
const LINES = ["county-line", "city-line", "countries-line", "province-line", "maritime-line", "country-line"];
// Bottom to top: the layer placed last gives way when labels collide.
const LABELS = ["place-country", "place-china", "place-county", "place-city", "place-capital", "place-province"];
/** The layers the "Boundaries and place names" toggle shows and hides. */
const BASEMAP_TOGGLED = [...LINES, ...LABELS];

/** The first non-empty of the string properties `keys` (a feature may lack one or hold ""). */
export function firstOf(keys) {
  const [key, ...rest] = keys;
  const value = ["to-string", ["coalesce", ["get", key], ""]];
  return rest.length ? ["case", ["!=", value, ""], value, firstOf(rest)] : value;
}

/** A feature's name in `lang`, falling back to the other language and then to `name`. */
function nameField(lang) {
  return firstOf(lang === "zh" ? ["name_zh", "name_en", "name"] : ["name_en", "name_zh", "name"]);
}

function zoomed(stops) {
  return ["interpolate", ["linear"], ["zoom"], ...stops.flat()];
}

function sourceLayers(info) {
  return new Set((info.vector_layers || []).map((layer) => layer.id));
}

/** The source and its land fills (under the PM2.5 raster); nothing when the release has no basemap. */
export function addBasemapFills(map, info) {
  if (!info) return;
  map.addSource(SOURCE, { type: "vector", url: `pmtiles://${info.pmtiles.all}` });
  const has = sourceLayers(info);
  const fill = (id, sourceLayer, color) => has.has(sourceLayer) && map.addLayer({
    id, type: "fill", source: SOURCE, "source-layer": sourceLayer, paint: { "fill-color": color },
  });
  fill("land-fill", "land", LAND);
  fill("country-fill", "country", CHINA);
}

/** Lines above the PM2.5 raster: counties, cities, neighbours, provinces, the maritime line and China. */
export function addBasemapLines(map, info) {
  if (!info) return;
  const has = sourceLayers(info);
  const line = (id, sourceLayer, paint, minzoom = 0) => has.has(sourceLayer) && map.addLayer({
    id, type: "line", source: SOURCE, "source-layer": sourceLayer, minzoom,
    layout: { "line-join": "round" }, paint,
  });
  line("county-line", "counties", {
    "line-color": "#6e6e7e", "line-width": zoomed([[7, 0.5], [12, 1]]), "line-dasharray": [2, 2],
  }, 7);
  line("city-line", "cities", {
    "line-color": "#55556a", "line-width": zoomed([[5, 0.6], [10, 1.3]]), "line-dasharray": [4, 2],
  }, 5);
  line("countries-line", "countries", { "line-color": "#8c8c8c", "line-width": zoomed([[2, 0.5], [8, 1.2]]) });
  line("province-line", "provinces", { "line-color": "#3f3f52", "line-width": zoomed([[3, 0.7], [8, 1.8]]) });
  line("maritime-line", "maritime", {
    "line-color": "#6f8ea3", "line-width": zoomed([[2, 0.8], [8, 1.6]]), "line-dasharray": [4, 3],
  });
  line("country-line", "country", { "line-color": "#55555f", "line-width": zoomed([[2, 0.8], [8, 2]]) });
}

function label(id, filter, minzoom, maxzoom, size, { color = "#2b2b2b", font = FONT, priority = null } = {}) {
  const layout = {
    "text-field": "",
    "text-font": font,
    "text-size": zoomed(size),
    "text-max-width": 7,
    "text-padding": 3,
  };
  if (priority) layout["symbol-sort-key"] = priority;
  return {
    id, type: "symbol", source: SOURCE, "source-layer": "places", minzoom, maxzoom, filter, layout,
    paint: { "text-color": color, "text-halo-color": HALO, "text-halo-width": 1.6, "text-halo-blur": 0.4 },
  };
}

/** Place labels by zoom, above everything drawn so far: provinces, then cities (capitals first),
 * then counties; neighbouring countries where there is room. */
export function addBasemapLabels(map, info, lang) {
  if (!info || !sourceLayers(info).has("places")) return;
  const level = (name) => ["==", ["get", "level"], name];
  const capital = ["to-number", ["coalesce", ["get", "capital"], 0]];
  const china = ["==", ["get", "adcode"], CHINA_ADCODE];
  const layers = [
    label("place-country", ["all", level("country"), ["!", china]], 1, 7, [[1, 11], [6, 14]], { color: "#707070" }),
    // China's own name only until the provinces come in
    label("place-china", ["all", level("country"), china], 0, 3, [[0, 11], [3, 15]], { color: "#505060", font: FONT_BOLD }),
    label("place-county", level("county"), 8, 24, [[8, 10.5], [12, 12.5]], { color: "#4a4a4a" }),
    label("place-city", ["all", level("city"), ["==", capital, 0]], 5, 24, [[5, 11], [10, 14]]),
    label("place-capital", ["all", level("city"), [">", capital, 0]], 4, 24, [[4, 11.5], [10, 15]],
      { font: FONT_BOLD, priority: ["-", 2, capital] }),
    label("place-province", level("province"), 3, 8.5, [[3, 11], [7, 15]], { color: "#505060", font: FONT_BOLD }),
  ];
  for (const layer of layers) map.addLayer(layer);
  setLabelLanguage(map, lang);
}

/** Every place label in `lang` (Chinese or English, falling back to the other). */
export function setLabelLanguage(map, lang) {
  for (const id of LABELS) {
    if (!map.getLayer(id)) continue;
    map.setLayoutProperty(id, "text-field", nameField(lang));
    map.setLayoutProperty(id, "text-letter-spacing", lang === "en" && id === "place-province" ? 0.08 : 0);
  }
}

/** Show or hide the lines and labels (the land stays). */
export function showBasemap(map, visible) {
  for (const id of BASEMAP_TOGGLED) {
    if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
  }
}
