// Compare two periods: a swipe between the PM2.5 of period A (left) and period B (right) on two
// synced maps (@maplibre/maplibre-gl-compare, vendored, loaded on first use), or the difference
// B − A drawn from /tiles/pm25-diff/{a}/{b}/… with its diverging legend. Both maps show the same
// basemap, lines and place names as the main map. URL state: ?compare=A,B (and &diff=1), kept
// beside the main map's #hash. Every text comes from the catalogue (keys compare.*).
/* global maplibregl */
import { SEA, addBasemapFills, addBasemapLabels, addBasemapLines, setLabelLanguage } from "./basemap.js";
import { el, getJson } from "./dom.js";
import { formatNumber, formatPeriod, lang, t, translatePage } from "./i18n.js";

const VENDOR = "/static/vendor/maplibre-gl-compare/maplibre-gl-compare";
const RASTER = "compare-pm25";
const DIFF = "compare-diff";
const SLOT = "compare-slot"; // an empty layer: the rasters are drawn just under it (under the lines)
const OPACITY = 0.8; // as the main map's PM2.5
const KEY_STEP = 0.05; // share of the width an arrow key moves the swipe
const TYPES = ["month", "quarter", "year"];
const PATTERNS = { month: /^\d{4}-(0[1-9]|1[0-2])$/, quarter: /^\d{4}Q[1-4]$/, year: /^\d{4}$/ };
const phone = window.matchMedia("(max-width: 600px)");

const view = {
  main: null, // the main map
  release: null,
  periods: {}, // the release's PM2.5 periods by type
  a: null,
  b: null,
  diff: false,
  open: false,
  maps: null, // {a, b}: the two compare maps, built on first use
  compare: null, // the maplibregl.Compare of the swipe
  diffDoc: null, // TileJSON of the difference shown (with its colormap)
  dom: null,
};

/** "month", "quarter", "year" or null. */
function periodKind(label) {
  return TYPES.find((kind) => PATTERNS[kind].test(String(label ?? ""))) || null;
}

function rasterLayer() {
  const cb = document.getElementById("toggle-cb");
  const id = cb && cb.checked ? "pm25-cb" : "pm25";
  const layers = view.release.layers;
  return layers.find((layer) => layer.id === id) || layers.find((layer) => layer.id === "pm25");
}

/** The release's PM2.5 periods by type (a release from before months and years: its quarters). */
function releasePeriods(release) {
  const raw = release.periods || {};
  const out = {};
  for (const kind of TYPES) out[kind] = Array.isArray(raw[kind]) ? [...raw[kind]] : [];
  if (!out.quarter.length) out.quarter = [...(release.quarters || [])];
  return out;
}

function allPeriods() {
  return TYPES.flatMap((kind) => view.periods[kind]);
}

/** 2019Q1 and 2019Q3 when the release has them (a winter and a summer quarter), else the first
 * and third (or last) quarter, else the first and last period of the first type with two. */
function defaultPair() {
  const quarters = view.periods.quarter;
  if (quarters.includes("2019Q1") && quarters.includes("2019Q3")) return ["2019Q1", "2019Q3"];
  for (const kind of ["quarter", "month", "year"]) {
    const labels = view.periods[kind];
    if (labels.length >= 2) return [labels[0], labels[Math.min(2, labels.length - 1)]];
  }
  return null;
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  const pair = (params.get("compare") || "").split(",");
  const known = allPeriods();
  if (pair.length !== 2 || !pair.every((label) => known.includes(label))) return null;
  return { a: pair[0], b: pair[1], diff: params.get("diff") === "1" };
}

function writeUrl() {
  const url = new URL(location.href);
  if (view.open) url.searchParams.set("compare", `${view.a},${view.b}`);
  else url.searchParams.delete("compare");
  if (view.open && view.diff) url.searchParams.set("diff", "1");
  else url.searchParams.delete("diff");
  // ?compare=2019Q1,2019Q3 as people write it (the labels need no escaping)
  url.search = url.searchParams.toString().replace(/(^|&)compare=([^&]*)/, (_, start, value) =>
    `${start}compare=${decodeURIComponent(value)}`);
  history.replaceState(history.state, "", url.href);
}

/** The difference needs two periods of one type (the server compares like with like). */
function diffPossible() {
  return periodKind(view.a) === periodKind(view.b);
}

// ---- the library, loaded on first use -----------------------------------------------------------

let library = null;

