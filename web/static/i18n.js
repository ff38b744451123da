// The page's language: the message catalogue (/i18n/{lang}.json, flat dotted keys, {name}
// placeholders, plurals as {"one", "other"}) and the formatters of numbers, dates and periods
// inside sentences, mirroring lantian/i18n/__init__.py. Texts in index.html name their key in
// data-i18n (textContent) or data-i18n-<attribute> (e.g. data-i18n-aria-label).

const LANGS = ["zh", "en"];
const FALLBACK = "en";
const HTML_LANG = { zh: "zh-CN", en: "en" };
const ZH_QUARTERS = ["一", "二", "三", "四"];
const EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

let current = FALLBACK;
let messages = {};

/** `zh`, `zh-CN`, `zh-Hant`, `en-GB` → the catalogue's language; others → null. */
function parseLang(text) {
  const primary = String(text || "").trim().toLowerCase().replace("_", "-").split("-")[0];
  return LANGS.includes(primary) ? primary : null;
}

/** `?lang=` of the page, else the first zh* or en* of the browser's languages, else English. */
export function chooseLang(search = location.search, languages = navigator.languages || [navigator.language]) {
  const asked = parseLang(new URLSearchParams(search).get("lang"));
  if (asked) return asked;
  for (const tag of languages) {
    const lang = parseLang(tag);
    if (lang) return lang;
  }
  return FALLBACK;
}

/** Load the catalogue of `lang` (from `fetchJson(url)`) and make it the page's language. */
export async function setLang(lang, fetchJson) {
  messages = await fetchJson(`/i18n/${lang}.json`);
  current = lang;
  document.documentElement.lang = HTML_LANG[lang];
}

/** The page's language: "zh" or "en". */
export function lang() {
  return current;
}

function fill(text, params) {
  return String(text).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The message `key` with its {placeholders} filled in; the key itself when the catalogue lacks it. */
export function t(key, params = {}) {
  const text = messages[key];
  if (text == null || typeof text === "object") {
    console.warn(`i18n: no message ${key} in ${current}`);
    return key;
  }
  return fill(text, params);
}

/** True when the catalogue has the (plain) message `key`. */
export function has(key) {
  return typeof messages[key] === "string";
}

/** `key` for a data value when the catalogue has one, else the value itself (e.g. industries). */
export function tValue(prefix, value) {
  if (value == null || value === "") return "";
  const key = `${prefix}.${value}`;
  return has(key) ? messages[key] : String(value).replaceAll("_", " ");
}

/** The plural message `key` for count `n` ("one" for 1 when the language has it, else "other"). */
export function plural(key, n, params = {}) {
  const forms = messages[key];
  if (!forms || typeof forms !== "object") {
    console.warn(`i18n: no plural message ${key} in ${current}`);
    return `${n} ${key}`;
  }
  const form = n === 1 && "one" in forms ? "one" : "other";
  return fill(forms[form], { ...params, n: formatNumber(n) });
}

/** `1234.5` → `1,234.5` (both languages group thousands with commas). */
export function formatNumber(value, digits = 0) {
  return Number(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A signed percentage: `+12.5 %` / `+12.5%`. */
export function formatPct(value) {
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  return `${sign}${formatNumber(Math.abs(value), 1)}${current === "zh" ? "%" : " %"}`;
}

/** `2019Q1` → `2019 Q1` / `2019年第一季度`; `2019-01` → `January 2019` / `2019年1月`; `2019` →
 * `2019` / `2019年`; others unchanged. */
export function formatPeriod(period) {
  const text = String(period ?? "");
  const quarter = /^(\d{4})Q([1-4])$/.exec(text);
  if (quarter) {
    const q = Number(quarter[2]);
    return current === "zh" ? `${quarter[1]}年第${ZH_QUARTERS[q - 1]}季度` : `${quarter[1]} Q${q}`;
  }
  const month = /^(\d{4})-(\d{2})$/.exec(text);
  if (month) {
    const m = Number(month[2]);
    return current === "zh" ? `${month[1]}年${m}月` : `${EN_MONTHS[m - 1]} ${month[1]}`;
  }
  if (/^\d{4}$/.test(text)) return current === "zh" ? `${text}年` : text;
  return text;
}

/** A month's short name for a chart's axis: `2019-01` → `Jan` / `1月`. */
export function shortMonth(period) {
  const month = /^\d{4}-(\d{2})$/.exec(String(period ?? ""));
  if (!month) return String(period ?? "");
  const m = Number(month[1]);
  return current === "zh" ? `${m}月` : EN_MONTHS[m - 1].slice(0, 3);
}

/** `2026-12-03` → `3 December 2026` / `2026年12月3日`; other text unchanged. */
export function formatDate(iso) {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso ?? ""));
  if (!day) return formatPeriod(iso);
  const [y, m, d] = [day[1], Number(day[2]), Number(day[3])];
  return current === "zh" ? `${y}年${m}月${d}日` : `${d} ${EN_MONTHS[m - 1]} ${y}`;
}

/** A place or plant name in the page's language, falling back to the other language. */
export function placeName(nameZh, nameEn) {
  const [first, second] = current === "zh" ? [nameZh, nameEn] : [nameEn, nameZh];
  return String(first || second || "").trim();
}

/** A province's name in the page's language: the catalogue's `place.province.<full Chinese
 * name>` (河北省, or its short form 河北), else the name itself. */
export function provinceName(name) {
  if (!name) return "";
  const prefix = "place.province.";
  const key = has(prefix + name) ? prefix + name : Object.keys(messages).find((k) => k.startsWith(prefix + name));
  return key ? messages[key] : name;
}

/** Fill every [data-i18n] text and [data-i18n-<attribute>] attribute under `root`. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("*")) {
    for (const { name, value } of [...node.attributes]) {
      if (name.startsWith("data-i18n-")) node.setAttribute(name.slice("data-i18n-".length), t(value));
    }
  }
}
