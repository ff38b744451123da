// Plant markers: the clustered `enterprises` layer, the `cited` layer above it, their styles per
// quarter (from the tile properties v12_Q, up_Q, flag_Q, approx) and the user's filters.
import { FONT, FONT_BOLD, firstOf } from "./basemap.js";
import { el } from "./dom.js";
import { formatPeriod, t, tValue } from "./i18n.js";

export const INDUSTRY_COLOURS = {
  steel: "#0072b2",
  coal_power: "#d55e00",
  coking: "#cc79a7",
};
const OTHER_COLOUR = "#009e73";
const CITED = "#d7191c";
const FLAG = "#5c0010";
const UP = "#ff8c00";

export const CLUSTERS = "enterprise-clusters";
const CLUSTER_COUNT = "enterprise-cluster-count";
const NAME_ZOOM = 11; // plant names from this zoom
const SELECTED = "selected-plant";
// Drawn bottom to top: the cited layer (never clustered) sits above the plain enterprises.
const SOURCES = ["enterprises", "cited"];
export const POINT_LAYERS = SOURCES.flatMap((source) => [`${source}-halo`, source]);
const LABEL_LAYERS = SOURCES.map((source) => `${source}-label`);

const NOT_CLUSTER = ["!", ["has", "point_count"]];
const INDUSTRY = ["match", ["get", "industry"], ...Object.entries(INDUSTRY_COLOURS).flat(), OTHER_COLOUR];
const RADIUS = ["interpolate", ["linear"], ["zoom"], 3, 4, 10, 8];
const HALO_RADIUS = ["interpolate", ["linear"], ["zoom"], 3, 9, 10, 15];

function fact(key) {
  return ["to-number", ["coalesce", ["get", key], 0]];
}

/** Expressions for the facts of quarter `q`; an absent property counts as 0 / unknown. */
function facts(q) {
  return {
    cited: [">", fact(`v12_${q}`), 0],
    up: ["==", fact(`up_${q}`), 1],
    flag: ["==", fact(`flag_${q}`), 1],
    approx: ["==", fact("approx"), 1],
  };
}

function markerPaint(q) {
  const f = facts(q);
  return {
    "circle-opacity": ["case", f.approx, 0.25, 1],
    "circle-stroke-color": ["case", f.flag, FLAG, f.cited, CITED, f.approx, INDUSTRY, "#fff"],
    "circle-stroke-width": ["case", f.flag, 3.5, f.cited, 2.5, f.approx, 2, 1.2],
  };
}

function haloPaint(q) {
  return { "circle-stroke-width": ["case", facts(q).flag, 2.5, 0] };
}

/** Conditions for the user's choice `{industry, province, hasViolations, outputUp}` in quarter q. */
export function choiceConditions(q, choice) {
  const f = facts(q);
  return [
    choice.industry && ["==", ["get", "industry"], choice.industry],
    choice.province && ["==", ["get", "province"], choice.province],
    choice.hasViolations && f.cited,
    choice.outputUp && f.up,
  ].filter(Boolean);
}

function baseConditions(map, layer, q) {
  const conditions = [];
  if (layer.startsWith("enterprises")) {
    conditions.push(NOT_CLUSTER);
    if (map.getSource("cited")) conditions.push(["==", fact("records"), 0]); // drawn by `cited`
  }
  if (layer.endsWith("-halo")) {
    const f = facts(q);
    conditions.push(["any", f.up, f.flag]);
  }
  return conditions;
}

function addPointLayers(map, source, sourceLayer) {
  map.addLayer({
    id: `${source}-halo`, type: "circle", source, "source-layer": sourceLayer,
    paint: {
      "circle-radius": HALO_RADIUS,
      "circle-color": UP,
      "circle-opacity": 0.55,
      "circle-stroke-color": FLAG,
    },
  });
  map.addLayer({
    id: source, type: "circle", source, "source-layer": sourceLayer,
    paint: { "circle-color": INDUSTRY, "circle-radius": RADIUS },
  });
}

