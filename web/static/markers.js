// Plant markers: the `enterprises` layer (every plant at every zoom), the `cited` layer above it,
// one symbol per industry (circle: steel, coal power and others; square: cement; triangle:
// coking; hexagon, a benzene ring: chemical; stations are the diamonds) drawn at runtime as signed distance fields, so each takes its
// industry's colour and a ring per fact of the quarter (tile properties v12_Q, up_Q, flag_Q,
// approx). A plant is shown only in the periods it operated (opf/opt, ever) and when it
// matches the user's filters.
import { FONT, firstOf } from "./basemap.js";
import { el, svg } from "./dom.js";
import { formatPeriod, t, tValue } from "./i18n.js";
import { monthSpan } from "./period.js";

// Okabe-Ito colours (colour-blind safe).
export const INDUSTRY_COLOURS = {
  steel: "#0072b2",
  coal_power: "#d55e00",
  cement: "#6e6e6e", // grey as cement, and apart from every colour of the PM2.5 scale
  coking: "#cc79a7",
  chemical: "#56b4e9",
};
const OTHER_COLOUR = "#009e73";
export const INDUSTRY_SHAPES = { cement: "square", coking: "triangle", chemical: "hexagon" }; // others: circle
const SHAPES = ["circle", "square", "triangle", "hexagon"];
const CITED = "#d7191c";
const FLAG = "#5c0010";
const UP = "#ff8c00";

const NAME_ZOOM = 11; // plant names from this zoom
const SELECTED = "selected-plant";
// Drawn bottom to top: the cited layer sits above the plain enterprises.
const SOURCES = ["enterprises", "cited"];
export const POINT_LAYERS = SOURCES.flatMap((source) => [`${source}-halo`, source]);
const LABEL_LAYERS = SOURCES.map((source) => `${source}-label`);

// Tiles from before issue 15 merge plants into clusters when zoomed out: those are not drawn.
const NOT_CLUSTER = ["!", ["has", "point_count"]];
const INDUSTRY = ["match", ["get", "industry"], ...Object.entries(INDUSTRY_COLOURS).flat(), OTHER_COLOUR];
const FADED = ["match", ["get", "industry"], ...Object.entries(INDUSTRY_COLOURS).flatMap(([k, c]) => [k, faded(c)]), faded(OTHER_COLOUR)];
const ICON = ["match", ["get", "industry"], ...Object.entries(INDUSTRY_SHAPES).flatMap(([k, s]) => [k, iconName(s)]), iconName("circle")];
const BASE_RADIUS = 8; // px of the circle at icon-size 1
// radius 3 px at z3 (a country of 3,000 plants stays readable), 4.8 px at z6, 8 px at z10
const ICON_SIZE = ["interpolate", ["linear"], ["zoom"], 3, 0.375, 6, 0.6, 10, 1];
const HALO_RADIUS = ["interpolate", ["linear"], ["zoom"], 3, 9, 10, 15];

