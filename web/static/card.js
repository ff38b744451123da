// The facility card: DOM built from /api/enterprises/{id}/card with textContent only, in the
// page's language (data values with a catalogue entry, e.g. industries, are translated too).
import { el, sourceNode, svg } from "./dom.js";
import { formatDate, formatNumber, formatPct, formatPeriod, lang, placeName, plural, provinceName, t, tValue } from "./i18n.js";

const MIN_SCALE_PCT = 20; // bars are drawn on at least a ±20 % scale, so +3 % looks small

function shown(value) {
  return value == null || value === "" ? "—" : String(value);
}


function list(rows) {
  return el("dl", {}, rows.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: shown(value) })]));
}

function section(title, children, className = "") {
  return el("section", { className: `card-section ${className}`.trim() }, [el("h3", { text: title }), ...children]);
}

function citation(source, url) {
  return el("p", { className: "meta" }, [t("card.source"), sourceNode(source, url)]);
}

/** `1,234 thousand t/yr`: a number with its unit, or null. */
function amount(value, unit) {
  if (value == null || value === "" || !Number.isFinite(Number(value))) return null;
  const number = Number(value);
  return `${formatNumber(number, number % 1 ? 1 : 0)} ${tValue("unit", unit)}`.trim();
}

function owner(who) {
  const [first, second] = lang() === "zh" ? [who.owner_zh, who.owner] : [who.owner, who.owner_zh];
  return first || second;
}

/** Every source id of the (merged) plant, with its source's attribution. */
function sourceIds(ids) {
  if (!ids || !ids.length) return null;
  const items = ids.map((s) => el("li", {}, [el("code", { text: s.id }), " ", sourceNode(s.attribution || s.source, s.url)]));
  return el("div", { className: "source-ids" }, [
    el("h4", { text: t("card.source_ids") }),
    el("ul", { className: "records" }, items),
  ]);
}

function identitySection(card) {
  const who = card.identity;
  const rows = [
    [t("card.industry"), tValue("industry", who.industry)],
    [t("card.capacity"), amount(who.capacity, who.capacity_unit)],
    who.coking_capacity != null && [t("card.coking_capacity"), amount(who.coking_capacity, "ttpa")],
    who.coking && who.industry !== "coking" && [t("card.coking"), t("card.coking_yes")],
    who.products && [t("card.products"), who.products],
    [t("card.owner"), owner(who)],
    [t("card.id"), card.id],
  ].filter(Boolean);
  return section(t("card.plant"), [list(rows), sourceIds(card.source_ids), citation(who.data_source)]);
}

/** A quarter label `2019Q1` as the number 20191 (null for anything else). */
function quarterNumber(label) {
  const match = /^(\d{4})Q([1-4])$/.exec(String(label ?? ""));
  return match ? Number(match[1]) * 10 + Number(match[2]) : null;
}

/** False when the plant's operating period is known and `quarter` lies outside it. */
function operatingIn(operation, quarter) {
  if (!operation || operation.ever_operated === false) return !operation;
  const q = quarterNumber(quarter);
  const first = quarterNumber(operation.op_from);
  const last = quarterNumber(operation.op_to);
  return q == null || ((first == null || first <= q) && (last == null || q <= last));
}

/** `2003 Q1 – today`, `start not known – 2019 Q1`, `never operated`. */
function operatingPeriod(operation) {
  if (operation.ever_operated === false) return t("card.never_operated");
  const unknown = operation.dates_caveat === "no_dates" || operation.ever_operated == null; // null: a release from before
  if (!operation.op_from && !operation.op_to && unknown) return t("card.period_unknown");
  const from = operation.op_from ? formatPeriod(operation.op_from) : t("card.start_unknown");
  const to = operation.op_to ? formatPeriod(operation.op_to) : t("card.still_operating");
  return t("card.period_range", { from, to });
}

