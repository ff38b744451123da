// The rankings dialog: cities of a region set (national, 2+26, Fen-Wei, Yangtze River Delta,
// Pearl River Delta or a province) for one period, from /api/rankings; sortable by level or by
// change, the same table as CSV from the API, a row opens the city's panel.
import { el, getJson, pinned } from "./dom.js";
import { formatNumber, formatPct, formatPeriod, placeName, plural, provinceName, t } from "./i18n.js";

const GROUPS = ["national", "2+26", "Fenwei", "YRD", "PRD"];
// column → [API sort name, the row's field]
const SORTS = { pm25: "pm25", change_prev: "change_prev_pct", change_year: "change_year_pct" };
const num = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);
const byId = (id) => document.getElementById(id);

/** The rows of an /api/rankings answer, as the table uses them. */
function rowsOf(answer) {
  return answer.rows.map((r, i) => ({
    adcode: r.code,
    name_zh: r.name_zh || "",
    name_en: r.name_en || "",
    province_code: r.province || "",
    province_zh: r.province_name_zh || "",
    province_en: r.province_name_en || "",
    pm25: num(r.pm25),
    valid: r.valid !== false,
    change_prev_pct: num(r.change_prev_pct),
    change_year_pct: num(r.change_year_pct),
    change_year_period: r.change_year_period || "",
    rank: num(r.rank), // by level (the page asks for sort=pm25&order=desc)
    order: i,
  }));
}

function provinceLabel(row) {
  return placeName(row.province_zh, row.province_en) || provinceName(row.province_zh);
}

/** Wire the rankings dialog. `periods()` is {month, quarter, year} of the release, `getPeriod()`
 * the map's period, `openCity(adcode, period, name)` opens a city's panel. */
