// Small DOM and fetch helpers. Text from data only ever goes through textContent or attributes.
import { t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.setAttribute("class", value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child != null && child !== false) node.append(child);
  return node;
}

/** An HTML element; `text` becomes textContent, other props become attributes. */
export function el(tag, props = {}, children = []) {
  return fill(document.createElement(tag), props, children);
}

/** An SVG element, same conventions as el(). */
export function svg(tag, props = {}, children = []) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

/** HTML-escaped text, for the one API that takes HTML (MapLibre's custom attribution). */
export function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = String(text);
  return div.innerHTML;
}

/** The release pinned by the page's own `?release=<id>`, or null for the current release. */
export const PINNED_RELEASE = new URLSearchParams(location.search).get("release");

/** `url` with `release=<pinned id>` added when it is a path on this server and the page is pinned. */
export function pinned(url) {
  if (!PINNED_RELEASE || !url.startsWith("/") || url.startsWith("//")) return url;
  const target = new URL(url, location.origin);
  if (!target.searchParams.has("release")) target.searchParams.set("release", PINNED_RELEASE);
  return `${target.pathname}${target.search}${target.hash}`;
}

/** JSON of a GET; paths on this server ask the pinned release, if any. */
export async function getJson(url, options = {}) {
  const response = await fetch(pinned(url), options);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** True for an http(s) URL, the only kind turned into a link. */
export function isHttpUrl(text) {
  return typeof text === "string" && /^https?:\/\/\S+$/i.test(text);
}

/** A link to `url` opening in a new tab without giving it access to this page. */
export function externalLink(url, text) {
  return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: text || url });
}

/** A citation: a link when a URL is known (labelled with the source text or the host), else the text. */
export function sourceNode(source, url) {
  const link = isHttpUrl(url) ? url : isHttpUrl(source) ? source : null;
  if (!link) return el("span", { className: "src", text: source || t("card.source_unknown") });
  const label = source && source !== link ? source : new URL(link).host;
  return el("span", { className: "src" }, [externalLink(link, label)]);
}

/** `fn` delayed until `ms` have passed without another call. */
/** Show ``href`` in the read-only ``field``, selected, and copy it; ``status`` says which. */
export async function offerLink(field, status, href, messages) {
  field.value = href;
  field.hidden = false;
  field.select();
  try {
    await navigator.clipboard.writeText(href);
    status.textContent = messages.copied;
  } catch (error) {
    status.textContent = messages.manual;
  }
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
