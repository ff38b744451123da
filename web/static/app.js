// lantian web map: PM2.5 quarterly raster, boundaries and plants (with their violation and output
// facts per quarter) from PMTiles archives, a facility card per plant, search and filters.
/* global maplibregl, pmtiles */
import { cardSections, chooserList } from "./card.js";
import { PINNED_RELEASE, el, escapeHtml, getJson, pinned } from "./dom.js";
import { CLUSTERS, POINT_LAYERS, addPlantLayers, clustersInView, drawPlantLegend, markSelected, stylePlants } from "./markers.js";
import { wirePanel } from "./panel.js";
import { wireShare } from "./share.js";

const PM25_LAYER = "pm25-raster";
const PLANT_ZOOM = 10;
const CLICK_SLOP = 6; // px around a click that still hits a marker

const state = {
  release: null,
  timeline: [],
  quarter: null,
  colormap: "pm25",
  showPlants: true,
  plant: null,
  card: null,
  panel: null,
};
const cardView = { request: null, returnFocus: null };
const byId = (id) => document.getElementById(id);
const phone = window.matchMedia("(max-width: 600px)");

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const num = (key) => (params.has(key) && Number.isFinite(Number(params.get(key))) ? Number(params.get(key)) : null);
  const choice = {
    industry: params.get("industry") || "",
    province: params.get("province") || "",
    hasViolations: params.get("cited") === "1",
    outputUp: params.get("up") === "1",
  };
  return {
    quarter: params.get("q"), zoom: num("z"), lon: num("lon"), lat: num("lat"), plant: params.get("plant"),
    choice, filtered: Object.values(choice).some(Boolean), cb: params.get("cb") === "1",
  };
}

function writeHash(map) {
  const c = map.getCenter();
  const params = { q: state.quarter, z: map.getZoom().toFixed(2), lon: c.lng.toFixed(4), lat: c.lat.toFixed(4) };
  if (state.plant) params.plant = state.plant;
  const choice = state.panel ? state.panel.choice : {};
  if (choice.industry) params.industry = choice.industry;
  if (choice.province) params.province = choice.province;
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
    quarters: state.release.quarters,
    quarter: state.quarter,
    bbox: bbox.map((v) => Number(v.toFixed(4))),
    zoom: map.getZoom(),
    lon: c.lng,
    lat: c.lat,
    plant: state.plant,
    choice: { ...state.panel.choice },
    colormap: state.colormap,
  };
}

async function showReleaseNote() {
  const note = byId("release-note");
  byId("downloads-link").href = pinned("/downloads");
  if (!PINNED_RELEASE) return;
  note.hidden = false;
  note.replaceChildren(el("span", { text: `Viewing release ${state.release.id}.` }));
  try {
    const response = await fetch("/healthz");
    const latest = (await response.json()).release;
    if (latest === state.release.id) {
      note.append(" It is the current release.");
      return;
    }
    note.classList.add("pinned-old");
    note.replaceChildren(
      el("span", { text: `Viewing release ${state.release.id} (newer available: ${latest}). ` }),
      el("a", { href: `/${location.hash}`, text: "Open the current release" }),
    );
  } catch (error) {
    // the note without the comparison
  }
}

function layerInfo(id) {
  return state.release.layers.find((layer) => layer.id === id);
}

function rasterUrl() {
  const layer = layerInfo(state.colormap) || layerInfo("pm25");
  return layer && layer.pmtiles[state.quarter];
}

function setRaster(map) {
  if (map.getLayer(PM25_LAYER)) map.removeLayer(PM25_LAYER);
  if (map.getSource("pm25")) map.removeSource("pm25");
  const url = rasterUrl();
  const note = byId("grid-note");
  note.hidden = Boolean(url);
  note.textContent = url ? "" : `No PM2.5 grid for ${state.quarter}`;
  byId("legend").classList.toggle("no-grid", !url);
  if (!url) return;
  const visible = byId("toggle-pm25").checked ? "visible" : "none";
  map.addSource("pm25", { type: "raster", url: `pmtiles://${url}`, tileSize: 256 });
  const before = map.getLayer("provinces-line") ? "provinces-line" : undefined;
  map.addLayer(
    {
      id: PM25_LAYER,
      type: "raster",
      source: "pm25",
      paint: { "raster-opacity": 0.75, "raster-resampling": "nearest" },
      layout: { visibility: visible },
    },
    before,
  );
}