export function wireRankings({ periods, getPeriod, openCity }) {
  const dialog = byId("rank-dialog");
  const ui = {
    period: byId("rank-period"), group: byId("rank-group"), status: byId("rank-status"),
    table: byId("rank-table"), head: byId("rank-head"), body: byId("rank-body"), csv: byId("rank-csv"),
    note: byId("rank-note"), yearNote: byId("rank-year-note"),
  };
  const view = { sort: "pm25", order: "desc", rows: null, provinces: new Map(), request: null, answer: null };

  function fillPeriods() {
    const chosen = ui.period.value || getPeriod();
    const groups = Object.entries(periods()).filter(([, labels]) => labels.length).map(([kind, labels]) =>
      el("optgroup", { label: t(`web.period_${kind}`) }, labels.map((label) => el("option", { value: label, text: formatPeriod(label) }))));
    ui.period.replaceChildren(...groups);
    ui.period.value = chosen;
    if (ui.period.value !== chosen && ui.period.options.length) ui.period.selectedIndex = 0;
  }

  function fillGroups() {
    const chosen = ui.group.value || "national";
    const fixed = GROUPS.map((id) => el("option", { value: id, text: t(`rank.group.${id}`) }));
    const provinces = [...view.provinces.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([code, names]) => el("option", { value: code, text: placeName(names.zh, names.en) || provinceName(names.zh) }));
    ui.group.replaceChildren(...fixed, ...(provinces.length ? [el("optgroup", { label: t("rank.provinces") }, provinces)] : []));
    ui.group.value = chosen;
    if (ui.group.value !== chosen) ui.group.value = "national";
  }

  /** The API's query: JSON always by level (its `rank` is the level's), CSV in the shown order. */
  function params(format) {
    const [sort, order] = format === "csv" ? [view.sort, view.order] : ["pm25", "desc"];
    return new URLSearchParams({ period: ui.period.value, group: ui.group.value, sort, order, format });
  }

  function sorted() {
    const field = SORTS[view.sort];
    const sign = view.order === "asc" ? 1 : -1;
    return [...view.rows].sort((a, b) => {
      const x = a[field];
      const y = b[field];
      if (x == null || y == null) return x == null && y == null ? a.order - b.order : x == null ? 1 : -1; // "not available" last
      return sign * (x - y) || a.order - b.order;
    });
  }

  function headCell(key, text) {
    if (!SORTS[key]) return el("th", { scope: "col", text });
    const active = view.sort === key;
    const th = el("th", { scope: "col", "aria-sort": active ? (view.order === "asc" ? "ascending" : "descending") : "none" });
    const button = el("button", { type: "button", className: "sort", "data-sort": key }, [
      el("span", { text }),
      el("span", { className: "arrow", "aria-hidden": "true", text: active ? (view.order === "asc" ? "▲" : "▼") : "↕" }),
    ]);
    button.addEventListener("click", () => {
      if (view.sort === key) view.order = view.order === "asc" ? "desc" : "asc";
      else {
        view.sort = key;
        view.order = "desc";
      }
      renderTable();
      ui.head.querySelector(`button[data-sort="${key}"]`).focus();
    });
    th.append(button);
    return th;
  }

  function changeCell(value) {
    return value == null
      ? el("td", { className: "na", text: t("rank.not_available") })
      : el("td", { className: value > 0 ? "up" : value < 0 ? "down" : null, text: formatPct(value) });
  }

  function pm25Cell(row) {
    if (row.pm25 == null) return el("td", { className: "na", text: t("rank.no_value") });
    if (row.valid) return el("td", { text: formatNumber(row.pm25, 1) });
    return el("td", { className: "incomplete", title: t("rank.incomplete_note") }, [
      el("span", { text: formatNumber(row.pm25, 1) }),
      el("span", { className: "mark", "aria-hidden": "true", text: "*" }),
      el("span", { className: "visually-hidden", text: ` (${t("rank.incomplete")})` }),
    ]);
  }

  function renderTable() {
    const pm25 = headCell("pm25", t("rank.pm25"));
    pm25.setAttribute("rowspan", "2");
    ui.head.replaceChildren(
      el("tr", {}, [
        el("th", { scope: "col", rowspan: "2", text: t("rank.rank") }),
        el("th", { scope: "col", rowspan: "2", text: t("rank.city") }),
        pm25,
        el("th", { scope: "colgroup", colspan: "2", className: "group", text: t("rank.change") }),
      ]),
      el("tr", {}, [headCell("change_prev", t("rank.change_prev")), headCell("change_year", t("rank.change_year"))]),
    );
    const period = ui.period.value;
    const rows = sorted().map((row) => {
      const name = placeName(row.name_zh, row.name_en) || row.adcode;
      const button = el("button", { type: "button", className: "city-link", "data-adcode": row.adcode }, [
        el("span", { className: "name", text: name }),
        el("span", { className: "meta", text: provinceLabel(row) }),
      ]);
      const open = () => {
        view.opener = null; // focus goes to the city's panel
        dialog.close();
        openCity(row.adcode, period, name);
      };
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        open();
      });
      const tr = el("tr", { "data-adcode": row.adcode }, [
        el("td", { className: "num", text: row.rank == null ? "—" : formatNumber(row.rank) }),
        el("th", { scope: "row" }, [button]),
        pm25Cell(row),
        changeCell(row.change_prev_pct),
        changeCell(row.change_year_pct),
      ]);
      tr.addEventListener("click", open);
      return tr;
    });
    ui.body.replaceChildren(...rows);
    ui.csv.href = pinned(`/api/rankings?${params("csv")}`);
    ui.status.textContent = plural("rank.count", view.rows.length, { period: formatPeriod(period) });
    const invalid = view.rows.some((row) => row.pm25 != null && !row.valid);
    ui.note.hidden = !invalid;
    // no city has a change on a year before: the inputs lack that year; say so once, plainly
    const before = view.rows.find((row) => row.change_year_period)?.change_year_period;
    const none = view.rows.length > 0 && view.rows.every((row) => row.change_year_pct == null);
    ui.yearNote.hidden = !(none && before);
    if (none && before) ui.yearNote.textContent = t("rank.no_year_before", { period: formatPeriod(before) });
  }

  async function load() {
    if (view.request) view.request.abort();
    const request = new AbortController();
    view.request = request;
    ui.status.textContent = t("rank.loading");
    ui.table.setAttribute("aria-busy", "true");
    try {
      const answer = await getJson(`/api/rankings?${params("json")}`, { signal: request.signal });
      if (request.signal.aborted) return;
      view.rows = rowsOf(answer);
      if (ui.group.value === "national") {
        for (const row of view.rows) {
          if (row.province_code && !view.provinces.has(row.province_code)) {
            view.provinces.set(row.province_code, { zh: row.province_zh, en: row.province_en });
          }
        }
        fillGroups();
      }
      renderTable();
    } catch (error) {
      if (request.signal.aborted) return;
      view.rows = null;
      ui.body.replaceChildren();
      ui.status.textContent = t("rank.unavailable");
    } finally {
      if (!request.signal.aborted) ui.table.setAttribute("aria-busy", "false");
    }
  }

  async function loadProvinces() {
    if (view.provinces.size || ui.group.value === "national") return;
    try {
      const answer = await getJson(`/api/rankings?${new URLSearchParams({ period: ui.period.value, group: "national", format: "json" })}`);
      for (const row of rowsOf(answer)) {
        if (row.province_code) view.provinces.set(row.province_code, { zh: row.province_zh, en: row.province_en });
      }
      fillGroups();
    } catch (error) {
      // the fixed groups only
    }
  }

  function open({ period = null, group = null } = {}) {
    fillPeriods();
    ui.period.value = period || getPeriod();
    if (!ui.period.value && ui.period.options.length) ui.period.selectedIndex = 0;
    fillGroups();
    if (group) ui.group.value = group;
    if (!dialog.open) {
      view.opener = document.activeElement;
      dialog.showModal();
    }
    byId("rank-heading").focus();
    load();
    loadProvinces();
  }

  ui.period.addEventListener("change", load);
  ui.group.addEventListener("change", load);
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const back = view.opener;
    view.opener = null;
    if (back && back !== document.body && document.contains(back)) back.focus();
  });

  return {
    open,
    relabel() {
      if (!dialog.open) return;
      fillPeriods();
      fillGroups();
      if (view.rows) renderTable();
    },
  };
}
