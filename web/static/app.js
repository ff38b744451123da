// lantian web map: a basemap (land, lines, place names), the PM2.5 quarterly raster, monitoring
// stations and plants (with their violation and output facts per quarter) from PMTiles archives,
// a facility card per plant, search and filters; in Chinese or English.
/* global maplibregl, pmtiles */
import { SEA, addBasemapFills, addBasemapLabels, addBasemapLines, setLabelLanguage, showBasemap } from "./basemap.js";
import { cardSections, chooserList, otherName, plantName } from "./card.js";
import { wireCompare } from "./compare.js";
import { addCityLayers, cityAt, cityRows, matchCities, wireCity } from "./city.js";
import { PINNED_RELEASE, el, escapeHtml, getJson, offerLink, pinned } from "./dom.js";
import { chooseLang, formatNumber, formatPeriod, has, lang, placeName, plural, setLang, t, translatePage } from "./i18n.js";
import {
  POINT_LAYERS, addPlantLabels, addPlantLayers, drawPlantLegend, markSelected, setPlantLabelLanguage, stylePlants,
} from "./markers.js";
import { wirePanel } from "./panel.js";
import { PERIOD_TYPES, matchingPeriod, monthSpan, periodType, plantQuarter, releasePeriods } from "./period.js";
import { wireRankings } from "./rankings.js";
import { wireShare } from "./share.js";
import {
  SPARSE, STATION_LAYERS, addSparseLayer, addStationLayers, setVisible, stationLegend, stationPeriod, stationPopup,
  styleStations,
} from "./stations.js";

const PM25_LAYER = "pm25-raster";
const PM25_SLOT = "pm25-slot"; // an empty layer: the raster is drawn just under it
const PLANT_ZOOM = 10;
const CLICK_SLOP = 6; // px around a click that still hits a marker

const state = {
  release: null,
  periods: { month: [], quarter: [], year: [] }, // the slider's labels by granularity
  gridPeriods: { month: [], quarter: [], year: [] }, // the periods with a PM2.5 grid and statistics
  periodType: "quarter",
  period: null, // the shown period (month, quarter or year label)
  remembered: {}, // the last period shown of each type
  timeline: [], // the slider's labels (those of periodType)
  quarter: null, // the quarter of the plant facts: the period's quarter (a year's last)
  city: null, // the city panel
  rankings: null,
  colormap: "pm25",
  showPlants: true,
  plant: null,
  card: null,
  panel: null,
  scale: null, // the PM2.5 colour scale shown (classes, units): the legend's, the stations', the key's
  note: null, // what the release note says: {latest} once known
  credits: null, // the attribution control, replaced when the language changes
};
const cardView = { request: null, returnFocus: null, chooser: null, popup: null, station: null };
const byId = (id) => document.getElementById(id);
const phone = window.matchMedia("(max-width: 600px)");

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const num = (key) => (params.has(key) && Number.isFinite(Number(params.get(key))) ? Number(params.get(key)) : null);
  const choice = {
    industry: params.get("industry") || "",
    province: params.get("province") || "",
    status: params.get("status") || "",
    minCapacity: params.get("industry") && params.get("cap") ? params.get("cap") : "",
    coking: params.get("coking") === "1",
    hasViolations: params.get("cited") === "1",
    outputUp: params.get("up") === "1",
  };
  // `?city=<adcode>&period=<label>` (the city panel's permalink) and `#q=` (quarter-only links) too
  const search = new URLSearchParams(location.search);
  return {
    period: params.get("period") || params.get("q") || search.get("period"),
    city: params.get("city") || search.get("city"),
    zoom: num("z"), lon: num("lon"), lat: num("lat"), plant: params.get("plant"),
    choice, filtered: Object.values(choice).some(Boolean), cb: params.get("cb") === "1",
  };
}

function writeHash(map) {
  const c = map.getCenter();
  const params = { period: state.period, z: map.getZoom().toFixed(2), lon: c.lng.toFixed(4), lat: c.lat.toFixed(4) };
  if (state.plant) params.plant = state.plant;
  const city = state.city && state.city.current();
  if (city) params.city = city;
  const choice = state.panel ? state.panel.choice : {};
  if (choice.industry) params.industry = choice.industry;
  if (choice.province) params.province = choice.province;
  if (choice.status) params.status = choice.status;
  if (choice.minCapacity) params.cap = choice.minCapacity;
  if (choice.coking) params.coking = "1";
  if (choice.hasViolations) params.cited = "1";
  if (choice.outputUp) params.up = "1";
  if (state.colormap === "pm25-cb") params.cb = "1";
  const text = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v).replaceAll("%3A", ":")}`);
  history.replaceState(null, "", `#${text.join("&")}`);
}