function faded(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, 0.25)`;
}

function iconName(shape) {
  return `plant-${shape}`;
}

/** The shape a plant of `industry` is drawn with. */
export function industryShape(industry) {
  return INDUSTRY_SHAPES[industry] || "circle";
}

// Signed distance (px, negative inside) of a point (x, y) from the centre, per shape; the areas
// are about equal (circle r 8, square 14 × 14, triangle circumradius 12.5 centred on its height,
// hexagon apothem 7.6).
const TRIANGLE_NORMALS = [[0, 1], [-Math.sqrt(3) / 2, -0.5], [Math.sqrt(3) / 2, -0.5]];
const HALF_ROOT3 = Math.sqrt(3) / 2;
const TRIANGLE_SHIFT = 3.125; // its centroid lies a sixth of its height below its middle
const DISTANCE = {
  circle: (x, y) => Math.hypot(x, y) - BASE_RADIUS,
  square: (x, y) => Math.max(Math.abs(x), Math.abs(y)) - 7,
  triangle: (x, y) => Math.max(...TRIANGLE_NORMALS.map(([nx, ny]) => nx * x + ny * (y - TRIANGLE_SHIFT))) - 6.25,
  hexagon: (x, y) => Math.max(Math.abs(y), Math.abs(HALF_ROOT3 * x + y / 2), Math.abs(HALF_ROOT3 * x - y / 2)) - 7.6,
};

/** A shape as a signed distance field (edge at alpha 0.75, 32 per pixel, as MapLibre's SDF
 * icons expect), so it takes any icon-color and a halo (the ring) up to 6 px × icon-size. */
function shapeImage(shape) {
  const size = 28; // the shape and 4–6 px of ring around it: also the box a click hits
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      data[(y * size + x) * 4 + 3] = 192 - 32 * DISTANCE[shape](x + 0.5 - size / 2, y + 0.5 - size / 2);
    }
  }
  return new ImageData(data, size, size);
}

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

/** The ring's width by fact, thinner when zoomed out (the SDF holds 6 px × icon-size). */
function ringWidth(f, widths) {
  return ["case", f.flag, widths[0], f.cited, widths[1], f.approx, widths[2], widths[3]];
}

function markerPaint(q) {
  const f = facts(q);
  return {
    "icon-color": ["case", f.approx, FADED, INDUSTRY],
    "icon-halo-color": ["case", f.flag, FLAG, f.cited, CITED, f.approx, INDUSTRY, "#fff"],
    "icon-halo-width": ["interpolate", ["linear"], ["zoom"], 3, ringWidth(f, [2.5, 2, 1.5, 1]), 10, ringWidth(f, [3.5, 2.5, 2, 1.2])],
  };
}

function haloPaint(q) {
  return { "circle-stroke-width": ["case", facts(q).flag, 2.5, 0] };
}

/** The quarters `[first, last]` of a period as numbers year*10+q (a month: its quarter; a
 * year: its Q1 to Q4); null for anything else. */
export function quarterRange(period) {
  const span = monthSpan(period);
  if (!span) return null;
  const number = (month) => Math.floor(month / 12) * 10 + Math.floor((month % 12) / 3) + 1;
  return [number(span[0]), number(span[1] - 1)];
}

/** Conditions of a plant operating in `period`: it operated at all (`ever` absent: unknown,
 * shown), started by the period's last quarter (`opf` absent: unknown start) and ended in or
 * after its first (`opt` absent: still operating). */
export function operatingConditions(period) {
  const range = quarterRange(period);
  if (!range) return [];
  const [first, last] = range;
  return [
    ["!=", ["to-number", ["coalesce", ["get", "ever"], 1]], 0],
    ["any", ["!", ["has", "opf"]], ["<=", ["to-number", ["get", "opf"]], last]],
    ["any", ["!", ["has", "opt"]], [">=", ["to-number", ["get", "opt"]], first]],
  ];
}

/** Conditions for the user's choice `{industry, province, status, minCapacity, coking,
 * hasViolations, outputUp}` in quarter q (a minimum capacity only with an industry: its unit). */
export function choiceConditions(q, choice) {
  const f = facts(q);
  const minimum = choice.industry && choice.minCapacity !== "" && choice.minCapacity != null ? Number(choice.minCapacity) : NaN;
  return [
    choice.industry && ["==", ["get", "industry"], choice.industry],
    choice.province && ["==", ["get", "province"], choice.province],
    choice.status && ["==", ["coalesce", ["get", "status"], ""], choice.status],
    Number.isFinite(minimum) && [">=", ["to-number", ["coalesce", ["get", "capacity"], -1]], minimum],
    choice.coking && ["==", fact("coking"), 1],
    choice.hasViolations && f.cited,
    choice.outputUp && f.up,
  ].filter(Boolean);
}

function baseConditions(map, layer, q) {
  const conditions = [NOT_CLUSTER];
  if (layer.startsWith("enterprises") && map.getSource("cited")) conditions.push(["==", fact("records"), 0]); // drawn by `cited`
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
    id: source, type: "symbol", source, "source-layer": sourceLayer,
    layout: {
      "icon-image": ICON,
      "icon-size": ICON_SIZE,
      "icon-allow-overlap": true,
      "icon-ignore-placement": true,
    },
    paint: { "icon-color": INDUSTRY, "icon-halo-color": "#fff", "icon-halo-width": 1.2 },
  });
}

/** Sources and layers of the plants, in drawing order; `layerInfo(id)` reads the release. */
export function addPlantLayers(map, layerInfo) {
  for (const shape of SHAPES) map.addImage(iconName(shape), shapeImage(shape), { sdf: true });
  for (const source of SOURCES) {
    const info = layerInfo(source);
    if (!info) continue;
    const sourceLayer = (info.vector_layers && info.vector_layers[0] && info.vector_layers[0].id) || source;
    map.addSource(source, { type: "vector", url: `pmtiles://${info.pmtiles.all}` });
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

