// "Share / embed" and "Download what I see": the current view (release, quarter, filters,
// viewport) as an iframe snippet, a versioned permalink, a server-rendered PNG with alt text
// written from the data, a standalone HTML map, and extracts of the plants and the PM2.5 grid.
// Every value from data goes through textContent, .value or URLSearchParams.
import { debounce, el, getJson } from "./dom.js";
import { formatNumber, formatPeriod, plural, provinceName, t, tValue } from "./i18n.js";

const PREVIEW = { width: 1200, height: 750 }; // the linked PNG; the snippet keeps this 16:10 ratio
const THUMB = { width: 480, height: 300 };

/** Text safe inside a double-quoted HTML attribute. */
export function attr(text) {
  return String(text).replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The query of a view: release, quarter, bbox and the active filters (extract/embed order). */
export function viewParams(view, { release = true } = {}) {
  const params = new URLSearchParams();
  if (release) params.set("release", view.release);
  params.set("quarter", view.quarter);
  params.set("bbox", view.bbox.join(","));
  if (view.choice.industry) params.set("industry", view.choice.industry);
  if (view.choice.province) params.set("province", view.choice.province);
  if (view.choice.status) params.set("status", view.choice.status);
  if (view.choice.industry && view.choice.minCapacity) params.set("min_capacity", view.choice.minCapacity);
  if (view.choice.coking) params.set("coking", "true");
  if (view.choice.hasViolations) params.set("has_violations", "true");
  if (view.choice.outputUp) params.set("output_up", "true");
  return params;
}

/** A query string; commas (bbox) stay readable. */
function qs(params) {
  return params.toString().replaceAll("%2C", ",");
}

function withParams(params, extra) {
  const out = new URLSearchParams(params);
  for (const [key, value] of Object.entries(extra)) if (value != null && value !== "") out.set(key, String(value));
  return out;
}

/** The period the map shows when it is not the plants' quarter (a month or a year), else null. */
function shownPeriod(view) {
  return view.period && view.period !== view.quarter ? view.period : null;
}

/** The query of the plants the map shows: the view's, and a month or year shown as `period`
 * (it decides which plants operated; `quarter` gives their facts). */
function shownParams(view) {
  return withParams(viewParams(view), { period: shownPeriod(view) });
}

/** Every URL the share dialog offers for `view` (absolute, pinned to the view's release, in
 * the view's language); a month or year shown goes in as `period` (the plants keep `quarter`). */
export function shareUrls(view, title = "") {
  const origin = location.origin;
  const base = shownParams(view);
  const layer = { layer: view.colormap, lang: view.lang };
  const hash = new URLSearchParams({
    period: view.period || view.quarter, z: view.zoom.toFixed(2), lon: view.lon.toFixed(4), lat: view.lat.toFixed(4),
  });
  if (view.plant) hash.set("plant", view.plant);
  if (view.city) hash.set("city", view.city);
  if (view.choice.industry) hash.set("industry", view.choice.industry);
  if (view.choice.province) hash.set("province", view.choice.province);
  if (view.choice.status) hash.set("status", view.choice.status);
  if (view.choice.industry && view.choice.minCapacity) hash.set("cap", view.choice.minCapacity);
  if (view.choice.coking) hash.set("coking", "1");
  if (view.choice.hasViolations) hash.set("cited", "1");
  if (view.choice.outputUp) hash.set("up", "1");
  if (view.colormap === "pm25-cb") hash.set("cb", "1");
  return {
    embed: `${origin}/embed?${qs(withParams(base, { ...layer, title }))}`,
    standalone: `${origin}/embed?${qs(withParams(base, { ...layer, title, mode: "standalone" }))}`,
    permalink: `${origin}/?${new URLSearchParams({ release: view.release, lang: view.lang })}#${hash.toString().replaceAll("%3A", ":")}`,
    preview: `${origin}/embed/preview.png?${qs(withParams(base, { ...layer, ...PREVIEW, title }))}`,
    thumb: `/embed/preview.png?${qs(withParams(base, { ...layer, ...THUMB, title }))}`,
    describe: `/api/embed/describe?${qs(withParams(base, layer))}`,
  };
}

/** Links of "Download what I see", pinned to the view's release: the plants the map shows
 * and the PM2.5 grid of the period shown (a month, quarter or year). */
export function downloadUrls(view) {
  const base = shownParams(view);
  const zip = (format) => `/api/extract.zip?${qs(withParams(base, { format }))}`;
  const plants = (ext) => `/api/extract/enterprises.${ext}?${qs(base)}`;
  const grid = new URLSearchParams({ release: view.release, period: view.period || view.quarter, bbox: view.bbox.join(",") });
  return {
    zip: [["GeoPackage", zip("gpkg")], ["GeoParquet", zip("parquet")], ["CSV", zip("csv")]],
    plants: [["GeoParquet", plants("parquet")], ["GeoPackage", plants("gpkg")], ["CSV", plants("csv")], ["GeoJSON", plants("geojson")]],
    pm25: `/api/extract/pm25.tif?${qs(grid)}`,
  };
}

/** The responsive iframe snippet (16:10, like the PNG). */
export function iframeSnippet(src, title) {
  return (
    `<div style="position:relative;padding-top:62.5%">` +
    `<iframe src="${attr(src)}" title="${attr(title)}" loading="lazy" ` +
    `style="position:absolute;inset:0;width:100%;height:100%;border:0" allowfullscreen></iframe></div>`
  );
}

/** The PNG fallback as HTML, linked to the permalink (for e-mail, RSS, print). */
export function imageSnippet(src, alt, href) {
  return (
    `<a href="${attr(href)}"><img src="${attr(src)}" alt="${attr(alt)}" width="${PREVIEW.width}" ` +
    `height="${PREVIEW.height}" style="max-width:100%;height:auto"></a>`
  );
}

function describeFilters(view) {
  const { choice } = view;
  const parts = [
    choice.industry && t("share.filter_industry", { industry: tValue("industry", choice.industry) }),
    choice.province && t("share.filter_province", { province: provinceName(choice.province) }),
    choice.status && t("share.filter_status", { status: tValue("status", choice.status) }),
    choice.industry && choice.minCapacity && t("share.filter_min_capacity", { capacity: formatNumber(Number(choice.minCapacity), Number(choice.minCapacity) % 1 ? 1 : 0) }),
    choice.coking && t("share.filter_coking"),
    choice.hasViolations && t("share.filter_cited"),
    choice.outputUp && t("share.filter_up"),
  ].filter(Boolean);
  return parts.length ? parts.join(t("share.list_separator")) : t("share.filter_none");
}

function summaryLines(view) {
  const shown = shownPeriod(view);
  return [
    [t("share.release"), view.release],
    shown ? [t("web.period"), formatPeriod(shown)] : null,
    [t(shown ? "share.plant_quarter" : "web.quarter"), formatPeriod(view.quarter)],
    [t("share.area"), t("share.area_value", { bbox: view.bbox.map((v) => formatNumber(v, 2)).join(", ") })],
    [t("share.filters"), describeFilters(view)],
  ].filter(Boolean);
}

function fillSummary(box, view) {
  box.replaceChildren(...summaryLines(view).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
}

async function copy(field, status) {
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = t("share.copied");
  } catch (error) {
    status.textContent = t("share.copy_manual");
  }
}

/** Open `dialog` modally; focus returns to the opener on close. */
function openDialog(dialog, focusTarget) {
  const opener = document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      if (opener && document.contains(opener)) opener.focus();
    },
    { once: true },
  );
  dialog.showModal();
  focusTarget.focus();
}