async function drawLegend() {
  const box = byId("legend-scale");
  const layer = layerInfo(state.colormap) || layerInfo("pm25");
  const name = (layer && layer.colormap) || state.colormap;
  try {
    const scale = await getJson(`/api/colormaps/${encodeURIComponent(name)}`);
    box.replaceChildren(el("h2", { text: `${scale.title} (${scale.units || ""})` }));
    for (const cls of scale.classes) {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = cls.color;
      box.append(el("div", { className: "item", "data-class": String(cls.index) }, [swatch, el("span", { text: cls.label })]));
    }
  } catch (error) {
    box.replaceChildren(el("p", { text: "Legend unavailable." }));
  }
}

function addBoundaries(map) {
  const boundaries = layerInfo("boundaries");
  if (!boundaries) return;
  map.addSource("boundaries", { type: "vector", url: `pmtiles://${boundaries.pmtiles.all}` });
  map.addLayer({
    id: "cities-line", type: "line", source: "boundaries", "source-layer": "cities",
    paint: { "line-color": "#555", "line-width": 0.6, "line-dasharray": [2, 2] },
  });
  map.addLayer({
    id: "provinces-line", type: "line", source: "boundaries", "source-layer": "provinces",
    paint: { "line-color": "#333", "line-width": 1.3 },
  });
}

function restylePlants(map) {
  stylePlants(map, { quarter: state.quarter, choice: state.panel.choice, visible: state.showPlants });
  updateClusterHint(map);
}

function updateClusterHint(map) {
  const filtering = Object.values(state.panel.choice).some(Boolean);
  byId("filter-hint").hidden = !(filtering && state.showPlants && clustersInView(map));
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
  const body = byId("card-body");
  body.setAttribute("aria-busy", "true");
  body.replaceChildren(el("p", { className: "muted", text: "Loading…" }));
  byId("card-title").focus();
}

function renderCard() {
  const { card } = state;
  const who = card.identity;
  const title = who.name_zh || who.name || card.id;
  byId("card-title").textContent = title;
  byId("card-subtitle").textContent = who.name_en && who.name_en !== title ? who.name_en : "";
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
  body.replaceChildren(el("p", { className: "warn", text: `No record could be loaded for plant ${id}.` }));
  body.setAttribute("aria-busy", "false");
}

function cardUrl(id) {
  return `/api/enterprises/${encodeURIComponent(id)}/card`;
}

async function openPlant(map, id, { fly = false, title = id } = {}) {
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
  openCardShell(`${features.length} plants here`);
  const body = byId("card-body");
  const open = (plant) => openPlant(map, plant.id, { title: plant.name || plant.id });
  body.replaceChildren(el("p", { text: "Several plants are drawn at this spot. Choose one:" }), chooserList(features, open));
  body.setAttribute("aria-busy", "false");
}

function closeCard(map) {
  if (cardView.request) cardView.request.abort();
  state.plant = null;
  state.card = null;
  byId("card").hidden = true;
  markSelected(map, null);
  writeHash(map);
  const back = cardView.returnFocus;
  (back && back !== document.body && document.contains(back) ? back : map.getCanvas()).focus();
}

async function showPermalink() {
  const field = byId("link-field");
  const status = byId("link-status");
  field.value = `${location.origin}${location.pathname}${location.search}${location.hash}`;
  field.hidden = false;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = "Link copied.";
  } catch (error) {
    status.textContent = "Copy the link above.";
  }
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
  } else if (map.getLayer(CLUSTERS) && map.queryRenderedFeatures(box, { layers: [CLUSTERS] }).length) {
    map.easeTo({ center: event.lngLat, zoom: map.getZoom() + 2 });
  }
}

function setQuarter(map, quarter) {
  state.quarter = quarter;
  byId("quarter").value = String(state.timeline.indexOf(quarter));
  byId("quarter-label").textContent = quarter;
  for (const span of document.querySelectorAll(".q-label")) span.textContent = quarter;
  setRaster(map);
  restylePlants(map);
  drawPlantLegend(byId("plant-legend"), quarter);
  state.panel.refreshCount();
  if (state.card) renderCard();
  writeHash(map);
}

