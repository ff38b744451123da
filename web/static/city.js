// The city panel: a city polygon of the basemap (source-layer `cities`, property `adcode`) or a
// city chosen in search or in the rankings opens /api/cities/{adcode}?period= — the period's
// level, ranks, the monthly series as a chart (with its table for screen readers), the stations
// and the plants of the city, and links to the chart (SVG/PNG) and the city's Atom feed.
// Every value from data goes through textContent or attributes.
import { el, getJson, offerLink, pinned, svg } from "./dom.js";
import {
  formatNumber, formatPct, formatPeriod, lang, placeName, plural, provinceName, shortMonth, t, tValue,
} from "./i18n.js";

export const CITY_HIT = "city-hit"; // an invisible fill of the city polygons, for clicks
const CITY_SELECTED = "city-selected";
const SOURCE = "boundaries";
const UNITS = "µg/m³";

const byId = (id) => document.getElementById(id);

/** The invisible fill that catches clicks on cities and the selected city's outline (both only
 * when the basemap has the `cities` source-layer). */
export function addCityLayers(map, info) {
  if (!info || !(info.vector_layers || []).some((layer) => layer.id === "cities")) return;
  map.addLayer({
    id: CITY_HIT, type: "fill", source: SOURCE, "source-layer": "cities",
    paint: { "fill-color": "#000", "fill-opacity": 0 },
  });
  map.addLayer({
    id: CITY_SELECTED, type: "line", source: SOURCE, "source-layer": "cities",
    filter: ["==", ["to-string", ["get", "adcode"]], ""],
    layout: { "line-join": "round" },
    paint: {
      "line-color": "#0b3d91",
      "line-width": ["interpolate", ["linear"], ["zoom"], 4, 2.5, 10, 4.5],
      "line-opacity": 0.9,
    },
  });
}

/** The city under `point` (its tile properties), or null. */
export function cityAt(map, point) {
  if (!map.getLayer(CITY_HIT)) return null;
  const feature = map.queryRenderedFeatures(point, { layers: [CITY_HIT] }).find((f) => f.properties.adcode);
  return feature ? feature.properties : null;
}

function highlight(map, adcode) {
  if (map.getLayer(CITY_SELECTED)) map.setFilter(CITY_SELECTED, ["==", ["to-string", ["get", "adcode"]], String(adcode || "")]);
}

// ---- reading the API's answer (one place to adapt to its names) ------------------------------

const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** The shown period's row of the city: the answer's own fields, or its `value`/`current` object. */
function periodRow(data) {
  return data.value || data.current || data.stats || data;
}

function rankOf(entry) {
  if (!entry) return null;
  const rank = num(entry.rank);
  const of = num(entry.of ?? entry.n ?? entry.n_ranked ?? entry.total);
  return rank == null ? null : { rank, of, entry };
}

function nameOf(thing) {
  if (!thing) return "";
  if (typeof thing === "string") return provinceName(thing);
  return placeName(thing.name_zh, thing.name_en) || thing.name || thing.id || thing.code || "";
}

function seriesRegion(data) {
  return data.series_region || data.region || (data.groups && data.groups[0]) || data.province || null;
}

function linkOf(data, ...keys) {
  const links = data.links || {};
  for (const key of keys) if (links[key]) return links[key];
  return null;
}

// ---- text helpers ------------------------------------------------------------------------------

function pm25Text(value) {
  return value == null ? t("city.no_value") : `${formatNumber(value, 1)} ${UNITS}`;
}

function changeText(pct, period) {
  if (num(pct) == null) return period ? t("city.not_available_for", { period: formatPeriod(period) }) : t("city.not_available");
  return period ? t("city.change_vs", { change: formatPct(pct), period: formatPeriod(period) }) : formatPct(pct);
}

function section(title, children, className = "") {
  return el("section", { className: `card-section ${className}`.trim() }, [el("h3", { text: title }), ...children]);
}

function list(rows) {
  return el("dl", {}, rows.filter(Boolean).flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: value })]));
}

