// lantian web map: PM2.5 quarterly raster, boundaries and plants from PMTiles archives.
/* global maplibregl, pmtiles */

const INDUSTRY_COLOURS = {
  steel: "#0072b2",
  coal_power: "#d55e00",
  coking: "#cc79a7",
};
const OTHER_COLOUR = "#009e73";
const PM25_LAYER = "pm25-raster";

const state = { release: null, quarter: null, colormap: "pm25", popup: null };

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = String(text);
  return div.innerHTML;
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const num = (key) => (params.has(key) && Number.isFinite(Number(params.get(key))) ? Number(params.get(key)) : null);
  return { quarter: params.get("q"), zoom: num("z"), lon: num("lon"), lat: num("lat") };
}

function writeHash(map) {
  const c = map.getCenter();
  const params = new URLSearchParams({
    q: state.quarter,
    z: map.getZoom().toFixed(2),
    lon: c.lng.toFixed(4),
    lat: c.lat.toFixed(4),
  });
  history.replaceState(null, "", `#${params}`);
}

function layerInfo(id) {
  return state.release.layers.find((layer) => layer.id === id);
}

function rasterUrl() {
  const layer = layerInfo(state.colormap) || layerInfo("pm25");
  return layer && layer.pmtiles[state.quarter];
}

function setRaster(map) {
  const url = rasterUrl();
  if (!url) return;
  const visible = document.getElementById("toggle-pm25").checked ? "visible" : "none";
  if (map.getLayer(PM25_LAYER)) map.removeLayer(PM25_LAYER);
  if (map.getSource("pm25")) map.removeSource("pm25");
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
  const box = document.getElementById("legend");
  box.replaceChildren();
  const layer = layerInfo(state.colormap) || layerInfo("pm25");
  const name = (layer && layer.colormap) || state.colormap;
  try {
    const scale = await getJson(`/api/colormaps/${encodeURIComponent(name)}`);
    box.append(el("h2", { text: `${scale.title} (${scale.units || ""})` }));
    for (const cls of scale.classes) {
      const swatch = el("span", { className: "swatch" });
      swatch.style.background = cls.color;
      box.append(el("div", { className: "item", "data-class": String(cls.index) }, [swatch, el("span", { text: cls.label })]));
    }
  } catch (error) {
    box.append(el("p", { text: "Legend unavailable." }));
  }
}

function drawIndustryLegend() {
  const box = document.getElementById("industries");
  box.replaceChildren(el("h2", { text: "Plants by industry" }));
  for (const [industry, colour] of [...Object.entries(INDUSTRY_COLOURS), ["other", OTHER_COLOUR]]) {
    const swatch = el("span", { className: "swatch dot" });
    swatch.style.background = colour;
    box.append(el("div", { className: "item" }, [swatch, el("span", { text: industry.replace("_", " ") })]));
  }
}

function addVectorLayers(map) {
  const boundaries = layerInfo("boundaries");
  if (boundaries) {
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
  const enterprises = layerInfo("enterprises");
  if (enterprises) {
    const colour = ["match", ["get", "industry"], ...Object.entries(INDUSTRY_COLOURS).flat(), OTHER_COLOUR];
    map.addSource("enterprises", { type: "vector", url: `pmtiles://${enterprises.pmtiles.all}` });
    map.addLayer({
      id: "enterprise-clusters", type: "circle", source: "enterprises", "source-layer": "enterprises",
      filter: ["has", "point_count"],
      paint: {
        "circle-color": "#444",
        "circle-opacity": 0.75,
        "circle-radius": ["interpolate", ["linear"], ["get", "point_count"], 2, 9, 50, 16, 500, 24],
        "circle-stroke-color": "#fff",
        "circle-stroke-width": 1.5,
      },
    });
    map.addLayer({
      id: "enterprises", type: "circle", source: "enterprises", "source-layer": "enterprises",
      filter: ["!", ["has", "point_count"]],
      paint: {
        "circle-color": colour,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 4, 10, 8],
        "circle-stroke-color": "#fff",
        "circle-stroke-width": 1.2,
      },
    });
  }
}

function row(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value == null || value === "" ? "—" : String(value) })];
}