function loadLibrary() {
  if (window.maplibregl && maplibregl.Compare) return Promise.resolve();
  if (!library) {
    library = new Promise((resolve, reject) => {
      document.head.append(el("link", { rel: "stylesheet", href: `${VENDOR}.css` }));
      const script = el("script", { src: `${VENDOR}.js` });
      script.addEventListener("load", () => resolve());
      script.addEventListener("error", () => {
        library = null;
        reject(new Error(`${VENDOR}.js could not be loaded`));
      });
      document.head.append(script);
    });
  }
  return library;
}

// ---- DOM ------------------------------------------------------------------------------------------

function periodSelect(id, labelKey) {
  const select = el("select", { id, "data-i18n-aria-label": labelKey, "data-i18n-title": labelKey });
  select.addEventListener("change", () => choose(id === "compare-a" ? "a" : "b", select.value));
  return select;
}

function fillSelect(select, value) {
  const groups = TYPES.filter((kind) => view.periods[kind].length).map((kind) => el(
    "optgroup", { label: t(`compare.type_${kind}`) },
    view.periods[kind].map((label) => el("option", { value: label, text: formatPeriod(label) })),
  ));
  select.replaceChildren(...groups);
  select.value = value;
}

function buildDom() {
  const stage = document.querySelector(".stage");
  const diffBox = el("input", { type: "checkbox", id: "compare-diff" });
  diffBox.addEventListener("change", () => setDiff(diffBox.checked));
  const closeButton = el("button", {
    type: "button", id: "compare-close", className: "close", "data-i18n-aria-label": "compare.close",
    "data-i18n-title": "compare.close", text: "×",
  });
  closeButton.addEventListener("click", () => close());
  // on a phone the credits fold to two lines; a tap (or Enter) shows them whole
  const credits = el("p", { id: "compare-credits", className: "compare-credits", tabindex: "0", role: "button",
    "aria-expanded": "false" });
  const fold = () => credits.setAttribute("aria-expanded", String(credits.getAttribute("aria-expanded") !== "true"));
  credits.addEventListener("click", fold);
  credits.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    fold();
  });
  const bar = el("div", { className: "compare-bar", role: "group", "data-i18n-aria-label": "compare.heading" }, [
    el("span", { className: "compare-side", "aria-hidden": "true", text: "A" }),
    periodSelect("compare-a", "compare.a"),
    el("span", { className: "compare-arrow", "aria-hidden": "true", text: "⟷" }),
    el("span", { className: "compare-side", "aria-hidden": "true", text: "B" }),
    periodSelect("compare-b", "compare.b"),
    el("label", { className: "compare-check" }, [diffBox, " ", el("span", { "data-i18n": "compare.diff" })]),
    closeButton,
  ]);
  const root = el("section", { id: "compare", className: "compare", hidden: true, "data-i18n-aria-label": "compare.heading" }, [
    el("div", { id: "compare-map-a", className: "compare-map" }),
    el("div", { id: "compare-map-b", className: "compare-map" }),
    el("div", { className: "compare-top" }, [
      bar,
      el("div", { className: "compare-chips", "aria-hidden": "true" }, [
        el("p", { id: "compare-chip-a", className: "compare-chip" }),
        el("p", { id: "compare-chip-b", className: "compare-chip" }),
      ]),
      el("p", { id: "compare-note", className: "compare-note", role: "status", hidden: true }),
    ]),
    el("div", { className: "compare-bottom" }, [
      el("div", { id: "compare-legend", className: "compare-legend", hidden: true, "aria-live": "polite" }),
      credits,
    ]),
  ]);
  stage.append(root);
  translatePage(root);
  return root;
}

function panelControls() {
  const box = document.getElementById("compare-controls");
  if (!box) return;
  const button = el("button", { type: "button", id: "compare-toggle", "aria-pressed": "false", "aria-controls": "compare",
    "data-i18n": "compare.open" });
  button.addEventListener("click", () => (view.open ? close() : open(view.a, view.b, view.diff, { focus: true })));
  box.replaceChildren(el("h2", { id: "compare-controls-h", "data-i18n": "compare.heading" }), el("p", { className: "muted small", "data-i18n": "compare.intro" }), button);
  translatePage(box);
}

// ---- maps -----------------------------------------------------------------------------------------

function cameraOf(map) {
  return { center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() };
}