/** The data's extent: the union of the PM2.5 and plant layers' bounds. */
function dataBounds() {
  const boxes = ["pm25", "enterprises"].map(layerInfo).filter(Boolean).map((layer) => layer.bounds);
  if (!boxes.length) return [-180, -85, 180, 85];
  return [0, 1, 2, 3].map((i) => (i < 2 ? Math.min : Math.max)(...boxes.map((b) => b[i])));
}

/** The view being shared: release, quarter, filters, and the visible bbox within the data. */
function currentView(map) {
  const b = map.getBounds();
  const [w, s, e, n] = dataBounds();
  let bbox = [Math.max(b.getWest(), -180, w), Math.max(b.getSouth(), -85, s), Math.min(b.getEast(), 180, e), Math.min(b.getNorth(), 85, n)];
  if (!(bbox[0] < bbox[2] && bbox[1] < bbox[3])) bbox = [w, s, e, n]; // panned off the data
  const c = map.getCenter();
  return {
    release: state.release.id,
    grids: PERIOD_TYPES.flatMap((kind) => state.gridPeriods[kind]),
    quarter: state.quarter,
    period: state.period,
    periodType: state.periodType,
    city: state.city ? state.city.current() : null,
    bbox: bbox.map((v) => Number(v.toFixed(4))),
    zoom: map.getZoom(),
    lon: c.lng,
    lat: c.lat,
    plant: state.plant,
    choice: { ...state.panel.choice },
    colormap: state.colormap,
    lang: lang(),
  };
}

function renderReleaseNote() {
  const note = byId("release-note");
  if (!PINNED_RELEASE) return;
  note.hidden = false;
  const id = state.release.id;
  const latest = state.note && state.note.latest;
  note.classList.toggle("pinned-old", Boolean(latest && latest !== id));
  if (!latest) note.replaceChildren(el("span", { text: t("web.release_viewing", { id }) }));
  else if (latest === id) note.replaceChildren(el("span", { text: t("web.release_current", { id }) }));
  else {
    note.replaceChildren(
      el("span", { text: t("web.release_newer", { id, latest }) }),
      " ",
      el("a", { href: `/${location.hash}`, text: t("web.release_open_current") }),
    );
  }
}

async function showReleaseNote() {
  byId("downloads-link").href = pinned("/downloads");
  if (!PINNED_RELEASE) return;
  renderReleaseNote();
  try {
    const response = await fetch("/healthz");
    state.note = { latest: (await response.json()).release };
    renderReleaseNote();
  } catch (error) {
    // the note without the comparison
  }
}

function layerInfo(id) {
  return state.release.layers.find((layer) => layer.id === id);
}

function rasterUrl() {
  const layer = layerInfo(state.colormap) || layerInfo("pm25");
  return layer && layer.pmtiles[state.period];
}

function showGridNote() {
  const url = rasterUrl();
  const note = byId("grid-note");
  note.hidden = Boolean(url);
  note.textContent = url ? "" : t("legend.no_grid", { quarter: formatPeriod(state.period) });
  byId("legend").classList.toggle("no-grid", !url);
  showMapKey();
}

/** The phone's key to the map: the period shown, over the PM2.5 scale's lower bounds. */
function showMapKey() {
  const hasGrid = Boolean(rasterUrl());
  const period = formatPeriod(state.period);
  byId("map-key-title").textContent = hasGrid
    ? t("mapkey.title", { period, units: (state.scale && state.scale.units) || "" })
    : t("legend.no_grid", { quarter: period });
  const strip = byId("map-key-scale");
  strip.hidden = !hasGrid || !state.scale || !byId("toggle-pm25").checked;
  strip.replaceChildren(...(state.scale ? state.scale.classes : []).map((cls) => {
    const step = el("span", { text: formatNumber(cls.lower) });
    step.style.borderTopColor = cls.color;
    return step;
  }));
}