function wireLayerToggles(map) {
  byId("toggle-cb").addEventListener("change", (event) => {
    state.colormap = event.target.checked ? "pm25-cb" : "pm25";
    setRaster(map);
    drawLegend();
    writeHash(map);
  });
  const toggles = { "toggle-pm25": [PM25_LAYER], "toggle-boundaries": ["cities-line", "provinces-line"] };
  for (const [id, layers] of Object.entries(toggles)) {
    byId(id).addEventListener("change", (event) => {
      for (const layer of layers) {
        if (map.getLayer(layer)) map.setLayoutProperty(layer, "visibility", event.target.checked ? "visible" : "none");
      }
    });
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
    if (!byId("card").hidden) closeCard(map);
    else if (byId("panel").classList.contains("open")) setPanelOpen(false);
  });
  window.addEventListener("hashchange", () => {
    const hash = readHash();
    if (hash.quarter !== state.quarter && state.timeline.includes(hash.quarter)) setQuarter(map, hash.quarter);
    if (hash.plant && hash.plant !== state.plant) openPlant(map, hash.plant, { fly: true });
    else if (!hash.plant && state.plant) closeCard(map);
  });
}

function wireControls(map) {
  const slider = byId("quarter");
  slider.max = String(Math.max(state.timeline.length - 1, 0));
  slider.addEventListener("input", () => setQuarter(map, state.timeline[Number(slider.value)]));
  byId("panel-toggle").addEventListener("click", () => setPanelOpen(!byId("panel").classList.contains("open")));
  wireLayerToggles(map);
  wireCard(map);
  map.on("click", (event) => onMapClick(map, event));
  map.on("mousemove", (event) => {
    const hit = plantsAt(map, event.point).plants.length > 0;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  map.on("moveend", () => writeHash(map));
  map.on("idle", () => updateClusterHint(map));
}

function wireSearchAndFilters(map) {
  state.panel = wirePanel({
    getQuarter: () => state.quarter,
    onFilter: () => {
      restylePlants(map);
      writeHash(map);
    },
    onPick: (id) => {
      if (phone.matches) setPanelOpen(false);
      openPlant(map, id, { fly: true });
    },
  });
}

function mapOptions(hash, card) {
  const options = {
    container: "map",
    style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#dfe6ea" } }] },
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
  }
  return options;
}

async function main() {
  const hash = readHash();
  const [release, card] = await Promise.allSettled([
    getJson("/api/release"),
    hash.plant ? getJson(cardUrl(hash.plant)) : Promise.resolve(null),
  ]);
  if (release.status === "rejected") {
    if (PINNED_RELEASE) throw new Error(`release ${PINNED_RELEASE} is not available on this server`);
    throw release.reason;
  }
  state.release = release.value;
  const firstCard = card.status === "fulfilled" ? card.value : null;
  const { quarters, timeline } = state.release;
  state.timeline = timeline && timeline.length ? timeline : quarters;
  state.quarter = state.timeline.includes(hash.quarter) ? hash.quarter : quarters[0] || state.timeline.at(-1);
  byId("title").textContent = state.release.title || "lantian";
  byId("banner").hidden = !state.release.synthetic;
  if (hash.cb) {
    state.colormap = "pm25-cb";
    byId("toggle-cb").checked = true;
  }
  showReleaseNote();

  const protocol = new pmtiles.Protocol();
  maplibregl.addProtocol("pmtiles", protocol.tile);
  const map = new maplibregl.Map(mapOptions(hash, firstCard));
  const credits = state.release.sources.map((s) => escapeHtml(s.attribution || s.title));
  // On a phone the credits fold into an (i) button after the first drag; shown until then.
  const compact = window.matchMedia("(max-width: 640px)").matches;
  map.addControl(new maplibregl.AttributionControl({ compact, customAttribution: credits }));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "bottom-right");
  window.lantian = { map, state, view: () => currentView(map) };

  map.on("load", () => {
    addBoundaries(map);
    addPlantLayers(map, layerInfo);
    wireSearchAndFilters(map);
    wireControls(map);
    wireShare({ getView: () => currentView(map) });
    setQuarter(map, state.quarter);
    drawLegend();
    if (hash.filtered) state.panel.setChoice(hash.choice);
    if (!hash.plant) return;
    state.plant = hash.plant;
    writeHash(map);
    openCardShell(hash.plant);
    if (firstCard) showCard(map, firstCard, false);
    else showCardError(hash.plant);
  });
}

main().catch((error) => {
  console.error(error);
  const banner = byId("banner");
  banner.hidden = false;
  banner.textContent = `The map could not be loaded: ${error.message}`;
});