/** `url` as side `side` ("a" or "b") reads it. Chromium's HTTP cache fails concurrent Range
 * requests on one entry ("Failed to fetch", protomaps/PMTiles#442), and the two synced maps (and
 * the main one) ask for the same tiles at the same moment: each reads its archives under a URL
 * of its own (the server ignores the extra parameter). */
function sideUrl(url, side) {
  const out = new URL(url, location.href);
  out.searchParams.set("side", side);
  return out.href;
}

function newMap(container, side) {
  const layer = view.release.layers.find((info) => info.id === "boundaries");
  const boundaries = layer && { ...layer, pmtiles: { all: sideUrl(layer.pmtiles.all, side) } };
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": SEA } }] },
    attributionControl: false,
    maxZoom: view.main.getMaxZoom(),
    ...cameraOf(view.main),
  });
  return new Promise((resolve) => {
    map.on("load", () => {
      addBasemapFills(map, boundaries);
      map.addLayer({ id: SLOT, type: "background", layout: { visibility: "none" } });
      addBasemapLines(map, boundaries);
      addBasemapLabels(map, boundaries, lang());
      resolve(map);
    });
  });
}

function removeLayer(map, id) {
  if (map.getLayer(id)) map.removeLayer(id);
  if (map.getSource(id)) map.removeSource(id);
}

/** The PM2.5 of `label` on `map` (side `side`; nothing when the release has no grid tiles). */
function showRaster(map, label, side) {
  removeLayer(map, RASTER);
  const url = rasterLayer() && rasterLayer().pmtiles[label];
  if (!url) return false;
  map.addSource(RASTER, { type: "raster", url: `pmtiles://${sideUrl(url, side)}`, tileSize: 256 });
  map.addLayer({ id: RASTER, type: "raster", source: RASTER,
    paint: { "raster-opacity": OPACITY, "raster-resampling": "nearest" } }, SLOT);
  return true;
}

async function showDiff(map) {
  removeLayer(map, DIFF);
  const { a, b } = view;
  const doc = await getJson(`/tiles/pm25-diff/${encodeURIComponent(a)}/${encodeURIComponent(b)}/tilejson.json`);
  if (!view.diff || view.a !== a || view.b !== b) return; // changed meanwhile
  removeLayer(map, DIFF);
  view.diffDoc = doc;
  map.addSource(DIFF, { type: "raster", tiles: doc.tiles, tileSize: 256, minzoom: doc.minzoom, maxzoom: doc.maxzoom,
    bounds: doc.bounds });
  map.addLayer({ id: DIFF, type: "raster", source: DIFF,
    paint: { "raster-opacity": OPACITY, "raster-resampling": "nearest" } }, SLOT);
  drawLegend();
}

let building = null;

function ensureMaps() {
  if (!building) {
    building = Promise.all([newMap("compare-map-a", "a"), newMap("compare-map-b", "b")]).then(([a, b]) => {
      // on both: the swipe clips each map, and one control is whole wherever the divider is
      for (const map of [a, b]) map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "bottom-right");
      view.maps = { a, b };
      describe();
      return view.maps;
    });
  }
  return building;
}

/** The sources' credits, over both maps (a map's own control would be clipped by the swipe). */
function showCredits() {
  const credits = view.release.sources.map((s) => (lang() === "zh" && s.attribution_zh) || s.attribution || s.title);
  document.getElementById("compare-credits").textContent = credits.filter(Boolean).join(" | ");
}

// ---- swipe ----------------------------------------------------------------------------------------

function swiper() {
  return view.dom.querySelector(".compare-swiper-vertical");
}

function describeSwipe() {
  const handle = swiper();
  if (!handle || !view.compare) return;
  const width = view.maps.b.getContainer().getBoundingClientRect().width || 1;
  const left = Math.round((100 * view.compare.currentPosition) / width);
  handle.setAttribute("aria-valuenow", String(left));
  handle.setAttribute("aria-valuetext", t("compare.swipe_value", {
    left: formatNumber(left), a: formatPeriod(view.a), right: formatNumber(100 - left), b: formatPeriod(view.b),
  }));
  handle.setAttribute("aria-label", t("compare.swipe_label", { a: formatPeriod(view.a), b: formatPeriod(view.b) }));
}

function moveSwipe(x) {
  view.compare.setSlider(x);
  describeSwipe();
}

