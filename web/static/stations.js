// Monitoring stations (`stations` layer: code, name, city, province, status, reason and per
// quarter pm25_<Q>, days_<Q>): diamonds (plants are circles) coloured by the quarter's mean on
// the raster's scale, flagged stations a red ring with a cross; and the `sparse` layer (polygons
// with `quarter`), hatched where the nearest station is more than 150 km away.
import { el } from "./dom.js";
import { formatNumber, formatPeriod, lang, plural, provinceName, t, tValue } from "./i18n.js";

const STATIONS = "stations";
const FLAGGED = "stations-flagged";
export const SPARSE = "sparse-hatch";
export const STATION_LAYERS = [STATIONS, FLAGGED];
const NO_VALUE = "#b8b8b8";
const FLAG_RED = "#d7191c";
const HATCH = "hatch";
const CROSS = "station-cross";
const DIAMOND = "station-diamond";
const OK = ["==", ["get", "status"], "ok"];

function sourceLayer(info, fallback) {
  return (info.vector_layers && info.vector_layers[0] && info.vector_layers[0].id) || fallback;
}

/** An RGBA image drawn by `draw(ctx, size)` on a `size`-pixel canvas, for map.addImage. */
function canvasImage(size, draw) {
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  draw(ctx, size);
  return ctx.getImageData(0, 0, size, size);
}

function hatchImage() {
  return canvasImage(16, (ctx, size) => {
    ctx.strokeStyle = "rgba(40, 40, 50, 0.55)";
    ctx.lineWidth = 2;
    for (const offset of [-size, 0, size]) {
      ctx.beginPath();
      ctx.moveTo(offset, size);
      ctx.lineTo(offset + size, 0);
      ctx.stroke();
    }
  });
}

/** A diamond as a signed distance field (edge at alpha 0.75, 32 per pixel, as MapLibre's
 * SDF icons expect), so it takes any icon-color and a halo. */
function diamondImage() {
  const size = 32;
  const radius = 9;
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const distance = (Math.abs(x + 0.5 - size / 2) + Math.abs(y + 0.5 - size / 2) - radius) / Math.SQRT2;
      data[(y * size + x) * 4 + 3] = 192 - 32 * distance;
    }
  }
  return new ImageData(data, size, size);
}