async function showPopup(map, feature, lngLat) {
  const id = feature.properties.id;
  const body = el("div", { className: "popup" });
  if (state.popup) state.popup.remove();
  state.popup = new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(lngLat).setDOMContent(body).addTo(map);
  body.append(el("h3", { text: feature.properties.name || id || "" }));
  let p = feature.properties;
  try {
    p = (await getJson(`/api/enterprises/${encodeURIComponent(id)}`)).properties;
  } catch (error) {
    // keep the tile's properties
  }
  body.replaceChildren(
    el("h3", { text: p.name_zh || p.name || id }),
    el("p", { className: "en", text: p.name_en || "" }),
  );
  const capacity = p.capacity == null ? null : `${p.capacity} ${p.capacity_unit || ""}`.trim();
  const place = [p.province, p.city, p.county].filter(Boolean).join(" / ");
  const pm25 = el("dd", { text: "…" });
  const list = el("dl", {}, [
    ...row("Industry", p.industry),
    ...row("Capacity", capacity),
    ...row("Location", place),
    ...row("Geocoding", [p.geocode_precision, p.geocode_source].filter(Boolean).join(", ")),
    ...row("Data source", p.data_source),
    el("dt", { text: `PM2.5 ${state.quarter}` }),
    pm25,
  ]);
  body.append(list);
  try {
    const query = new URLSearchParams({ lon: lngLat.lng.toFixed(5), lat: lngLat.lat.toFixed(5), quarter: state.quarter });
    const value = await getJson(`/api/pm25/point?${query}`);
    pm25.textContent = value.pm25 == null
      ? "no data"
      : `${value.pm25.toFixed(1)} ± ${value.uncertainty == null ? "?" : value.uncertainty.toFixed(1)} ${value.units}`;
  } catch (error) {
    pm25.textContent = "unavailable";
  }
}

function wireControls(map) {
  const slider = document.getElementById("quarter");
  const label = document.getElementById("quarter-label");
  const quarters = state.release.quarters;
  slider.max = String(Math.max(quarters.length - 1, 0));
  slider.value = String(Math.max(quarters.indexOf(state.quarter), 0));
  label.textContent = state.quarter;
  slider.addEventListener("input", () => {
    state.quarter = quarters[Number(slider.value)];
    label.textContent = state.quarter;
    if (state.popup) state.popup.remove();
    setRaster(map);
    writeHash(map);
  });
  document.getElementById("toggle-cb").addEventListener("change", (event) => {
    state.colormap = event.target.checked ? "pm25-cb" : "pm25";
    setRaster(map);
    drawLegend();
  });
  const toggles = {
    "toggle-pm25": [PM25_LAYER],
    "toggle-boundaries": ["cities-line", "provinces-line"],
    "toggle-enterprises": ["enterprises", "enterprise-clusters"],
  };
  for (const [id, layers] of Object.entries(toggles)) {
    document.getElementById(id).addEventListener("change", (event) => {
      for (const layer of layers) {
        if (map.getLayer(layer)) map.setLayoutProperty(layer, "visibility", event.target.checked ? "visible" : "none");
      }
    });
  }
  map.on("click", "enterprises", (event) => showPopup(map, event.features[0], event.lngLat));
  map.on("click", "enterprise-clusters", (event) => {
    map.easeTo({ center: event.lngLat, zoom: map.getZoom() + 2 });
  });
  for (const layer of ["enterprises", "enterprise-clusters"]) {
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  map.on("moveend", () => writeHash(map));
}

async function main() {
  const release = await getJson("/api/release");
  state.release = release;
  document.getElementById("title").textContent = release.title || "lantian";
  document.getElementById("banner").hidden = !release.synthetic;
  const hash = readHash();
  state.quarter = release.quarters.includes(hash.quarter) ? hash.quarter : release.quarters[0];

  const protocol = new pmtiles.Protocol();
  maplibregl.addProtocol("pmtiles", protocol.tile);

  const raster = layerInfo("pm25");
  const [west, south, east, north] = raster ? raster.bounds : [73, 18, 135, 54];
  const options = {
    container: "map",
    style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#dfe6ea" } }] },
    attributionControl: false,
    maxZoom: 14,
  };
  if (hash.zoom !== null && hash.lon !== null && hash.lat !== null) {
    Object.assign(options, { center: [hash.lon, hash.lat], zoom: hash.zoom });
  } else {
    options.bounds = [[west, south], [east, north]];
  }
  const map = new maplibregl.Map(options);
  const credits = release.sources.map((s) => escapeHtml(s.attribution || s.title));
  map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: credits }));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  window.lantian = { map, state };

  map.on("load", () => {
    addVectorLayers(map);
    setRaster(map);
    wireControls(map);
    drawLegend();
    drawIndustryLegend();
    writeHash(map);
  });
}

main().catch((error) => {
  console.error(error);
  const banner = document.getElementById("banner");
  banner.hidden = false;
  banner.textContent = `The map could not be loaded: ${error.message}`;
});