function startSwipe() {
  const { a, b } = view.maps;
  if (view.compare) return;
  a.jumpTo(cameraOf(b));
  view.compare = new maplibregl.Compare(a, b, view.dom, { orientation: "vertical" });
  view.compare.on("slideend", describeSwipe);
  const width = b.getContainer().getBoundingClientRect().width;
  // on a desktop the panel covers the map's left edge: start in the middle of what is visible
  const panel = document.getElementById("panel");
  const covered = !phone.matches && panel ? Math.max(panel.getBoundingClientRect().right, 0) : 0;
  moveSwipe(Math.round((covered + width) / 2));
  const handle = swiper();
  handle.setAttribute("tabindex", "0");
  handle.setAttribute("role", "slider");
  handle.setAttribute("aria-valuemin", "0");
  handle.setAttribute("aria-valuemax", "100");
  handle.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 }[event.key];
    const full = view.maps.b.getContainer().getBoundingClientRect().width;
    if (step) moveSwipe(Math.max(0, Math.min(full, view.compare.currentPosition + step * KEY_STEP * full)));
    else if (event.key === "Home") moveSwipe(0);
    else if (event.key === "End") moveSwipe(full);
    else return;
    event.preventDefault();
  });
  describeSwipe();
}

function stopSwipe() {
  if (!view.compare) return;
  view.compare.remove();
  view.compare = null;
}

// ---- state ----------------------------------------------------------------------------------------

function drawLegend() {
  const box = document.getElementById("compare-legend");
  const doc = view.diffDoc;
  box.hidden = !(view.diff && diffPossible() && doc);
  if (box.hidden) return;
  const scale = doc.colormap;
  const signed = (value) => (value > 0 ? "+" : value < 0 ? "−" : "") + formatNumber(Math.abs(value));
  const range = (cls) => {
    if (cls.lower == null) return t("compare.below", { upper: signed(cls.upper) });
    if (cls.upper == null) return t("compare.above", { lower: signed(cls.lower) });
    return t("compare.range", { lower: signed(cls.lower), upper: signed(cls.upper) });
  };
  // a list of ranges; on a phone one row of swatches marked by their lower bounds
  const tick = (cls) => (cls.lower == null ? "" : signed(cls.lower)); // the next bound ends the first
  const rows = scale.classes.map((cls) => {
    const swatch = el("span", { className: "swatch" });
    swatch.style.background = cls.color;
    return el("div", { className: "item", "data-class": String(cls.index), title: range(cls) }, [
      swatch, el("span", { className: "range", text: range(cls) }), el("span", { className: "tick", "aria-hidden": "true", text: tick(cls) }),
    ]);
  });
  const [a, b] = [formatPeriod(view.a), formatPeriod(view.b)];
  box.replaceChildren(
    el("h2", { text: t("compare.legend_title", { a, b, units: scale.units || "" }) }),
    el("div", { className: "scale" }, rows),
    el("p", { className: "ends" }, [
      el("span", { className: "cleaner", text: t("compare.legend_cleaner", { b }) }),
      el("span", { className: "dirtier", text: t("compare.legend_dirtier", { b }) }),
    ]),
    el("p", { className: "muted", text: t("compare.legend_nodata") }),
  );
}

function describe() {
  const [a, b] = [formatPeriod(view.a), formatPeriod(view.b)];
  const chipA = document.getElementById("compare-chip-a");
  const chipB = document.getElementById("compare-chip-b");
  const showingDiff = view.diff && diffPossible();
  chipA.hidden = showingDiff;
  chipA.textContent = `◀ A · ${a}`;
  chipB.textContent = showingDiff ? t("compare.diff_chip", { a, b }) : `B · ${b} ▶`;
  fillSelect(document.getElementById("compare-a"), view.a);
  fillSelect(document.getElementById("compare-b"), view.b);
  const diffBox = document.getElementById("compare-diff");
  diffBox.checked = view.diff;
  diffBox.disabled = !diffPossible();
  const missing = [view.a, view.b].filter((label) => !(rasterLayer() && rasterLayer().pmtiles[label]));
  const notes = [];
  if (!diffPossible()) notes.push(t("compare.diff_types"));
  if (view.a === view.b) notes.push(t("compare.same"));
  if (missing.length && !showingDiff) notes.push(t("compare.no_grid", { period: missing.map(formatPeriod).join(", ") }));
  const note = document.getElementById("compare-note");
  note.hidden = !notes.length;
  note.textContent = notes.join(" ");
  if (view.maps) {
    view.maps.a.getCanvas().setAttribute("aria-label", t("compare.map_label", { period: a }));
    view.maps.b.getCanvas().setAttribute("aria-label", showingDiff
      ? t("compare.diff_map_label", { a, b }) : t("compare.map_label", { period: b }));
  }
  describeSwipe();
  drawLegend();
}