// ---- sections ------------------------------------------------------------------------------------

function levelSection(data, period) {
  const row = periodRow(data);
  const pm25 = num(row.pm25);
  const valid = row.valid !== false;
  const days = num(row.days_over_75);
  const rows = [
    [t("city.pm25"), pm25Text(pm25)],
    pm25 != null && !valid && [t("city.validity"), t("city.incomplete")],
    num(row.n_days) != null && [t("city.days_valid"), plural("city.days_count", row.n_days)],
    days != null && [t("city.days_over_75"), plural("city.days_count", Math.round(days))],
    pm25 != null && [t("city.annual_limit"), t(pm25 <= 35 ? "city.meets_limit" : "city.above_limit")],
    [t("city.change_prev"), changeText(row.change_prev_pct, row.change_prev_period)],
    [t("city.change_year"), changeText(row.change_year_pct, row.change_year_period)],
  ];
  return section(t("city.in_period", { period: formatPeriod(period) }), [
    list(rows),
    pm25 != null && !valid && el("p", { className: "warn", text: t("city.incomplete_note") }),
  ], "city-level");
}

function rankSection(data, period) {
  const ranks = data.rank || data.ranks || {};
  const lines = [];
  const national = rankOf(ranks.national);
  if (national) lines.push(t("city.rank_national", { rank: formatNumber(national.rank), n: formatNumber(national.of) }));
  const groupEntry = ranks.group && rankOf(ranks.group);
  const group = groupEntry && ((data.groups || []).find((g) => g.id === (ranks.group.id || ranks.group.code)) || ranks.group);
  if (groupEntry && nameOf(group)) {
    lines.push(t("city.rank_in", { rank: formatNumber(groupEntry.rank), n: formatNumber(groupEntry.of), region: nameOf(group) }));
  }
  const provinceEntry = rankOf(ranks.province);
  if (provinceEntry && nameOf(data.province)) {
    lines.push(t("city.rank_in", {
      rank: formatNumber(provinceEntry.rank), n: formatNumber(provinceEntry.of), region: nameOf(data.province),
    }));
  }
  const body = lines.length
    ? [el("ul", { className: "records" }, lines.map((text) => el("li", { text }))), el("p", { className: "meta", text: t("city.rank_note") })]
    : [el("p", { text: t("city.no_rank", { period: formatPeriod(period) }) })];
  return section(t("city.rank_heading", { period: formatPeriod(period) }), body, "city-rank");
}

/** The months of the shown period's year (the whole series when it has none of them). */
function shownSeries(data, period) {
  const all = (data.series || []).filter((p) => p.period);
  const year = String(period || "").slice(0, 4);
  const inYear = all.filter((p) => String(p.period).startsWith(`${year}-`));
  return inYear.length ? inYear : all;
}

/** The monthly series as an inline SVG: city (filled dots valid, hollow invalid), the region's
 * mean, the 35 and 75 limits; the months of the shown period shaded. */