function crossImage() {
  return canvasImage(28, (ctx, size) => {
    const mid = size / 2;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 6;
    ctx.beginPath();
    ctx.arc(mid, mid, 9, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.strokeStyle = FLAG_RED;
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(mid, mid, 9, 0, 2 * Math.PI);
    ctx.moveTo(mid - 5, mid - 5);
    ctx.lineTo(mid + 5, mid + 5);
    ctx.moveTo(mid + 5, mid - 5);
    ctx.lineTo(mid - 5, mid + 5);
    ctx.stroke();
  });
}

/** The hatch of the `sparse` layer (drawn above the PM2.5 raster); nothing without the layer. */
export function addSparseLayer(map, info) {
  if (!info) return;
  map.addImage(HATCH, hatchImage(), { pixelRatio: 2 });
  map.addSource("sparse", { type: "vector", url: `pmtiles://${info.pmtiles.all}` });
  map.addLayer({
    id: SPARSE, type: "fill", source: "sparse", "source-layer": sourceLayer(info, "sparse"),
    filter: ["==", ["get", "quarter"], ""],
    paint: { "fill-pattern": HATCH, "fill-opacity": 0.7 },
  });
}

/** Station circles (ok) and crosses (flagged); nothing without the layer. */
export function addStationLayers(map, info) {
  if (!info) return;
  map.addImage(CROSS, crossImage(), { pixelRatio: 2 });
  map.addImage(DIAMOND, diamondImage(), { pixelRatio: 2, sdf: true });
  map.addSource(STATIONS, { type: "vector", url: `pmtiles://${info.pmtiles.all}` });
  const layer = sourceLayer(info, STATIONS);
  map.addLayer({
    id: STATIONS, type: "symbol", source: STATIONS, "source-layer": layer, filter: OK,
    layout: {
      "icon-image": DIAMOND,
      "icon-size": ["interpolate", ["linear"], ["zoom"], 3, 0.55, 7, 1, 11, 1.4],
      "icon-allow-overlap": true,
      "icon-ignore-placement": true,
    },
    paint: { "icon-color": NO_VALUE, "icon-halo-color": "#2b2b35", "icon-halo-width": 1 },
  });
  map.addLayer({
    id: FLAGGED, type: "symbol", source: STATIONS, "source-layer": layer, filter: ["!", OK],
    layout: {
      "icon-image": CROSS,
      "icon-size": ["interpolate", ["linear"], ["zoom"], 3, 0.6, 8, 1],
      "icon-allow-overlap": true,
      "icon-ignore-placement": true,
    },
  });
}

/** The colour of a value on the scale's classes (`[{lower, color}]`, ascending). */
function classColour(classes, field) {
  if (!classes || !classes.length) return NO_VALUE;
  const steps = classes.slice(1).flatMap((cls) => [cls.lower, cls.color]);
  const value = ["to-number", ["get", field]];
  return ["case", ["has", field], ["step", value, classes[0].color, ...steps], NO_VALUE];
}

/** Colour the stations by the mean of `period` (a quarter, or any period the layer has values
 * of) and hatch its sparse areas. */
export function styleStations(map, period, classes) {
  if (map.getLayer(STATIONS)) map.setPaintProperty(STATIONS, "icon-color", classColour(classes, `pm25_${period}`));
  if (map.getLayer(SPARSE)) map.setFilter(SPARSE, ["==", ["get", "quarter"], period]);
}

/** `period` when the stations layer (`info`) has values of it, else `quarter` (its quarter). */
export function stationPeriod(info, period, quarter) {
  const layer = info && info.vector_layers && info.vector_layers[0];
  const fields = (layer && layer.fields) || {};
  return `pm25_${period}` in fields ? period : quarter;
}

/** Show or hide a group of layers. */
export function setVisible(map, ids, visible) {
  for (const id of ids) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
}

function row(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value })];
}

/** A flagged station's reason in the page's language (the release writes both). */
function reasonText(p) {
  return (lang() === "zh" && p.reason_zh) || p.reason || "";
}

/** The popup's content for one station feature in quarter `q`. */
export function stationPopup(feature, quarter) {
  const p = feature.properties;
  const value = p[`pm25_${quarter}`];
  const days = p[`days_${quarter}`];
  const flagged = p.status !== "ok";
  const title = [p.city, p.name].filter(Boolean).join(" ");
  return el("div", { className: `station-popup${flagged ? " flagged" : ""}` }, [
    el("h3", { text: title || p.code }),
    el("dl", {}, [
      ...row(t("station.code"), p.code || "—"),
      ...row(t("station.city"), p.province ? t("station.place", { city: p.city || "", province: provinceName(p.province) }) : p.city || "—"),
      ...row(t("station.value", { quarter: formatPeriod(quarter) }),
        value == null ? t("station.no_value") : `${formatNumber(value, 1)} µg/m³`),
      ...row(t("station.days"), days == null ? "—" : plural("station.days_count", Number(days))),
      ...row(t("station.status"), tValue("station.status", p.status)),
      ...(flagged ? row(t("station.reason"), reasonText(p)) : []),
    ]),
    flagged && el("p", { className: "warn", text: t("station.flagged_note") }),
  ]);
}

/** Legend lines of the stations and the hatch, for the layers the release has. */
export function stationLegend(hasStations, hasSparse) {
  const items = [];
  if (hasStations) {
    items.push(el("div", { className: "item" }, [el("span", { className: "mk station", "aria-hidden": "true" }),
      el("span", { text: t("legend.station") })]));
    items.push(el("div", { className: "item" }, [el("span", { className: "mk station-flag", "aria-hidden": "true" }),
      el("span", { text: t("legend.station_flagged") })]));
  }
  if (hasSparse) {
    items.push(el("div", { className: "item" }, [el("span", { className: "swatch hatch", "aria-hidden": "true" }),
      el("span", { text: t("legend.sparse") })]));
  }
  return items;
}
