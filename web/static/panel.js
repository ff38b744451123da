// The side panel's plant search and filters; both ask /api/enterprises.
import { counted, debounce, el, getJson } from "./dom.js";

const SEARCH_LIMIT = 10;

function choiceParams(quarter, choice) {
  const params = new URLSearchParams({ limit: "1", quarter });
  if (choice.industry) params.set("industry", choice.industry);
  if (choice.province) params.set("province", choice.province);
  if (choice.hasViolations) params.set("has_violations", "true");
  if (choice.outputUp) params.set("output_up", "true");
  return params;
}

function fillSelect(select, facet, label) {
  const options = facet.map(({ value, count }) => el("option", { value, text: `${value.replace("_", " ")} (${count})` }));
  select.replaceChildren(el("option", { value: "", text: label }), ...options);
}

function wireFilters(ui, { getQuarter, onFilter }) {
  const choice = { industry: "", province: "", hasViolations: false, outputUp: false };
  let pending = null;

  async function refreshCount() {
    if (!ui.filters.open) return;
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const data = await getJson(`/api/enterprises?${choiceParams(getQuarter(), choice)}`, { signal: pending.signal });
      const active = Object.values(choice).some(Boolean);
      ui.count.textContent = counted(data.total, active ? "matching plant" : "plant");
    } catch (error) {
      if (error.name !== "AbortError") ui.count.textContent = "Count unavailable.";
    }
  }

  function changed() {
    choice.industry = ui.industry.value;
    choice.province = ui.province.value;
    choice.hasViolations = ui.violations.checked;
    choice.outputUp = ui.outputUp.checked;
    const active = Object.values(choice).filter(Boolean).length;
    ui.active.textContent = active ? `(${active} active)` : "";
    onFilter(choice);
    refreshCount();
  }

  let facets = null;
  function loadFacets() {
    if (!facets) {
      facets = getJson("/api/enterprises/facets").then(
        (found) => {
          fillSelect(ui.industry, found.industry, "All industries");
          fillSelect(ui.province, found.province, "All provinces");
        },
        () => {
          facets = null;
          ui.count.textContent = "Filter values unavailable.";
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
    ui.province.value = next.province || "";
    ui.violations.checked = Boolean(next.hasViolations);
    ui.outputUp.checked = Boolean(next.outputUp);
    changed();
  }
  for (const input of [ui.industry, ui.province, ui.violations, ui.outputUp]) input.addEventListener("change", changed);
  ui.clear.addEventListener("click", () => {
    ui.industry.value = "";
    ui.province.value = "";
    ui.violations.checked = false;
    ui.outputUp.checked = false;
    changed();
  });
  return { choice, refreshCount, setChoice };
}

function resultItem(feature, pick) {
  const p = feature.properties;
  const button = el("button", { type: "button", className: "choice" }, [
    el("span", { className: "name", text: p.name_zh || p.name || p.id }),
    el("span", { className: "meta", text: [p.name_en, p.province, p.industry && p.industry.replace("_", " ")].filter(Boolean).join(" · ") }),
  ]);
  button.addEventListener("click", () => pick(p.id));
  return el("li", {}, [button]);
}

function wireSearch(ui, { onPick }) {
  let pending = null;
  const pick = (id) => {
    ui.results.replaceChildren();
    ui.status.textContent = "";
    onPick(id);
  };

  async function search() {
    const text = ui.search.value.trim();
    if (pending) pending.abort();
    if (!text) {
      ui.results.replaceChildren();
      ui.status.textContent = "";
      return;
    }
    pending = new AbortController();
    try {
      const params = new URLSearchParams({ q: text, limit: String(SEARCH_LIMIT) });
      const data = await getJson(`/api/enterprises?${params}`, { signal: pending.signal });
      ui.results.replaceChildren(...data.features.map((f) => resultItem(f, pick)));
      ui.status.textContent = data.total
        ? `${counted(data.total, "plant")} found${data.total > data.features.length ? `, first ${data.features.length} shown` : ""}`
        : `No plant matches “${text}”.`;
    } catch (error) {
      if (error.name !== "AbortError") ui.status.textContent = "Search unavailable.";
    }
  }

  ui.search.addEventListener("input", debounce(search, 250));
  ui.search.addEventListener("keydown", (event) => {
    const first = ui.results.querySelector("button");
    if (event.key === "Enter" && first) {
      event.preventDefault();
      first.click();
    }
  });
}

/** Wire the search box and the filters; returns the live filter choice, a count refresher and
 * setChoice(choice). */
export function wirePanel(callbacks) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    search: byId("search"), results: byId("search-results"), status: byId("search-status"),
    filters: byId("filters"), active: byId("filter-active"), industry: byId("f-industry"),
    province: byId("f-province"), violations: byId("f-violations"), outputUp: byId("f-output-up"),
    count: byId("filter-count"), clear: byId("f-clear"),
  };
  wireSearch(ui, callbacks);
  return wireFilters(ui, callbacks);
}