/** Sources and layers of the plants, in drawing order; `layerInfo(id)` reads the release. */
export function addPlantLayers(map, layerInfo) {
  for (const source of SOURCES) {
    const info = layerInfo(source);
    if (!info) continue;
    const sourceLayer = (info.vector_layers && info.vector_layers[0] && info.vector_layers[0].id) || source;
    map.addSource(source, { type: "vector", url: `pmtiles://${info.pmtiles.all}` });
    if (source === "enterprises") {
      map.addLayer({
        id: CLUSTERS, type: "circle", source, "source-layer": sourceLayer,
        filter: ["has", "point_count"],
        paint: {
          "circle-color": "#444",
          "circle-opacity": 0.75,
          "circle-radius": ["interpolate", ["linear"], ["get", "point_count"], 2, 9, 50, 16, 500, 24],
          "circle-stroke-color": "#fff",
          "circle-stroke-width": 1.5,
        },
      });
    }
    addPointLayers(map, source, sourceLayer);
  }
  map.addSource(SELECTED, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({
    id: SELECTED, type: "circle", source: SELECTED,
    paint: {
      "circle-radius": HALO_RADIUS,
      "circle-opacity": 0,
      "circle-stroke-color": "#111",
      "circle-stroke-width": 2.5,
    },
  });
}

/** Cluster counts (always drawn) and plant names (from zoom 11, where there is room). */
export function addPlantLabels(map, lang) {
  if (map.getLayer(CLUSTERS)) {
    map.addLayer({
      id: CLUSTER_COUNT, type: "symbol", source: "enterprises", "source-layer": map.getLayer(CLUSTERS).sourceLayer,
      filter: ["has", "point_count"],
      layout: {
        "text-field": ["number-format", ["get", "point_count"], { locale: "en-US" }],
        "text-font": FONT_BOLD,
        "text-size": 11,
        "text-allow-overlap": true,
        "text-ignore-placement": true,
      },
      paint: { "text-color": "#fff" },
    });
  }
  for (const source of SOURCES) {
    if (!map.getLayer(source)) continue;
    map.addLayer({
      id: `${source}-label`, type: "symbol", source, "source-layer": map.getLayer(source).sourceLayer,
      minzoom: NAME_ZOOM, filter: NOT_CLUSTER,
      layout: {
        "text-field": "",
        "text-font": FONT,
        "text-size": 11,
        "text-anchor": "top",
        "text-offset": [0, 0.9],
        "text-max-width": 10,
        "text-optional": true,
      },
      paint: { "text-color": "#1f2a44", "text-halo-color": "rgba(255, 255, 255, 0.95)", "text-halo-width": 1.5 },
    });
  }
  setPlantLabelLanguage(map, lang);
}

/** Plant names in `lang`, falling back to the other language. */
export function setPlantLabelLanguage(map, lang) {
  const field = firstOf(lang === "zh" ? ["name_zh", "name", "name_en"] : ["name_en", "name_zh", "name"]);
  for (const id of LABEL_LAYERS) if (map.getLayer(id)) map.setLayoutProperty(id, "text-field", field);
}

/** Style, filter and show the plant layers for quarter q and the user's choice. */
export function stylePlants(map, { quarter, choice, visible }) {
  const conditions = choiceConditions(quarter, choice);
  const filtering = conditions.length > 0;
  for (const layer of POINT_LAYERS) {
    if (!map.getLayer(layer)) continue;
    const paint = layer.endsWith("-halo") ? haloPaint(quarter) : markerPaint(quarter);
    for (const [name, value] of Object.entries(paint)) map.setPaintProperty(layer, name, value);
    map.setFilter(layer, ["all", ...baseConditions(map, layer, quarter), ...conditions]);
    map.setLayoutProperty(layer, "visibility", visible ? "visible" : "none");
  }
  for (const layer of LABEL_LAYERS) {
    if (!map.getLayer(layer)) continue;
    map.setFilter(layer, ["all", ...baseConditions(map, layer, quarter), ...conditions]);
    map.setLayoutProperty(layer, "visibility", visible ? "visible" : "none");
  }
  for (const layer of [CLUSTERS, CLUSTER_COUNT]) {
    if (map.getLayer(layer)) map.setLayoutProperty(layer, "visibility", visible && !filtering ? "visible" : "none");
  }
  map.setLayoutProperty(SELECTED, "visibility", visible ? "visible" : "none");
}

/** True when the loaded enterprise tiles still merge plants into clusters (zoomed out). */
export function clustersInView(map) {
  if (!map.getSource("enterprises") || !map.getLayer("enterprises")) return false;
  const sourceLayer = map.getLayer("enterprises").sourceLayer;
  return map.querySourceFeatures("enterprises", { sourceLayer, filter: ["has", "point_count"] }).length > 0;
}

/** Ring the selected plant (or nothing). */
export function markSelected(map, location) {
  const features = location
    ? [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [location.lon, location.lat] } }]
    : [];
  map.getSource(SELECTED).setData({ type: "FeatureCollection", features });
}

function swatch(className, colour) {
  const node = el("span", { className: `mk ${className}`, "aria-hidden": "true" });
  if (colour) node.style.setProperty("--fill", colour);
  return node;
}

function item(node, text) {
  return el("div", { className: "item" }, [node, el("span", { text })]);
}

/** The plant legend: industry fills, then every fact style for quarter q. */
export function drawPlantLegend(box, q) {
  const industries = [...Object.entries(INDUSTRY_COLOURS), ["other", OTHER_COLOUR]];
  box.replaceChildren(
    el("h2", { text: t("legend.plants") }),
    ...industries.map(([name, colour]) => item(swatch("", colour), tValue("industry", name))),
    el("h3", { text: t("legend.facts", { quarter: formatPeriod(q) }) }),
    item(swatch("cited"), t("legend.cited")),
    item(swatch("up"), t("legend.up")),
    item(swatch("flag"), t("legend.flag")),
    item(swatch("approx"), t("legend.approx")),
    item(swatch("cluster"), t("legend.cluster")),
  );
}