function setRaster(map) {
  if (map.getLayer(PM25_LAYER)) map.removeLayer(PM25_LAYER);
  if (map.getSource("pm25")) map.removeSource("pm25");
  showGridNote();
  const url = rasterUrl();
  if (!url) return;
  const visible = byId("toggle-pm25").checked ? "visible" : "none";
  map.addSource("pm25", { type: "raster", url: `pmtiles://${url}`, tileSize: 256 });
  map.addLayer(
    {
      id: PM25_LAYER,
      type: "raster",
      source: "pm25",
      paint: { "raster-opacity": 0.8, "raster-resampling": "nearest" },
      layout: { visibility: visible },
    },
    PM25_SLOT,
  );
}

const scales = new Map(); // colormap name → its document (promise)

/** `15–35: within the … limit` in the page's language: the range from the class's bounds, its
 * meaning from the catalogue (keyed by the lower bound; none for other breakpoints). */
function classLabel(cls) {
  const range = cls.upper == null
    ? `≥ ${formatNumber(cls.lower)}`
    : `${formatNumber(cls.lower)}–${formatNumber(cls.upper)}`;
  const key = `legend.pm25_class.${cls.lower}`;
  return has(key) ? t("legend.class", { range, meaning: t(key) }) : range;
}

async function drawLegend(map) {
  const box = byId("legend-scale");
  const layer = layerInfo(state.colormap) || layerInfo("pm25");
  const name = (layer && layer.colormap) || state.colormap;
  if (!scales.has(name)) scales.set(name, getJson(`/api/colormaps/${encodeURIComponent(name)}`));
  try {
    const scale = await scales.get(name);
    const title = t(state.colormap === "pm25-cb" ? "legend.pm25_cb" : "legend.pm25", { units: scale.units || "" });
    box.replaceChildren(el("h2", { text: title }));
    for (const cls of scale.classes) {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = cls.color;
      box.append(el("div", { className: "item", "data-class": String(cls.index) }, [swatch, el("span", { text: classLabel(cls) })]));
    }
    state.scale = scale;
    showMapKey();
    restyleStations(map);
  } catch (error) {
    scales.delete(name);
    box.replaceChildren(el("p", { text: t("legend.unavailable") }));
  }
}

function drawStationLegend() {
  const hasStations = Boolean(layerInfo("stations"));
  const hasSparse = Boolean(layerInfo("sparse"));
  const items = stationLegend(hasStations, hasSparse);
  byId("station-legend").replaceChildren(...(items.length ? [el("h2", { text: t("legend.stations") }), ...items] : []));
}

/** Basemap fills, the raster's slot, the hatch, lines, stations, plants and their
 * names, then the place labels on top (placed first: where they collide, places win). */
function addLayers(map) {
  const basemap = layerInfo("boundaries");
  addBasemapFills(map, basemap);
  map.addLayer({ id: PM25_SLOT, type: "background", layout: { visibility: "none" } });
  addSparseLayer(map, layerInfo("sparse"));
  addBasemapLines(map, basemap);
  addCityLayers(map, basemap);
  addStationLayers(map, layerInfo("stations"));
  addPlantLayers(map, layerInfo);
  addPlantLabels(map, lang());
  addBasemapLabels(map, basemap, lang());
  for (const [id, layer] of [["toggle-stations", "stations"], ["toggle-sparse", "sparse"], ["toggle-boundaries", "boundaries"]]) {
    byId(id).closest("label").hidden = !layerInfo(layer);
  }
}

/** The period the stations show: the map's when their layer has its values, else its quarter. */
function shownStationPeriod() {
  return stationPeriod(layerInfo("stations"), state.period, state.quarter);
}

function restyleStations(map) {
  styleStations(map, shownStationPeriod(), state.scale && state.scale.classes);
}

function restylePlants(map) {
  stylePlants(map, { period: state.period, quarter: state.quarter, choice: state.panel.choice, visible: state.showPlants });
}

// ---- facility card ------------------------------------------------------------------------

function setPanelOpen(open) {
  byId("panel").classList.toggle("open", open);
  byId("panel-toggle").setAttribute("aria-expanded", String(open));
}

function openCardShell(title) {
  const box = byId("card");
  if (box.hidden) cardView.returnFocus = document.activeElement;
  box.hidden = false;
  if (phone.matches) setPanelOpen(false);
  byId("card-title").textContent = title;
  byId("card-subtitle").textContent = "";
  byId("card-link").hidden = true;
  cardView.chooser = null;
  const body = byId("card-body");
  body.setAttribute("aria-busy", "true");
  body.replaceChildren(el("p", { className: "muted", text: t("card.loading") }));
  byId("card-title").focus();
}

