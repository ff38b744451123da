// The side panel's plant search and filters; both ask /api/enterprises.
import { otherName, plantName } from "./card.js";
import { debounce, el, getJson } from "./dom.js";
import { placeName, plural, provinceName, t, tValue } from "./i18n.js";

const SEARCH_LIMIT = 10;

/** The count's query: plants operating in `period` (the quarter's facts only when a fact
 * filter asks for them, so a year counts the plants of any of its quarters, as drawn). */
function choiceParams(period, quarter, choice) {
  const params = new URLSearchParams({ limit: "1", period });
  if (choice.industry) params.set("industry", choice.industry);
  if (choice.province) params.set("province", choice.province);
  if (choice.status) params.set("status", choice.status);
  if (choice.industry && choice.minCapacity !== "") params.set("min_capacity", choice.minCapacity);
  if (choice.coking) params.set("coking", "true");
  if (choice.hasViolations || choice.outputUp) params.set("quarter", quarter);
  if (choice.hasViolations) params.set("has_violations", "true");
  if (choice.outputUp) params.set("output_up", "true");
  return params;
}

/** A minimum capacity typed in: a number ≥ 0 as text, else "". */
function capacityValue(input) {
  const value = Number(input.value);
  return input.value.trim() !== "" && !input.disabled && Number.isFinite(value) && value >= 0 ? String(value) : "";
}

function fillSelect(select, facet, label, name) {
  const chosen = select.value;
  const options = facet.map(({ value, count }) => el("option", { value, text: t("web.facet", { name: name(value), n: count }) }));
  select.replaceChildren(el("option", { value: "", text: label }), ...options);
  select.value = chosen;
}

function wireFilters(ui, { getQuarter, getPeriod, onFilter }) {
  const choice = { industry: "", province: "", status: "", minCapacity: "", coking: false, hasViolations: false, outputUp: false };
  let pending = null;

  let total = null;
  function showCount() {
    const active = Object.values(choice).some(Boolean);
    ui.count.textContent = total == null ? "" : plural(active ? "web.count_matching" : "count.plants", total);
    const n = Object.values(choice).filter(Boolean).length;
    ui.active.textContent = n ? t("web.filters_active", { n }) : "";
  }

  async function refreshCount() {
    if (!ui.filters.open) return;
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const params = choiceParams(getPeriod ? getPeriod() : getQuarter(), getQuarter(), choice);
      const data = await getJson(`/api/enterprises?${params}`, { signal: pending.signal });
      total = data.total;
      showCount();
    } catch (error) {
      if (error.name !== "AbortError") ui.count.textContent = t("web.count_unavailable");
    }
  }

  function changed() {
    if (ui.industry.value !== choice.industry) ui.capacity.value = ""; // units differ by industry
    choice.industry = ui.industry.value;
    choice.province = ui.province.value;
    choice.status = ui.status.value;
    showCapacity();
    choice.minCapacity = capacityValue(ui.capacity);
    choice.coking = ui.coking.checked;
    choice.hasViolations = ui.violations.checked;
    choice.outputUp = ui.outputUp.checked;
    showCount();
    onFilter(choice);
    refreshCount();
  }

  let facets = null;
  let found = null;
  /** The minimum capacity: in the chosen industry's unit, disabled for all industries. */
  function showCapacity() {
    const units = (found && found.capacity_units) || {};
    const unit = choice.industry ? units[choice.industry] : "";
    ui.capacity.disabled = !choice.industry;
    ui.capacityUnit.textContent = unit ? t("web.capacity_unit", { unit: tValue("unit", unit) }) : "";
    ui.capacityNote.hidden = Boolean(choice.industry);
  }
  function fillFacets() {
    showCapacity();
    if (!found) return;
    fillSelect(ui.industry, found.industry, t("web.all_industries"), (value) => tValue("industry", value));
    fillSelect(ui.province, found.province, t("web.all_provinces"), provinceName);
    fillSelect(ui.status, found.status || [], t("web.all_statuses"), (value) => tValue("status", value));
  }
  function loadFacets() {
    if (!facets) {
      facets = getJson("/api/enterprises/facets").then(
        (data) => {
          found = data;
          fillFacets();
        },
        () => {
          facets = null;
          ui.count.textContent = t("web.facets_unavailable");
        },
      );
    }
    return facets;
  }

  ui.filters.addEventListener("toggle", () => {
    if (!ui.filters.open) return;
    refreshCount();
    loadFacets();
  });

  /** Apply a saved choice (from a permalink): open the filters, set every control. */
  async function setChoice(next) {
    ui.filters.open = true;
    await loadFacets();
    ui.industry.value = next.industry || "";
    choice.industry = ui.industry.value; // keeps the capacity typed below
    ui.province.value = next.province || "";
    ui.status.value = next.status || "";
    ui.capacity.disabled = !choice.industry;
    ui.capacity.value = next.minCapacity || "";
    ui.coking.checked = Boolean(next.coking);
    ui.violations.checked = Boolean(next.hasViolations);
    ui.outputUp.checked = Boolean(next.outputUp);
    changed();
  }
  for (const input of [ui.industry, ui.province, ui.status, ui.capacity, ui.coking, ui.violations, ui.outputUp]) {
    input.addEventListener("change", changed);
  }
  ui.clear.addEventListener("click", () => {
    ui.industry.value = "";
    ui.province.value = "";
    ui.status.value = "";
    ui.capacity.value = "";
    ui.coking.checked = false;
    ui.violations.checked = false;
    ui.outputUp.checked = false;
    changed();
  });
  /** Rewrite the texts in the page's (new) language. */
  function relabel() {
    fillFacets();
    showCount();
  }
  return { choice, refreshCount, setChoice, relabel };
}