function seriesChart(data, period, spanOf) {
  const series = shownSeries(data, period);
  const limits = data.limits || {};
  const annual = num(limits.annual) ?? 35;
  const daily = num(limits.daily) ?? 75;
  const width = 340;
  const height = 190;
  const pad = { left: 30, right: 22, top: 10, bottom: 22 };
  const values = series.flatMap((p) => [num(p.pm25), num(p.region_pm25)]).filter((v) => v != null);
  const top = Math.ceil(Math.max(daily, ...values) * 1.1 / 25) * 25;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = series.length > 1 ? plotW / (series.length - 1) : plotW;
  const x = (i) => pad.left + (series.length > 1 ? i * step : plotW / 2);
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const region = seriesRegion(data);
  const label = t(hasRegion(data) ? "city.chart_label" : "city.chart_label_city", {
    city: nameOf(data), region: nameOf(region),
    points: series.map((p) => `${formatPeriod(p.period)} ${num(p.pm25) == null ? t("city.no_value") : formatNumber(p.pm25, 1)}`).join("; "),
  });
  const chart = svg("svg", { className: "series", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  const shown = spanOf(period);
  series.forEach((p, i) => {
    const s = spanOf(p.period);
    if (shown && s && s[0] >= shown[0] && s[1] <= shown[1]) {
      chart.append(svg("rect", { className: "shown", x: x(i) - step / 2, y: pad.top, width: series.length > 1 ? step : plotW, height: plotH }));
    }
  });
  for (let v = 0; v <= top; v += top > 150 ? 50 : 25) {
    chart.append(svg("line", { className: "grid", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    chart.append(svg("text", { className: "tick", x: pad.left - 4, y: y(v) + 3, "text-anchor": "end", text: formatNumber(v) }));
  }
  for (const [value, cls] of [[annual, "limit annual"], [daily, "limit daily"]]) {
    chart.append(svg("line", { className: cls, x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value) }));
    chart.append(svg("text", { className: cls, x: width - pad.right + 3, y: y(value) + 3, text: formatNumber(value) }));
  }
  const path = (key) => {
    let d = "";
    let pen = false;
    series.forEach((p, i) => {
      const v = num(p[key]);
      if (v == null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  if (values.length) {
    if (hasRegion(data)) chart.append(svg("path", { className: "region-line", d: path("region_pm25") }));
    chart.append(svg("path", { className: "city-line", d: path("pm25") }));
  }
  series.forEach((p, i) => {
    chart.append(svg("text", { className: "tick", x: x(i), y: height - 6, "text-anchor": "middle", text: shortMonth(p.period) }));
    const v = num(p.pm25);
    if (v == null) return;
    chart.append(svg("circle", {
      className: `point${p.valid === false ? " invalid" : ""}`, cx: x(i), cy: y(v), r: 3.5, "data-period": p.period,
    }, [svg("title", { text: `${formatPeriod(p.period)}: ${pm25Text(v)}${p.valid === false ? ` (${t("city.incomplete")})` : ""}` })]));
  });
  return chart;
}

/** True when the series has the region's mean beside the city's. */
function hasRegion(data) {
  return (data.series || []).some((p) => num(p.region_pm25) != null) && Boolean(nameOf(seriesRegion(data)));
}

function chartLegend(data) {
  const limits = data.limits || {};
  const item = (cls, text) => el("span", { className: "item" }, [el("span", { className: `key ${cls}`, "aria-hidden": "true" }), el("span", { text })]);
  return el("p", { className: "chart-legend" }, [
    item("city", nameOf(data)),
    hasRegion(data) && item("region", t("city.region_mean", { region: nameOf(seriesRegion(data)) })),
    item("invalid", t("city.incomplete")),
    item("annual", t("city.limit_annual", { value: formatNumber(num(limits.annual) ?? 35) })),
    item("daily", t("city.limit_daily", { value: formatNumber(num(limits.daily) ?? 75) })),
  ]);
}

function seriesTable(data, period) {
  const region = hasRegion(data) && nameOf(seriesRegion(data));
  const head = [t("city.month"), t("city.pm25_col"), t("city.validity"), region && t("city.region_mean", { region })];
  const rows = shownSeries(data, period).map((p) => el("tr", {}, [
    el("th", { scope: "row", text: formatPeriod(p.period) }),
    el("td", { text: num(p.pm25) == null ? t("city.no_value") : formatNumber(p.pm25, 1) }),
    el("td", { text: num(p.pm25) == null ? "—" : t(p.valid === false ? "city.incomplete" : "city.valid") }),
    region && el("td", { text: num(p.region_pm25) == null ? t("city.no_value") : formatNumber(p.region_pm25, 1) }),
  ]));
  return el("table", { className: "pm25 series-table" }, [
    el("caption", { text: t("city.table_caption", { city: nameOf(data), units: UNITS }) }),
    el("thead", {}, [el("tr", {}, head.filter(Boolean).map((text) => el("th", { scope: "col", text })))]),
    el("tbody", {}, rows),
  ]);
}

function seriesSection(data, period, spanOf, view) {
  const details = el("details", { className: "table-alt" }, [el("summary", { text: t("city.show_table") }), seriesTable(data, period)]);
  details.open = view.tableOpen;
  details.addEventListener("toggle", () => {
    view.tableOpen = details.open;
  });
  const chartLinks = [
    [linkOf(data, "chart_svg", "svg"), t("city.chart_svg")],
    [linkOf(data, "chart_png", "png"), t("city.chart_png")],
  ].filter(([href]) => href);
  return section(t("city.series_heading"), [
    seriesChart(data, period, spanOf),
    chartLegend(data),
    details,
    chartLinks.length && el("p", { className: "links" }, chartLinks.flatMap(([href, text], i) => [
      i ? " · " : null, el("a", { href: withLang(href), target: "_blank", rel: "noopener", text }),
    ])),
  ], "city-series");
}

function withLang(href) {
  const url = new URL(pinned(href), location.origin);
  if (!url.searchParams.has("lang") && /chart\.(svg|png)$/.test(url.pathname)) url.searchParams.set("lang", lang());
  return url.origin === location.origin ? `${url.pathname}${url.search}` : url.href;
}

function stationReason(s) {
  return (lang() === "zh" && s.reason_zh) || s.reason || "";
}

function stationsSection(data, period) {
  const stations = data.stations || [];
  if (!stations.length) return section(t("city.stations"), [el("p", { text: t("city.no_stations") })], "city-stations");
  const head = [t("city.station"), t("city.value_in", { period: formatPeriod(period) }), t("station.status")];
  const rows = stations.map((s) => {
    const flagged = s.status && s.status !== "ok";
    const value = num(s.pm25 ?? s.value);
    return el("tr", { className: flagged ? "flagged" : null }, [
      el("th", { scope: "row" }, [el("span", { text: s.name || s.code }), el("span", { className: "meta", text: ` ${s.code || ""}` })]),
      el("td", { text: value == null ? t("city.no_value") : formatNumber(value, 1) }),
      el("td", {}, [
        el("span", { text: tValue("station.status", s.status || "ok") }),
        flagged && stationReason(s) && el("span", { className: "meta reason", text: ` — ${stationReason(s)}` }),
      ]),
    ]);
  });
  return section(plural("city.stations_n", stations.length), [el("table", { className: "pm25 stations" }, [
    el("thead", {}, [el("tr", {}, head.map((text) => el("th", { scope: "col", text })))]),
    el("tbody", {}, rows),
  ])], "city-stations");
}

function plantItem(p, openPlant) {
  const records = num(p.violations ?? p.records ?? p.n_violations) ?? 0;
  const output = num(p.output_records ?? p.n_output);
  const meta = [
    tValue("industry", p.industry),
    plural("city.plant_records", records),
    output ? plural("city.plant_output", output) : null,
  ].filter(Boolean).join(" · ");
  const name = placeName(p.name_zh || p.name, p.name_en) || p.id;
  const button = el("button", { type: "button", className: "choice" }, [
    el("span", { className: "name", text: name }),
    el("span", { className: "meta", text: meta }),
  ]);
  button.addEventListener("click", () => openPlant(p.id, name));
  return el("li", {}, [button]);
}

function plantsSection(data, openPlant) {
  const plants = data.plants || [];
  const total = num(data.plants_total) ?? plants.length;
  const body = plants.length
    ? [el("ul", { className: "choices" }, plants.map((p) => plantItem(p, openPlant))),
      total > plants.length && el("p", { className: "meta", text: t("city.plants_more", { shown: formatNumber(plants.length) }) })]
    : [el("p", { text: t("city.no_plants") })];
  return section(plural("city.plants_n", total), body, "city-plants");
}

function feedSection(data) {
  const feed = linkOf(data, "feed", "atom");
  if (!feed) return null;
  return el("p", { className: "links feed" }, [
    el("a", { href: pinned(feed), type: "application/atom+xml", text: t("city.feed") }),
  ]);
}

// ---- the panel -------------------------------------------------------------------------------

/** Wire the city panel. `getPeriod()` is the map's period, `statsPeriod(label)` true when the
 * statistics have it, `openPlant(id, title)` opens a plant's card, `onChange()` after the open
 * city changed (the page writes its URL), `spanOf(label)` a period's [first, end) months. */
export function wireCity({ map, getPeriod, statsPeriod, openPlant, onChange, spanOf, beforeOpen }) {
  const view = { adcode: null, data: null, request: null, returnFocus: null, tableOpen: false, failed: false };
  const box = byId("city");
  const body = byId("city-body");

  function render() {
    const { data } = view;
    const period = data.period || getPeriod(); // what the server answered for
    byId("city-title").textContent = nameOf(data);
    const other = placeName(data.name_en, data.name_zh) === nameOf(data) ? placeName(data.name_zh, data.name_en) : placeName(data.name_en, data.name_zh);
    const where = [other !== nameOf(data) ? other : "", nameOf(data.province)].filter(Boolean).join(" · ");
    byId("city-subtitle").textContent = where;
    body.replaceChildren(
      levelSection(data, period),
      rankSection(data, period),
      seriesSection(data, period, spanOf, view),
      stationsSection(data, period),
      plantsSection(data, openPlant),
      feedSection(data),
    );
    body.setAttribute("aria-busy", "false");
    byId("city-link").hidden = false;
    byId("city-link-field").hidden = true;
    byId("city-link-status").textContent = "";
  }

  function renderError() {
    body.replaceChildren(el("p", { className: "warn", text: t("city.load_error", { city: view.name || view.adcode }) }));
    body.setAttribute("aria-busy", "false");
  }

  async function load({ fly = false } = {}) {
    if (view.request) view.request.abort();
    const request = new AbortController();
    view.request = request;
    const period = getPeriod();
    const query = statsPeriod(period) ? `?${new URLSearchParams({ period })}` : "";
    body.setAttribute("aria-busy", "true");
    try {
      const data = await getJson(`/api/cities/${encodeURIComponent(view.adcode)}${query}`, { signal: request.signal });
      if (request.signal.aborted) return;
      view.data = data;
      view.failed = false;
      render();
      if (fly) flyTo(data);
      else if (view.at && underPanel(view.at)) map.easeTo({ center: view.at, offset: panelOffset() });
      view.at = null;
    } catch (error) {
      if (request.signal.aborted) return;
      view.failed = true;
      if (!view.data) renderError();
      else body.setAttribute("aria-busy", "false");
    }
  }

  function flyTo(data) {
    const bbox = data.bbox || data.bounds;
    if (Array.isArray(bbox) && bbox.length === 4) {
      map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 40, maxZoom: 9, offset: panelOffset() });
      return;
    }
    const points = (data.stations || []).filter((s) => num(s.lon) != null && num(s.lat) != null);
    if (points.length) {
      const lons = points.map((s) => s.lon);
      const lats = points.map((s) => s.lat);
      map.fitBounds([[Math.min(...lons) - 0.3, Math.min(...lats) - 0.3], [Math.max(...lons) + 0.3, Math.max(...lats) + 0.3]],
        { padding: 40, maxZoom: 9, offset: panelOffset() });
    }
  }

  /** True when `lngLat` is drawn under the panel. */
  function underPanel(lngLat) {
    const point = map.project(lngLat);
    const canvas = map.getCanvas().getBoundingClientRect();
    const rect = box.getBoundingClientRect();
    const x = point.x + canvas.left;
    const y = point.y + canvas.top;
    return x >= rect.left && x <= rect.right && y >= rect.top && y <= rect.bottom;
  }

  function panelOffset() {
    const phone = window.matchMedia("(max-width: 600px)").matches;
    return phone ? [0, -box.offsetHeight / 2] : [-(box.offsetWidth + 10) / 2, 0];
  }

  /** Open the panel of city `adcode` (`name`: what to title it until the answer is in). */
  function open(adcode, { name = "", fly = false, focus = true, at = null } = {}) {
    if (beforeOpen) beforeOpen();
    if (box.hidden) view.returnFocus = document.activeElement;
    const changed = String(adcode) !== view.adcode;
    view.adcode = String(adcode);
    view.name = name;
    if (changed) {
      view.data = null;
      view.tableOpen = false;
      byId("city-title").textContent = name || String(adcode);
      byId("city-subtitle").textContent = "";
      byId("city-link").hidden = true;
      body.replaceChildren(el("p", { className: "muted", text: t("card.loading") }));
    }
    box.hidden = false;
    highlight(map, view.adcode);
    view.at = at; // brought out from under the panel once it has its height
    if (focus) byId("city-title").focus();
    onChange();
    return load({ fly });
  }

  function close({ restoreFocus = true } = {}) {
    if (view.request) view.request.abort();
    const wasOpen = !box.hidden;
    view.adcode = null;
    view.data = null;
    box.hidden = true;
    highlight(map, null);
    onChange();
    if (!wasOpen || !restoreFocus) return;
    const back = view.returnFocus;
    (back && back !== document.body && document.contains(back) ? back : map.getCanvas()).focus();
  }

  async function copyLink() {
    const field = byId("city-link-field");
    const status = byId("city-link-status");
    const url = new URL(location.origin + location.pathname);
    const current = new URLSearchParams(location.search);
    if (current.get("release")) url.searchParams.set("release", current.get("release"));
    url.searchParams.set("city", view.adcode);
    url.searchParams.set("period", getPeriod());
    url.searchParams.set("lang", lang());
    await offerLink(field, status, url.href, { copied: t("card.link_copied"), manual: t("card.link_copy_manual") });
  }

  byId("city-close").addEventListener("click", () => close());
  byId("city-link-button").addEventListener("click", copyLink);

  return {
    open,
    close,
    /** The open city's adcode, or null. */
    current: () => view.adcode,
    isOpen: () => !box.hidden,
    /** The map's period changed: the panel follows it. */
    setPeriod() {
      if (view.adcode) load();
    },
    relabel() {
      if (view.data) render();
      else if (view.adcode && view.failed) renderError();
    },
    /** Outline the open city again (after the basemap came back). */
    highlight: () => highlight(map, view.adcode),
  };
}

// ---- cities for the search box ------------------------------------------------------------------

/** Cities matching `text` (Chinese name, English name or adcode) among `cities` ({adcode, name_zh,
 * name_en, province}); at most `limit`, best first. */
export function matchCities(cities, text, limit = 5) {
  const query = text.trim().toLowerCase();
  if (!query) return [];
  const score = (c) => {
    const zh = String(c.name_zh || "");
    const en = String(c.name_en || "").toLowerCase();
    if (String(c.adcode) === query || zh === text.trim() || en === query) return 0;
    if (zh.startsWith(text.trim()) || en.startsWith(query)) return 1;
    if (zh.includes(text.trim()) || en.includes(query)) return 2;
    return null;
  };
  return cities.map((c) => [score(c), c]).filter(([s]) => s != null)
    .sort((a, b) => a[0] - b[0] || String(a[1].adcode).localeCompare(String(b[1].adcode)))
    .slice(0, limit).map(([, c]) => c);
}

/** Rows of an API answer about cities in a common shape. */
export function cityRows(answer) {
  const rows = Array.isArray(answer) ? answer : answer.cities || answer.rows || answer.items || [];
  return rows.map((r) => ({
    adcode: String(r.adcode ?? r.code ?? ""),
    name_zh: r.name_zh || r.region || "",
    name_en: r.name_en || "",
    province: r.province_name_zh || r.province_zh || (typeof r.province === "string" ? r.province : r.province && r.province.name_zh) || "",
  })).filter((r) => r.adcode);
}