function wireCopyButtons(root) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById(`${button.dataset.copy}-status`);
    button.addEventListener("click", () => copy(field, status));
  }
  for (const button of root.querySelectorAll("button[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
}

/** Wire both dialogs; `getView()` returns the current view (see app.js currentView). */
export function wireShare({ getView }) {
  const byId = (id) => document.getElementById(id);
  const share = byId("share-dialog");
  const download = byId("download-dialog");
  const ui = {
    summary: byId("share-summary"), title: byId("share-title-input"), snippet: byId("share-snippet"),
    alt: byId("share-alt"), altStatus: byId("share-alt-busy"), permalink: byId("share-permalink"),
    open: byId("share-open-link"), thumb: byId("share-thumb"), png: byId("share-png"),
    image: byId("share-image"), standalone: byId("share-standalone"), gridNote: byId("share-grid-note"),
  };
  let current = null;
  let pending = null;
  let described = { title: "", alt: "" };

  function render() {
    const urls = shareUrls(current, ui.title.value.trim());
    const label = described.alt || described.title || t("share.default_label");
    ui.snippet.value = iframeSnippet(urls.embed, label);
    ui.permalink.value = urls.permalink;
    ui.open.href = urls.permalink;
    ui.png.href = urls.preview;
    ui.standalone.href = urls.standalone;
    ui.image.value = imageSnippet(urls.preview, described.alt || label, urls.permalink);
    if (ui.thumb.dataset.src !== urls.thumb) {
      ui.thumb.dataset.src = urls.thumb;
      ui.thumb.src = urls.thumb;
    }
    ui.thumb.alt = described.alt || t("share.thumb_alt");
  }

  async function describe() {
    if (pending) pending.abort();
    pending = new AbortController();
    ui.alt.value = "";
    ui.altStatus.textContent = t("share.describing");
    ui.alt.setAttribute("aria-busy", "true");
    try {
      described = await getJson(shareUrls(current).describe, { signal: pending.signal });
      ui.alt.value = described.alt;
      ui.altStatus.textContent = "";
      ui.gridNote.hidden = described.has_grid;
      ui.gridNote.textContent = described.has_grid ? "" : t("share.no_grid", { quarter: formatPeriod(shownPeriod(current) || current.quarter) });
    } catch (error) {
      if (error.name === "AbortError") return;
      described = { title: "", alt: "" };
      ui.altStatus.textContent = t("share.describe_failed");
    }
    ui.alt.setAttribute("aria-busy", "false");
    render();
  }

  byId("share-open").addEventListener("click", () => {
    current = getView();
    described = { title: "", alt: "" };
    fillSummary(ui.summary, current);
    render();
    describe();
    openDialog(share, byId("share-heading"));
  });
  ui.title.addEventListener("input", debounce(render, 300));

  const dl = {
    summary: byId("download-summary"), zip: byId("download-zip"), plants: byId("download-plants"),
    pm25: byId("download-pm25"), pm25Note: byId("download-pm25-note"), count: byId("download-count"),
  };
  const link = ([label, href]) => el("li", {}, [el("a", { href, download: "", text: label })]);
  byId("download-open").addEventListener("click", async () => {
    const view = getView();
    const urls = downloadUrls(view);
    fillSummary(dl.summary, view);
    dl.zip.replaceChildren(...urls.zip.map(link));
    dl.plants.replaceChildren(...urls.plants.map(link));
    const gridPeriod = view.period || view.quarter;
    const hasGrid = view.grids.includes(gridPeriod);
    dl.pm25.hidden = !hasGrid;
    dl.pm25.href = urls.pm25;
    dl.pm25Note.textContent = t(hasGrid ? "download.pm25_note" : "legend.no_grid", { quarter: formatPeriod(gridPeriod) });
    dl.count.textContent = t("download.counting");
    openDialog(download, byId("download-heading"));
    try {
      const params = withParams(shownParams(view), { limit: 1 });
      const data = await getJson(`/api/enterprises?${params}`);
      dl.count.textContent = plural("download.count", data.total);
    } catch (error) {
      dl.count.textContent = "";
    }
  });
  wireCopyButtons(share);
  wireCopyButtons(download);
}