function resultItem(feature, pick) {
  const p = feature.properties;
  const button = el("button", { type: "button", className: "choice" }, [
    el("span", { className: "name", text: plantName(p) }),
    el("span", { className: "meta", text: [otherName(p), provinceName(p.province), tValue("industry", p.industry)].filter(Boolean).join(" · ") }),
  ]);
  button.addEventListener("click", () => pick(p.id));
  return el("li", {}, [button]);
}

function cityItem(city, pick) {
  const name = placeName(city.name_zh, city.name_en);
  const other = placeName(city.name_en, city.name_zh);
  const meta = [other !== name && other, t("city.search_kind"), provinceName(city.province)].filter(Boolean);
  const button = el("button", { type: "button", className: "choice city-choice" }, [
    el("span", { className: "name", text: name }),
    el("span", { className: "meta", text: meta.join(" · ") }),
  ]);
  button.addEventListener("click", () => pick(city));
  return el("li", {}, [button]);
}

function wireSearch(ui, { onPick, findCities, onPickCity }) {
  let pending = null;
  let last = null; // the last answer, rewritten when the language changes
  const clear = () => {
    last = null;
    ui.results.replaceChildren();
    ui.status.textContent = "";
  };
  const pick = (id) => {
    clear();
    onPick(id);
  };
  const pickCity = (city) => {
    clear();
    onPickCity(city);
  };

  async function search() {
    const text = ui.search.value.trim();
    if (pending) pending.abort();
    last = null;
    if (!text) {
      ui.results.replaceChildren();
      ui.status.textContent = "";
      return;
    }
    pending = new AbortController();
    try {
      const params = new URLSearchParams({ q: text, limit: String(SEARCH_LIMIT) });
      const signal = pending.signal;
      const [data, cities] = await Promise.all([
        getJson(`/api/enterprises?${params}`, { signal }),
        findCities ? findCities(text).catch(() => []) : [],
      ]);
      if (signal.aborted) return;
      last = { text, data, cities };
      showResults();
    } catch (error) {
      if (error.name !== "AbortError") ui.status.textContent = t("web.search_unavailable");
    }
  }

  function showResults() {
    if (!last) return;
    const { text, data, cities } = last;
    ui.results.replaceChildren(...cities.map((c) => cityItem(c, pickCity)), ...data.features.map((f) => resultItem(f, pick)));
    const shown = data.features.length;
    if (!data.total && cities.length) ui.status.textContent = plural("city.search_found", cities.length);
    else if (!data.total) ui.status.textContent = t("web.search_none", { text });
    else if (data.total > shown) ui.status.textContent = plural("web.search_found_first", data.total, { shown });
    else ui.status.textContent = plural("web.search_found", data.total);
  }

  ui.search.addEventListener("input", debounce(search, 250));
  ui.search.addEventListener("keydown", (event) => {
    const first = ui.results.querySelector("button");
    if (event.key === "Enter" && first) {
      event.preventDefault();
      first.click();
    }
  });
  return showResults;
}

/** Wire the search box and the filters; returns the live filter choice, a count refresher and
 * setChoice(choice). */
export function wirePanel(callbacks) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    search: byId("search"), results: byId("search-results"), status: byId("search-status"),
    filters: byId("filters"), active: byId("filter-active"), industry: byId("f-industry"),
    province: byId("f-province"), status: byId("f-status"), capacity: byId("f-capacity"),
    capacityUnit: byId("f-capacity-unit"), capacityNote: byId("f-capacity-note"), coking: byId("f-coking"),
    violations: byId("f-violations"), outputUp: byId("f-output-up"),
    count: byId("filter-count"), clear: byId("f-clear"),
  };
  const relabelSearch = wireSearch(ui, callbacks);
  const filters = wireFilters(ui, callbacks);
  return {
    ...filters,
    relabel() {
      relabelSearch();
      filters.relabel();
    },
  };
}