/** Draw the chosen periods and mode on the two maps. */
async function render() {
  const { a, b } = await ensureMaps();
  const showingDiff = view.diff && diffPossible();
  showRaster(a, view.a, "a");
  showRaster(b, view.b, "b");
  if (b.getLayer(RASTER)) b.setLayoutProperty(RASTER, "visibility", showingDiff ? "none" : "visible");
  document.getElementById("compare-map-a").hidden = showingDiff;
  if (showingDiff) {
    stopSwipe();
    view.diffDoc = null;
    describe();
    try {
      await showDiff(b);
    } catch (error) {
      const note = document.getElementById("compare-note");
      note.hidden = false;
      note.textContent = t("compare.diff_unavailable");
    }
  } else {
    removeLayer(b, DIFF);
    view.diffDoc = null;
    startSwipe();
    describe();
  }
}

async function open(a, b, diff, { focus = false } = {}) {
  const pair = a && b ? [a, b] : defaultPair();
  if (!pair) return;
  [view.a, view.b] = pair;
  view.diff = Boolean(diff);
  try {
    await loadLibrary();
  } catch (error) {
    const box = document.getElementById("compare-controls");
    if (box) box.append(el("p", { className: "warn", role: "status", text: t("compare.load_failed") }));
    return;
  }
  view.open = true;
  view.dom.hidden = false;
  document.body.classList.add("comparing");
  const toggle = document.getElementById("compare-toggle");
  if (toggle) {
    toggle.setAttribute("aria-pressed", "true");
    toggle.textContent = t("compare.close");
    toggle.dataset.i18n = "compare.close";
  }
  const panel = document.getElementById("panel");
  if (phone.matches && panel && panel.classList.contains("open")) document.getElementById("panel-toggle").click();
  if (view.maps) {
    view.maps.a.resize();
    view.maps.b.resize();
    view.maps.b.jumpTo(cameraOf(view.main));
  }
  writeUrl();
  await render();
  if (focus) document.getElementById("compare-a").focus({ preventScroll: true });
}

function close() {
  if (!view.open) return;
  if (view.maps) view.main.jumpTo(cameraOf(view.maps.b));
  stopSwipe();
  view.open = false;
  view.dom.hidden = true;
  document.body.classList.remove("comparing");
  const toggle = document.getElementById("compare-toggle");
  if (toggle) {
    toggle.setAttribute("aria-pressed", "false");
    toggle.textContent = t("compare.open");
    toggle.dataset.i18n = "compare.open";
    toggle.focus({ preventScroll: true });
  }
  writeUrl();
}

function choose(side, label) {
  view[side] = label;
  if (!diffPossible()) view.diff = false;
  writeUrl();
  render();
}

function setDiff(on) {
  view.diff = on && diffPossible();
  writeUrl();
  render();
}

/** Every text of the compare view in the (new) page language. */
function relabel() {
  if (!view.dom) return;
  translatePage(view.dom);
  const toggle = document.getElementById("compare-toggle");
  if (toggle) translatePage(toggle.parentElement);
  if (!view.a) return;
  describe();
  showCredits();
  if (view.maps) {
    setLabelLanguage(view.maps.a, lang());
    setLabelLanguage(view.maps.b, lang());
  }
}

/** Wire the compare view to the main map: the panel's button, the URL, the language. */
export function wireCompare(main, release) {
  view.main = main;
  view.release = release;
  const periods = releasePeriods(release);
  for (const kind of TYPES) view.periods[kind] = periods[kind];
  const pair = defaultPair();
  if (!pair) return null; // nothing to compare: no button
  [view.a, view.b] = pair;
  view.dom = buildDom();
  showCredits();
  panelControls();
  new MutationObserver(relabel).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
  const cb = document.getElementById("toggle-cb");
  if (cb) cb.addEventListener("change", () => view.open && render());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && view.open && !document.querySelector("dialog[open]")) close();
  });
  const api = {
    open: (a, b, diff) => open(a, b, diff), close, state: view,
    maps: () => view.maps, swipe: () => view.compare,
  };
  if (window.lantian) window.lantian.compare = api;
  const asked = readUrl();
  if (asked) open(asked.a, asked.b, asked.diff);
  return api;
}