function renderCard() {
  const { card } = state;
  const who = { ...card.identity, id: card.id };
  byId("card-title").textContent = plantName(who);
  byId("card-subtitle").textContent = otherName(who);
  const body = byId("card-body");
  body.replaceChildren(...cardSections(card, state.quarter, state.release.quarters));
  body.setAttribute("aria-busy", "false");
  byId("card-link").hidden = false;
  byId("link-field").hidden = true;
  byId("link-status").textContent = "";
}

/** Camera offset that centres a point in the part of the map the card leaves visible. */
function cardOffset() {
  const box = byId("card");
  return phone.matches ? [0, -box.offsetHeight / 2] : [-(box.offsetWidth + 10) / 2, 0];
}

function underCard(map, center) {
  const point = map.project(center);
  const canvas = map.getCanvas().getBoundingClientRect();
  const card = byId("card").getBoundingClientRect();
  const x = point.x + canvas.left;
  const y = point.y + canvas.top;
  return x >= card.left && x <= card.right && y >= card.top && y <= card.bottom;
}

function showCard(map, card, fly) {
  state.card = card;
  renderCard();
  markSelected(map, card.location);
  const center = [card.location.lon, card.location.lat];
  if (fly) map.flyTo({ center, zoom: Math.max(map.getZoom(), PLANT_ZOOM), offset: cardOffset() });
  else if (underCard(map, center)) map.easeTo({ center, offset: cardOffset() });
}

function showCardError(id) {
  const body = byId("card-body");
  body.replaceChildren(el("p", { className: "warn", text: t("card.load_error", { id }) }));
  body.setAttribute("aria-busy", "false");
}

function cardUrl(id) {
  return `/api/enterprises/${encodeURIComponent(id)}/card`;
}

async function openPlant(map, id, { fly = false, title = id } = {}) {
  closePopup();
  if (cardView.request) cardView.request.abort();
  const request = new AbortController();
  cardView.request = request;
  state.plant = id;
  state.card = null;
  writeHash(map);
  openCardShell(title);
  try {
    const card = await getJson(cardUrl(id), { signal: request.signal });
    if (!request.signal.aborted) showCard(map, card, fly);
  } catch (error) {
    if (!request.signal.aborted) showCardError(id);
  }
}

function showChooser(map, features) {
  if (cardView.request) cardView.request.abort();
  state.plant = null;
  state.card = null;
  markSelected(map, null);
  writeHash(map);
  openCardShell(plural("card.chooser_title", features.length));
  renderChooser(map, features);
}

function renderChooser(map, features) {
  cardView.chooser = features;
  byId("card-title").textContent = plural("card.chooser_title", features.length);
  const body = byId("card-body");
  const open = (plant) => openPlant(map, plant.id, { title: plantName(plant) });
  body.replaceChildren(el("p", { text: t("card.chooser_intro") }), chooserList(features, open));
  body.setAttribute("aria-busy", "false");
}

function closeCard(map, { focus = true } = {}) {
  if (cardView.request) cardView.request.abort();
  state.plant = null;
  state.card = null;
  cardView.chooser = null;
  byId("card").hidden = true;
  markSelected(map, null);
  writeHash(map);
  if (!focus) return;
  const back = cardView.returnFocus;
  (back && back !== document.body && document.contains(back) ? back : map.getCanvas()).focus();
}

async function showPermalink() {
  const field = byId("link-field");
  const status = byId("link-status");
  const url = new URL(location.href);
  url.searchParams.set("lang", lang());
  await offerLink(field, status, url.href, { copied: t("card.link_copied"), manual: t("card.link_copy_manual") });
}

// ---- stations ---------------------------------------------------------------------------------

function closePopup() {
  if (cardView.popup) cardView.popup.remove();
}

function renderPopup() {
  const { popup, station } = cardView;
  popup.setDOMContent(stationPopup(station, shownStationPeriod()));
  const close = popup.getElement() && popup.getElement().querySelector(".maplibregl-popup-close-button");
  if (close) close.setAttribute("aria-label", t("web.popup_close"));
}

function openStation(map, feature) {
  closePopup();
  const popup = new maplibregl.Popup({ maxWidth: "300px", focusAfterOpen: false });
  cardView.popup = popup;
  cardView.station = { properties: { ...feature.properties }, geometry: feature.geometry };
  popup.setLngLat(feature.geometry.coordinates).addTo(map);
  renderPopup();
  popup.on("close", () => {
    if (cardView.popup === popup) cardView.popup = null;
  });
}