function operationSection(card) {
  const operation = card.operation;
  if (!operation) return null;
  const caveat = operation.dates_caveat;
  const rows = [
    [t("card.status"), tValue("status", operation.status)],
    [t("card.start_date"), operation.start_date && formatDate(operation.start_date)],
    operation.idled_date && [t("card.idled_date"), formatDate(operation.idled_date)],
    operation.retired_date && [t("card.retired_date"), formatDate(operation.retired_date)],
    [t("card.operating_period"), operatingPeriod(operation)],
    operation.units != null && [t("card.units"), formatNumber(operation.units)],
  ].filter(Boolean);
  return section(t("card.operation"), [
    caveat && el("p", { className: "warn caveat", text: tValue("dates_caveat", caveat) }),
    list(rows),
  ], "operation");
}

function geocoder(source) {
  if (!source) return null;
  if (source.startsWith("online:")) return t("card.geocoder_online", { service: source.slice("online:".length) });
  return tValue("card.geocoder", source);
}

/** `39.0000° N, 118.4500° E (WGS-84)` / `北纬 39.0000°，东经 118.4500°（WGS-84）`. */
function coordinates({ lon, lat }) {
  return t("card.coordinates", {
    lat: Math.abs(lat).toFixed(4), lon: Math.abs(lon).toFixed(4),
    ns: t(lat < 0 ? "card.south" : "card.north"), ew: t(lon < 0 ? "card.west" : "card.east"),
  });
}

function locationSection(where) {
  const datum = where.source_datum && where.source_datum !== "WGS-84"
    ? t("card.datum_converted", { datum: where.source_datum })
    : where.source_datum;
  const level = tValue("card.precision", where.geocode_precision || "area");
  const warning = where.approximate && el("p", { className: "warn", text: t("card.approximate", { level }) });
  return section(t("card.location"), [
    warning,
    list([
      [t("card.place"), [provinceName(where.province), (lang() === "en" && where.city_en) || where.city, where.county].filter(Boolean).join(" / ")],
      [t("card.coordinates_label"), coordinates(where)],
      [t("card.geocoded_from"), geocoder(where.geocode_source)],
      [t("card.precision_label"), tValue("card.precision", where.geocode_precision)],
      [t("card.accuracy_label"), tValue("card.accuracy", where.coordinate_accuracy)],
      [t("card.datum"), datum],
    ]),
  ]);
}

function outputSummary(row) {
  const basis = row.output_basis ? t("card.basis", { basis: row.output_basis }) : "";
  if (row.output_change_pct != null) return t("card.output_change", { change: formatPct(row.output_change_pct), basis });
  if (row.output_direction) {
    return t("card.output_change", { change: tValue("card.direction", row.output_direction), basis });
  }
  return t("card.output_unknown");
}

function quarterSection(card, quarter) {
  const title = t("card.in_quarter", { quarter: formatPeriod(quarter) });
  const row = card.quarters.find((r) => r.quarter === quarter);
  if (!row && !operatingIn(card.operation, quarter)) {
    return section(title, [el("p", { text: t("card.not_operating", { quarter: formatPeriod(quarter) }) })], "facts");
  }
  if (!row) return section(title, [el("p", { text: t("card.no_facts") })], "facts");
  const unit = card.operation && card.operation.capacity_unit;
  const running = row.capacity_operating != null && t("card.capacity_operating", { capacity: amount(row.capacity_operating, unit) });
  const facts = plural("card.violations_dated", row.violations, {
    quarter: formatPeriod(quarter), n12: formatNumber(row.violations_12m),
  });
  return section(title, [
    row.cited_and_output_up && el("p", { className: "badge flag", text: t("legend.flag") }),
    running && el("p", { text: running }),
    el("p", { text: facts }),
    el("p", { text: outputSummary(row) }),
  ], "facts");
}