/** Plant names (from zoom 11, where there is room). */
export function addPlantLabels(map, lang) {
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

/** Style, filter and show the plant layers for the shown `period` (plants operating in it),
 * its `quarter` (the facts) and the user's choice. */
export function stylePlants(map, { period, quarter, choice, visible }) {
  const conditions = [...operatingConditions(period || quarter), ...choiceConditions(quarter, choice)];
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
  map.setLayoutProperty(SELECTED, "visibility", visible ? "visible" : "none");
}

/** Ring the selected plant (or nothing). */
export function markSelected(map, location) {
  const features = location
    ? [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [location.lon, location.lat] } }]
    : [];
  map.getSource(SELECTED).setData({ type: "FeatureCollection", features });
}

const LEGEND_SHAPES = {
  circle: () => svg("circle", { r: 6 }),
  square: () => svg("rect", { x: -5.5, y: -5.5, width: 11, height: 11 }),
  triangle: () => svg("polygon", { points: "0,-6.5 7,5.5 -7,5.5" }),
  hexagon: () => svg("polygon", { points: "7,0 3.5,6.06 -3.5,6.06 -7,0 -3.5,-6.06 3.5,-6.06" }),
};

/** The industry's symbol as a small SVG, as drawn on the map. */
export function industrySymbol(industry) {
  const shape = industryShape(industry);
  const node = LEGEND_SHAPES[shape]();
  node.setAttribute("fill", INDUSTRY_COLOURS[industry] || OTHER_COLOUR);
  return svg("svg", {
    className: `mk-shape ${shape}`, width: 16, height: 16, viewBox: "-8.5 -8.5 17 17",
    "aria-hidden": "true", "data-industry": industry, "data-shape": shape,
  }, [node]);
}

function swatch(className) {
  return el("span", { className: `mk ${className}`, "aria-hidden": "true" });
}

function item(node, text) {
  return el("div", { className: "item" }, [node, el("span", { text })]);
}

/** The plant legend: which plants show in `period`, a symbol per industry, then every fact
 * style for quarter q. */
export function drawPlantLegend(box, q, period = q) {
  const industries = [...Object.keys(INDUSTRY_COLOURS), "other"];
  box.replaceChildren(
    el("h2", { text: t("legend.plants") }),
    el("p", { className: "note operating", text: t("legend.operating", { period: formatPeriod(period) }) }),
    ...industries.map((name) => item(industrySymbol(name), tValue("industry", name))),
    el("h3", { text: t("legend.facts", { quarter: formatPeriod(q) }) }),
    item(swatch("cited"), t("legend.cited")),
    item(swatch("up"), t("legend.up")),
    item(swatch("flag"), t("legend.flag")),
    item(swatch("approx"), t("legend.approx")),
  );
}