function stationsAt(map, box) {
  const layers = STATION_LAYERS.filter((id) => map.getLayer(id));
  return layers.length ? map.queryRenderedFeatures(box, { layers }) : [];
}

// ---- controls -----------------------------------------------------------------------------

function plantsAt(map, point) {
  const box = [[point.x - CLICK_SLOP, point.y - CLICK_SLOP], [point.x + CLICK_SLOP, point.y + CLICK_SLOP]];
  const layers = POINT_LAYERS.filter((id) => map.getLayer(id));
  const plants = new Map();
  for (const feature of map.queryRenderedFeatures(box, { layers })) {
    const id = feature.properties.id;
    if (id && !plants.has(id)) plants.set(id, feature);
  }
  return { box, plants: [...plants.values()] };
}

function onMapClick(map, event) {
  const { box, plants } = plantsAt(map, event.point);
  if (plants.length === 1) {
    openPlant(map, plants[0].properties.id, { title: plants[0].properties.name });
  } else if (plants.length > 1) {
    showChooser(map, plants);
  } else {
    const stations = stationsAt(map, box);
    const city = stations.length ? null : cityAt(map, event.point);
    if (stations.length) openStation(map, stations[0]);
    else if (city) openCity(map, city.adcode, { name: placeName(city.name_zh, city.name_en) || city.name, at: event.lngLat });
  }
}

// ---- city panel and rankings --------------------------------------------------------------

function openCity(map, adcode, options = {}) {
  closePopup();
  return state.city.open(adcode, options);
}

/** Cities for the search box: /api/cities when the server lists them, else the national ranking. */
let cityIndex = null;
function loadCityIndex() {
  if (!cityIndex) {
    const period = state.periods.year[0] || state.periods.quarter[0] || state.period;
    cityIndex = getJson("/api/cities")
      .catch(() => getJson(`/api/rankings?${new URLSearchParams({ group: "national", period, format: "json" })}`))
      .then(cityRows, () => {
        cityIndex = null;
        return [];
      });
  }
  return cityIndex;
}

function wireCityAndRankings(map) {
  const statsPeriods = () => PERIOD_TYPES.flatMap((kind) => state.gridPeriods[kind]);
  state.city = wireCity({
    map,
    getPeriod: () => state.period,
    statsPeriod: (label) => Boolean(label) && statsPeriods().includes(label),
    openPlant: (id, title) => openPlant(map, id, { fly: true, title }),
    onChange: () => writeHash(map),
    spanOf: monthSpan,
    beforeOpen: () => {
      if (!byId("card").hidden) closeCard(map, { focus: false });
      if (phone.matches) setPanelOpen(false);
    },
  });
  state.rankings = wireRankings({
    periods: () => state.gridPeriods,
    getPeriod: () => state.period,
    openCity: (adcode, period, name) => {
      if (period && period !== state.period && state.periods[periodType(period)]?.includes(period)) setPeriod(map, period);
      if (phone.matches) setPanelOpen(false);
      openCity(map, adcode, { name, fly: true });
    },
  });
  byId("rank-open").addEventListener("click", () => state.rankings.open());
}

function periodTexts() {
  const period = formatPeriod(state.period);
  const quarter = formatPeriod(state.quarter); // the plant facts' quarter
  byId("quarter-label").textContent = period;
  byId("quarter").setAttribute("aria-valuetext", period);
  byId("f-violations-label").textContent = t("web.filter_violations", { quarter });
  byId("f-output-up-label").textContent = t("web.filter_output_up", { quarter });
}

/** The slider over the labels of the chosen granularity, and the switch showing it. */
function syncSlider() {
  const slider = byId("quarter");
  slider.max = String(Math.max(state.timeline.length - 1, 0));
  slider.value = String(Math.max(state.timeline.indexOf(state.period), 0));
  for (const input of document.querySelectorAll("input[name='period-type']")) {
    input.checked = input.value === state.periodType;
    input.disabled = !state.periods[input.value].length;
  }
}

/** Show `period` (a month, quarter or year): raster, stations, plant facts of its quarter. */
function setPeriod(map, period) {
  state.period = period;
  state.periodType = periodType(period) || "quarter";
  state.remembered[state.periodType] = period;
  for (const kind of PERIOD_TYPES.slice(PERIOD_TYPES.indexOf(state.periodType) + 1)) {
    state.remembered[kind] = matchingPeriod(period, state.periods[kind]); // May 2019 → 2019Q2, 2019
  }
  state.timeline = state.periods[state.periodType];
  state.quarter = plantQuarter(period, state.periods.quarter);
  syncSlider();
  periodTexts();
  setRaster(map);
  restylePlants(map);
  restyleStations(map);
  drawPlantLegend(byId("plant-legend"), state.quarter, state.period);
  state.panel.refreshCount();
  if (state.card) renderCard();
  if (cardView.popup) renderPopup();
  if (state.city) state.city.setPeriod();
  writeHash(map);
}