function dateNode(record) {
  const monthOnly = record.date_precision === "month" || /^\d{4}-\d{2}$/.test(record.date);
  const text = monthOnly ? formatPeriod(String(record.date).slice(0, 7)) : formatDate(record.date);
  return el("time", { datetime: record.date, text });
}

function matchNote(record) {
  if (record.match_status !== "matched") return null;
  const text = typeof record.match_score === "number"
    ? t("card.matched_score", { score: formatNumber(record.match_score, 2) })
    : t("card.matched");
  return el("p", { className: "meta", text });
}

function violationItem(record) {
  const details = [
    record.category && t("card.category", { category: record.category }),
    record.penalty && t("card.penalty", { penalty: record.penalty }),
  ];
  return el("li", {}, [
    el("div", { className: "when" }, [
      dateNode(record),
      record.kind === "computed_exceedance" && el("span", { className: "badge cems", text: t("card.cems") }),
    ]),
    record.authority && el("p", { className: "authority", text: record.authority }),
    el("p", { className: "finding", text: record.finding }),
    details.some(Boolean) && el("p", { className: "meta", text: details.filter(Boolean).join(" · ") }),
    citation(record.source, record.source_url),
    matchNote(record),
  ]);
}

function violationsSection(records) {
  const newest = [...records].sort((a, b) => String(b.date).localeCompare(String(a.date)));
  const body = newest.length
    ? el("ol", { className: "timeline" }, newest.map(violationItem))
    : el("p", { text: t("card.no_violations") });
  return section(t("card.violations", { n: formatNumber(records.length) }), [body], "violations");
}

function periodText(record) {
  return record.compared_with
    ? t("card.period_vs", { period: record.period, compared: record.compared_with })
    : String(record.period);
}

function outputChart(records) {
  const numeric = records.filter((r) => typeof r.change_pct === "number");
  if (!numeric.length) return null;
  const width = 300;
  const barArea = width - 64; // the value is written right of the bars
  const rowHeight = 34;
  const largest = Math.max(...numeric.map((r) => Math.abs(r.change_pct)), MIN_SCALE_PCT);
  const negative = numeric.some((r) => r.change_pct < 0);
  const zero = negative ? barArea / 2 : 0;
  const span = negative ? barArea / 2 : barArea;
  const height = numeric.length * rowHeight;
  const chart = svg("svg", {
    className: "bars", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": t("card.chart_label", { bars: numeric.map((r) => `${periodText(r)} ${formatPct(r.change_pct)}`).join("; ") }),
  });
  numeric.forEach((record, i) => {
    const y = i * rowHeight;
    const length = Math.max((Math.abs(record.change_pct) / largest) * span, 1);
    chart.append(svg("g", { className: `bar ${record.change_pct >= 0 ? "up" : "down"}` }, [
      svg("title", { text: `${periodText(record)}: ${formatPct(record.change_pct)} (${record.source || t("card.source_unknown")})` }),
      svg("text", { x: 0, y: y + 11, className: "label", text: periodText(record) }),
      svg("rect", { x: record.change_pct >= 0 ? zero : zero - length, y: y + 15, width: length, height: 12, rx: 2 }),
      svg("text", { x: width, y: y + 25, "text-anchor": "end", className: "value", text: formatPct(record.change_pct) }),
    ]));
  });
  chart.append(svg("line", { className: "axis", x1: zero, x2: zero, y1: 13, y2: height }));
  return chart;
}

function outputItem(record) {
  const facts = [
    record.change_pct != null && formatPct(record.change_pct),
    record.value != null && `${formatNumber(record.value, record.value % 1 ? 1 : 0)} ${tValue("unit", record.unit)}`.trim(),
    record.note,
    record.change_pct == null && !record.note && tValue("card.direction", record.direction),
  ].filter(Boolean);
  const what = [record.subject, record.product, periodText(record)].filter(Boolean).join(", ");
  return el("li", {}, [
    el("span", { className: "what", text: `${what}: ` }),
    el("span", { text: facts.join("; ") || "—" }),
    citation(record.source),
  ]);
}

