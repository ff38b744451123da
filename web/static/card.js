// The facility card: DOM built from /api/enterprises/{id}/card with textContent only.
import { counted, el, sourceNode, svg } from "./dom.js";

const GEOCODERS = {
  source_coordinates: "coordinates given in the source data",
  gazetteer: "place-name gazetteer (administrative centre)",
};
const MIN_SCALE_PCT = 20; // bars are drawn on at least a ±20 % scale, so +3 % looks small
const MONTH = new Intl.DateTimeFormat("en", { month: "long", year: "numeric", timeZone: "UTC" });

function shown(value) {
  return value == null || value === "" ? "—" : String(value);
}

export function pct(value) {
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(1)} %`;
}

function list(rows) {
  return el("dl", {}, rows.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: shown(value) })]));
}

function section(title, children, className = "") {
  return el("section", { className: `card-section ${className}`.trim() }, [el("h3", { text: title }), ...children]);
}

function citation(source, url) {
  return el("p", { className: "meta" }, ["Source: ", sourceNode(source, url)]);
}

function identitySection(card) {
  const who = card.identity;
  const capacity = who.capacity == null ? null : `${who.capacity} ${who.capacity_unit || ""}`.trim();
  return section("Plant", [
    list([
      ["Industry", who.industry && who.industry.replace("_", " ")],
      ["Capacity", capacity],
      ["Owner", who.owner],
      ["ID", card.id],
    ]),
    citation(who.data_source),
  ]);
}

function geocoder(source) {
  if (!source) return null;
  if (source.startsWith("online:")) return `online geocoder (${source.slice("online:".length)})`;
  return GEOCODERS[source] || source;
}

function coordinates({ lon, lat }) {
  return `${Math.abs(lat).toFixed(4)}° ${lat < 0 ? "S" : "N"}, ${Math.abs(lon).toFixed(4)}° ${lon < 0 ? "W" : "E"} (WGS-84)`;
}

function locationSection(where) {
  const datum = where.source_datum && where.source_datum !== "WGS-84"
    ? `${where.source_datum}, converted to WGS-84`
    : where.source_datum;
  const warning = where.approximate && el("p", { className: "warn", text:
    `Approximate location: placed at ${where.geocode_precision || "area"} level, not at the plant itself.` });
  return section("Location", [
    warning,
    list([
      ["Place", [where.province, where.city, where.county].filter(Boolean).join(" / ")],
      ["Coordinates", coordinates(where)],
      ["Geocoded from", geocoder(where.geocode_source)],
      ["Precision", where.geocode_precision],
      ["Accuracy", where.coordinate_accuracy],
      ["Source datum", datum],
    ]),
  ]);
}

function outputSummary(row) {
  const basis = row.output_basis ? ` (${row.output_basis})` : "";
  if (row.output_change_pct != null) return `Output ${pct(row.output_change_pct)}${basis}`;
  if (row.output_direction) return `Output ${row.output_direction}${basis}`;
  return "Output change not known";
}

function quarterSection(card, quarter) {
  const row = card.quarters.find((r) => r.quarter === quarter);
  if (!row) return section(`In ${quarter}`, [el("p", { text: "No facts for this quarter." })], "facts");
  return section(`In ${quarter}`, [
    row.cited_and_output_up && el("p", { className: "badge flag", text: "Cited and output up" }),
    el("p", { text: `${counted(row.violations, "violation record")} dated in ${quarter}, ${row.violations_12m} in the 12 months to its end` }),
    el("p", { text: outputSummary(row) }),
  ], "facts");
}

function dateNode(record) {
  const monthOnly = record.date_precision === "month" || /^\d{4}-\d{2}$/.test(record.date);
  const text = monthOnly ? MONTH.format(new Date(`${record.date.slice(0, 7)}-01T00:00:00Z`)) : record.date;
  return el("time", { datetime: record.date, text });
}

function matchNote(record) {
  if (record.match_status !== "matched") return null;
  const score = typeof record.match_score === "number" ? `, score ${record.match_score.toFixed(2)}` : "";
  return el("p", { className: "meta", text: `Attached to this plant by name matching${score}` });
}

function violationItem(record) {
  const details = [record.category && `Category: ${record.category}`, record.penalty && `Penalty: ${record.penalty}`];
  return el("li", {}, [
    el("div", { className: "when" }, [
      dateNode(record),
      record.kind === "computed_exceedance" && el("span", { className: "badge cems", text: "computed from CEMS" }),
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
    : el("p", { text: "No violation records." });
  return section(`Violations (${records.length})`, [body], "violations");
}

function periodText(record) {
  return record.compared_with ? `${record.period} vs ${record.compared_with}` : String(record.period);
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
    "aria-label": `Output change, one bar per record: ${numeric.map((r) => `${periodText(r)} ${pct(r.change_pct)}`).join("; ")}`,
  });
  numeric.forEach((record, i) => {
    const y = i * rowHeight;
    const length = Math.max((Math.abs(record.change_pct) / largest) * span, 1);
    chart.append(svg("g", { className: `bar ${record.change_pct >= 0 ? "up" : "down"}` }, [
      svg("title", { text: `${periodText(record)}: ${pct(record.change_pct)} (${record.source || "source not given"})` }),
      svg("text", { x: 0, y: y + 11, className: "label", text: periodText(record) }),
      svg("rect", { x: record.change_pct >= 0 ? zero : zero - length, y: y + 15, width: length, height: 12, rx: 2 }),
      svg("text", { x: width, y: y + 25, "text-anchor": "end", className: "value", text: pct(record.change_pct) }),
    ]));
  });
  chart.append(svg("line", { className: "axis", x1: zero, x2: zero, y1: 13, y2: height }));
  return chart;
}

function outputItem(record) {
  const facts = [
    record.change_pct != null && pct(record.change_pct),
    record.value != null && `${record.value} ${record.unit || ""}`.trim(),
    record.note,
    record.change_pct == null && !record.note && record.direction,
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
  if (value != null) return value.toFixed(1);
  return gridQuarters.includes(quarter) ? "no data" : "no grid";
}

function pm25Section(rows, quarter, gridQuarters) {
  const head = el("tr", {}, ["Quarter", "5 km", "10 km", "Source"].map((t) => el("th", { scope: "col", text: t })));
  const body = rows.map((row) => el("tr", {
    className: row.quarter === quarter ? "current" : null,
    "aria-current": row.quarter === quarter ? "true" : null,
  }, [
    el("th", { scope: "row", text: row.quarter }),
    el("td", { text: pm25Cell(row.pm25_5km, row.quarter, gridQuarters) }),
    el("td", { text: pm25Cell(row.pm25_10km, row.quarter, gridQuarters) }),
    el("td", { text: gridQuarters.includes(row.quarter) ? shown(row.pm25_source) : "—" }),
  ]));
  const table = el("table", { className: "pm25" }, [
    el("caption", { text: "Mean PM2.5 (µg/m³) of the grid cells within 5 km and 10 km" }),
    el("thead", {}, [head]),
    el("tbody", {}, body),
  ]);
  return section("PM2.5 nearby", [table], "pm25-nearby");
}

function sourcesSection(sources) {
  const items = sources.map((s) => el("li", {}, [sourceNode(s.attribution || s.id, s.url)]));
  return section("Sources", [el("ul", { className: "records" }, items)]);
}

/** The card's sections for the selected quarter; `gridQuarters` are the quarters with a PM2.5 grid. */
export function cardSections(card, quarter, gridQuarters) {
  const province = card.location.province;
  return [
    identitySection(card),
    locationSection(card.location),
    quarterSection(card, quarter),
    violationsSection(card.violations),
    outputSection("Output change", card.output, "No output records for this plant."),
    outputSection(province ? `Output in ${province}` : "Regional output", card.regional_output,
      "No regional output records."),
    pm25Section(card.quarters, quarter, gridQuarters),
    sourcesSection(card.sources),
  ];
}

/** A list of the plants under one click; `choose(properties)` opens one. */
export function chooserList(features, choose) {
  const items = features.map((f) => {
    const p = f.properties;
    const button = el("button", { type: "button", className: "choice" }, [
      el("span", { className: "name", text: p.name_zh || p.name || p.id }),
      el("span", { className: "meta", text: [p.name_en, p.industry && p.industry.replace("_", " ")].filter(Boolean).join(" · ") }),
    ]);
    button.addEventListener("click", () => choose(p));
    return el("li", {}, [button]);
  });
  return el("ul", { className: "choices" }, items);
}