/** Switch the slider to months, quarters or years, staying at the same time. */
function setPeriodType(map, kind) {
  const labels = state.periods[kind] || [];
  if (kind === state.periodType || !labels.length) return;
  setPeriod(map, matchingPeriod(state.period, labels, state.remembered[kind]));
}

// ---- language ---------------------------------------------------------------------------------

/** The texts MapLibre wrote into its controls, in the page's language. */
function relabelControls(map) {
  const labels = {
    ".maplibregl-ctrl-zoom-in": "web.zoom_in",
    ".maplibregl-ctrl-zoom-out": "web.zoom_out",
    ".maplibregl-ctrl-attrib-button": "web.attribution_toggle",
  };
  for (const [selector, key] of Object.entries(labels)) {
    for (const node of map.getContainer().querySelectorAll(selector)) {
      node.setAttribute("title", t(key));
      node.setAttribute("aria-label", t(key));
    }
  }
  map.getCanvas().setAttribute("aria-label", t("web.map_label"));
}

/** The release's title in the page's language (the other when it has none). */
function showTitle() {
  const { title, title_zh: titleZh } = state.release;
  byId("title").textContent = (lang() === "zh" ? titleZh || title : title || titleZh) || "lantian";
}

/** The sources' credits in the page's language. On a phone they fold into an (i) button after
 * the first drag; shown until then. */
// Global Energy Monitor's trackers, credited on the map as one publisher (each stays a source of
// its own in the release, its citations and its downloads).
const GEM_SOURCES = ["gist", "gem", "gcpt", "gcct", "gci"];
const GEM_PREFIX = { en: "Global Energy Monitor, ", zh: "全球能源监测（Global Energy Monitor）" };
const CC_BY = /\s*[（(]CC BY 4\.0[）)]$/;

/** The map's credit lines: one per source, GEM's trackers in one line. */
function creditLines(sources, zh) {
  const text = (s) => (zh && s.attribution_zh) || s.attribution || s.title;
  const gem = sources.filter((s) => GEM_SOURCES.includes(s.id));
  if (gem.length < 2) return sources.map(text);
  const prefix = GEM_PREFIX[zh ? "zh" : "en"];
  const trackers = gem.map((s) => text(s).replace(prefix, "").replace(CC_BY, ""));
  const line = zh ? `全球能源监测（Global Energy Monitor）：${trackers.join("；")}（CC BY 4.0）`
    : `Global Energy Monitor: ${trackers.join("; ")} (CC BY 4.0)`;
  return [...sources.filter((s) => !GEM_SOURCES.includes(s.id)).map(text), line];
}

function showCredits(map) {
  if (state.credits) map.removeControl(state.credits);
  const credits = creditLines(state.release.sources, lang() === "zh").map(escapeHtml);
  const compact = window.matchMedia("(max-width: 640px)").matches;
  state.credits = new maplibregl.AttributionControl({ compact, customAttribution: credits });
  map.addControl(state.credits);
}

/** Every text of the page and the map in the (new) page language; the view stays. */
function relabel(map) {
  translatePage();
  showTitle();
  showCredits(map);
  renderReleaseNote();
  periodTexts();
  showGridNote();
  drawLegend(map);
  drawStationLegend();
  drawPlantLegend(byId("plant-legend"), state.quarter, state.period);
  state.panel.relabel();
  if (state.card) renderCard();
  else if (cardView.chooser) renderChooser(map, cardView.chooser);
  if (cardView.popup) renderPopup();
  state.city.relabel();
  state.rankings.relabel();
  byId("link-status").textContent = "";
  setLabelLanguage(map, lang());
  setPlantLabelLanguage(map, lang());
  relabelControls(map);
}

async function switchLang(map, next) {
  await setLang(next, fetchCatalogue);
  const url = new URL(location.href);
  url.searchParams.set("lang", next);
  history.replaceState(null, "", url.href);
  relabel(map);
}