function outputSection(title, records, empty) {
  const body = records.length
    ? [outputChart(records), el("ul", { className: "records" }, records.map(outputItem))]
    : [el("p", { text: empty })];
  return section(title, body, "output");
}

function pm25Cell(value, quarter, gridQuarters) {
  if (value != null) return formatNumber(value, 1);
  return gridQuarters.includes(quarter) ? t("card.no_data") : t("card.no_grid");
}

function pm25Section(rows, quarter, gridQuarters) {
  const titles = [t("web.quarter"), t("card.within_5km"), t("card.within_10km"), t("card.source_col")];
  const head = el("tr", {}, titles.map((text) => el("th", { scope: "col", text })));
  const body = rows.map((row) => el("tr", {
    className: row.quarter === quarter ? "current" : null,
    "aria-current": row.quarter === quarter ? "true" : null,
  }, [
    el("th", { scope: "row", text: formatPeriod(row.quarter) }),
    el("td", { text: pm25Cell(row.pm25_5km, row.quarter, gridQuarters) }),
    el("td", { text: pm25Cell(row.pm25_10km, row.quarter, gridQuarters) }),
    el("td", { text: gridQuarters.includes(row.quarter) ? shown(row.pm25_source) : "—" }),
  ]));
  const table = el("table", { className: "pm25" }, [
    el("caption", { text: t("card.pm25_caption") }),
    el("thead", {}, [head]),
    el("tbody", {}, body),
  ]);
  return section(t("card.pm25_nearby"), [table], "pm25-nearby");
}

function sourcesSection(sources) {
  const items = sources.map((s) => el("li", {}, [sourceNode(s.attribution || s.id, s.url)]));
  return section(t("card.sources"), [el("ul", { className: "records" }, items)]);
}

/** A link to the plant's Atom feed: new records, output changes, its area's PM2.5. */
function feedSection(id) {
  const href = `/feeds/plants/${encodeURIComponent(id)}.atom?lang=${lang()}`;
  const link = el("a", { href, type: "application/atom+xml", text: t("card.feed") });
  return el("p", { className: "meta feed" }, [link]);
}

/** The card's sections for the selected quarter; `gridQuarters` are the quarters with a PM2.5 grid. */
export function cardSections(card, quarter, gridQuarters) {
  const province = card.location.province;
  return [
    identitySection(card),
    operationSection(card),
    locationSection(card.location),
    quarterSection(card, quarter),
    violationsSection(card.violations),
    outputSection(t("card.output"), card.output, t("card.no_output")),
    outputSection(province ? t("card.output_in", { province: provinceName(province) }) : t("card.regional_output"),
      card.regional_output, t("card.no_regional_output")),
    pm25Section(card.quarters, quarter, gridQuarters),
    sourcesSection(card.sources),
    feedSection(card.id),
  ];
}

/** A plant's name in the page's language (falling back to the other, then to its id). */
export function plantName(p) {
  return placeName(p.name_zh || (p.name !== p.name_en ? p.name : ""), p.name_en) || p.name || p.id;
}

/** The plant's name in the other language, when it differs. */
export function otherName(p) {
  const other = placeName(p.name_en, p.name_zh || p.name);
  return other && other !== plantName(p) ? other : "";
}

/** A list of the plants under one click; `choose(properties)` opens one. */
export function chooserList(features, choose) {
  const items = features.map((f) => {
    const p = f.properties;
    const button = el("button", { type: "button", className: "choice" }, [
      el("span", { className: "name", text: plantName(p) }),
      el("span", { className: "meta", text: [otherName(p), tValue("industry", p.industry)].filter(Boolean).join(" · ") }),
    ]);
    button.addEventListener("click", () => choose(p));
    return el("li", {}, [button]);
  });
  return el("ul", { className: "choices" }, items);
}
