// Periods of the map, mirroring lantian/layers/periods.py: a month `2019-01`, a quarter `2019Q1`
// or a year `2019`. The granularity switch runs the slider over one type; the plants, whose
// facts are quarterly, follow the quarter that holds the shown period (a year: its last quarter,
// whose 12-month window is the year itself).

export const PERIOD_TYPES = ["month", "quarter", "year"];
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const QUARTER = /^(\d{4})Q([1-4])$/;
const YEAR = /^(\d{4})$/;

/** "month", "quarter" or "year"; null for anything else. */
export function periodType(label) {
  const text = String(label ?? "");
  if (MONTH.test(text)) return "month";
  if (QUARTER.test(text)) return "quarter";
  if (YEAR.test(text)) return "year";
  return null;
}

/** The months the period covers as [first, end) in months since year 0. */
export function monthSpan(label) {
  const text = String(label);
  let match = MONTH.exec(text);
  if (match) {
    const start = Number(match[1]) * 12 + Number(match[2]) - 1;
    return [start, start + 1];
  }
  match = QUARTER.exec(text);
  if (match) {
    const start = Number(match[1]) * 12 + (Number(match[2]) - 1) * 3;
    return [start, start + 3];
  }
  match = YEAR.exec(text);
  if (match) return [Number(match[1]) * 12, Number(match[1]) * 12 + 12];
  return null;
}

function quarterOf(monthIndex) {
  return `${Math.floor(monthIndex / 12)}Q${Math.floor((monthIndex % 12) / 3) + 1}`;
}

/** The quarter whose plant facts go with `label`: the quarter itself, a month's quarter, or a
 * year's last quarter in `timeline` (its Q4 when the timeline has none of the year). */
export function plantQuarter(label, timeline = []) {
  const span = monthSpan(label);
  if (!span) return label;
  if (periodType(label) !== "year") return quarterOf(span[0]);
  const inYear = timeline.filter((q) => periodType(q) === "quarter" && monthSpan(q)[0] >= span[0] && monthSpan(q)[1] <= span[1]);
  return inYear.length ? inYear.at(-1) : quarterOf(span[1] - 1);
}

/** The label of `labels` to show after switching from `label`: `remembered` if it overlaps
 * `label`, else the first of `labels` that overlaps it, else the one starting nearest. */
export function matchingPeriod(label, labels, remembered = null) {
  if (!labels.length) return null;
  const span = monthSpan(label);
  if (!span) return labels[0];
  const overlaps = (other) => {
    const s = monthSpan(other);
    return s && s[0] < span[1] && span[0] < s[1];
  };
  if (remembered && labels.includes(remembered) && overlaps(remembered)) return remembered;
  const overlapping = labels.find(overlaps);
  if (overlapping) return overlapping;
  const distance = (other) => Math.abs(monthSpan(other)[0] - span[0]);
  return labels.reduce((best, other) => (distance(other) < distance(best) ? other : best));
}

/** The release's periods by type; a release from before months and years has its quarters. */
export function releasePeriods(release) {
  const raw = release.periods || {};
  const out = {};
  for (const kind of PERIOD_TYPES) out[kind] = Array.isArray(raw[kind]) ? [...raw[kind]] : [];
  if (!out.quarter.length) out.quarter = [...(release.quarters || [])];
  return out;
}