async function fetchCatalogue(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function wireLayerToggles(map) {
  byId("toggle-cb").addEventListener("change", (event) => {
    state.colormap = event.target.checked ? "pm25-cb" : "pm25";
    setRaster(map);
    drawLegend(map);
    writeHash(map);
  });
  const toggles = {
    "toggle-pm25": (on) => {
      setVisible(map, [PM25_LAYER], on);
      showMapKey();
    },
    "toggle-boundaries": (on) => showBasemap(map, on),
    "toggle-stations": (on) => {
      setVisible(map, STATION_LAYERS, on);
      if (!on) closePopup();
    },
    "toggle-sparse": (on) => setVisible(map, [SPARSE], on),
  };
  for (const [id, show] of Object.entries(toggles)) {
    byId(id).addEventListener("change", (event) => show(event.target.checked));
  }
  byId("toggle-enterprises").addEventListener("change", (event) => {
    state.showPlants = event.target.checked;
    restylePlants(map);
  });
}

function wireCard(map) {
  byId("card-close").addEventListener("click", () => closeCard(map));
  byId("link-button").addEventListener("click", showPermalink);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
    if (cardView.popup) closePopup();
    else if (!byId("card").hidden) closeCard(map);
    else if (state.city.isOpen()) state.city.close();
    else if (byId("panel").classList.contains("open")) setPanelOpen(false);
  });
  window.addEventListener("hashchange", () => {
    const hash = readHash();
    const kind = periodType(hash.period);
    if (hash.period !== state.period && kind && state.periods[kind].includes(hash.period)) setPeriod(map, hash.period);
    if (hash.plant && hash.plant !== state.plant) openPlant(map, hash.plant, { fly: true });
    else if (!hash.plant && state.plant) closeCard(map);
    if (hash.city && hash.city !== state.city.current()) openCity(map, hash.city, { fly: true });
    else if (!hash.city && state.city.isOpen()) state.city.close({ restoreFocus: false });
  });
}

function wireControls(map) {
  const slider = byId("quarter");
  slider.addEventListener("input", () => setPeriod(map, state.timeline[Number(slider.value)]));
  for (const input of document.querySelectorAll("input[name='period-type']")) {
    input.addEventListener("change", () => {
      if (input.checked) setPeriodType(map, input.value);
    });
  }
  byId("panel-toggle").addEventListener("click", () => setPanelOpen(!byId("panel").classList.contains("open")));
  wireLayerToggles(map);
  wireCard(map);
  map.on("click", (event) => onMapClick(map, event));
  map.on("mousemove", (event) => {
    const { box, plants } = plantsAt(map, event.point);
    const hit = plants.length > 0 || stationsAt(map, box).length > 0;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  byId("lang-toggle").addEventListener("click", () => switchLang(map, lang() === "zh" ? "en" : "zh"));
  map.on("moveend", () => writeHash(map));
}

function wireSearchAndFilters(map) {
  state.panel = wirePanel({
    getQuarter: () => state.quarter,
    getPeriod: () => state.period,
    onFilter: () => {
      restylePlants(map);
      writeHash(map);
    },
    onPick: (id) => {
      if (phone.matches) setPanelOpen(false);
      openPlant(map, id, { fly: true });
    },
    findCities: async (text) => matchCities(await loadCityIndex(), text),
    onPickCity: (city) => {
      if (phone.matches) setPanelOpen(false);
      openCity(map, city.adcode, { name: placeName(city.name_zh, city.name_en), fly: true });
    },
  });
}

function mapOptions(hash, card) {
  const options = {
    container: "map",
    style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": SEA } }] },
    attributionControl: false,
    maxZoom: 14,
  };
  const raster = layerInfo("pm25");
  const [west, south, east, north] = raster ? raster.bounds : [73, 18, 135, 54];
  if (card) {
    Object.assign(options, { center: [card.location.lon, card.location.lat], zoom: hash.zoom ?? PLANT_ZOOM });
  } else if (hash.zoom !== null && hash.lon !== null && hash.lat !== null) {
    Object.assign(options, { center: [hash.lon, hash.lat], zoom: hash.zoom });
  } else {
    options.bounds = [[west, south], [east, north]];
    // on a desktop the panel covers the map's left edge: fit the data beside it
    if (!phone.matches) options.fitBoundsOptions = { padding: { top: 20, bottom: 20, left: 300, right: 20 } };
  }
  return options;
}

// A transparent 1×1 PNG: what a raster tile outside the data is drawn as.
const EMPTY_PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNgYGBgAAAABQABeqhXUAAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

/** The pmtiles protocol; a raster tile the archive lacks (PM2.5 outside the data) comes back as
 * an empty image, not as null, which MapLibre 5 would leave "loading" for ever (the map would
 * never be idle). */
function pmtilesProtocol() {
  const protocol = new pmtiles.Protocol();
  return async (params, abort) => {
    const response = await protocol.tile(params, abort);
    return response.data === null ? { ...response, data: EMPTY_PNG } : response;
  };
}

async function main() {
  const hash = readHash();
  const [release, card, messages] = await Promise.allSettled([
    getJson("/api/release"),
    hash.plant ? getJson(cardUrl(hash.plant)) : Promise.resolve(null),
    setLang(chooseLang(), fetchCatalogue),
  ]);
  if (messages.status === "rejected") throw messages.reason;
  translatePage();
  if (release.status === "rejected") {
    if (PINNED_RELEASE) throw new Error(t("web.release_unavailable", { id: PINNED_RELEASE }));
    throw release.reason;
  }
  state.release = release.value;
  const firstCard = card.status === "fulfilled" ? card.value : null;
  const { quarters, timeline } = state.release;
  state.gridPeriods = releasePeriods(state.release);
  // the quarter slider runs over the plant timeline (quarters with records but no grid too)
  const allQuarters = new Set([...(timeline || []), ...state.gridPeriods.quarter]);
  state.periods = { ...state.gridPeriods, quarter: [...allQuarters].sort((a, b) => monthSpan(a)[0] - monthSpan(b)[0]) };
  const kind = periodType(hash.period);
  state.period = kind && state.periods[kind].includes(hash.period)
    ? hash.period
    : quarters[0] || state.periods.quarter.at(-1);
  state.periodType = periodType(state.period) || "quarter";
  state.timeline = state.periods[state.periodType];
  state.quarter = plantQuarter(state.period, state.periods.quarter);
  // a city permalink (?city=&period=) moves into the hash, where the page keeps its state
  const search = new URLSearchParams(location.search);
  if (search.has("city") || search.has("period")) {
    search.delete("city");
    search.delete("period");
    const query = search.toString();
    history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
  }
  showTitle();
  byId("banner").hidden = !state.release.synthetic;
  if (hash.cb) {
    state.colormap = "pm25-cb";
    byId("toggle-cb").checked = true;
  }
  showReleaseNote();

  maplibregl.addProtocol("pmtiles", pmtilesProtocol());
  const map = new maplibregl.Map(mapOptions(hash, firstCard));
  map.on("error", (event) => console.error(describeMapError(event)));
  showCredits(map);
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "bottom-right");
  relabelControls(map);
  window.lantian = {
    map, state, view: () => currentView(map), lang, setLang: (next) => switchLang(map, next),
    setPeriod: (label) => setPeriod(map, label), openCity: (adcode) => openCity(map, adcode, { fly: true }),
  };

  map.on("load", () => {
    addLayers(map);
    wireSearchAndFilters(map);
    wireControls(map);
    wireShare({ getView: () => currentView(map) });
    wireCityAndRankings(map);
    wireCompare(map, state.release);
    setPeriod(map, state.period);
    drawLegend(map);
    drawStationLegend();
    if (hash.filtered) state.panel.setChoice(hash.choice);
    if (hash.city) openCity(map, hash.city, { fly: hash.zoom === null, focus: !hash.plant });
    if (!hash.plant) return;
    state.plant = hash.plant;
    writeHash(map);
    openCardShell(hash.plant);
    if (firstCard) showCard(map, firstCard, false);
    else showCardError(hash.plant);
  });
}

/** A map error as one line: what failed (source, tile, URL) and why, not a bare "Error". */
function describeMapError(event) {
  const error = event.error || {};
  const parts = [`map error: ${error.name || "Error"}: ${error.message || "(no message)"}`];
  if (event.sourceId) parts.push(`source ${event.sourceId}`);
  if (event.tile && event.tile.tileID) parts.push(`tile ${event.tile.tileID.canonical.z}/${event.tile.tileID.canonical.x}/${event.tile.tileID.canonical.y}`);
  if (error.url) parts.push(`url ${error.url}`);
  if (error.status) parts.push(`HTTP ${error.status}`);
  return parts.join(" · ");
}

main().catch((error) => {
  console.error(error);
  const banner = byId("banner");
  banner.hidden = false;
  const message = error.message || String(error);
  banner.textContent = has("web.load_error") ? t("web.load_error", { message }) : `The map could not be loaded: ${message}`;
});
