// @ts-check
// Small DOM helpers: the console builds its pages with these instead of a framework (see docs/console.md).

/**
 * Creates an element. attrs: "class", "for", "on<event>" handlers, booleans (true sets the attribute, false/null
 * leaves it out), anything else as an attribute. Children: nodes, strings (as text, never as HTML), arrays; null,
 * undefined and false are skipped.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in el) /** @type {any} */ (el).value = value;
    else if (name === 'checked' && 'checked' in el) /** @type {any} */ (el).checked = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {any[]} children */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** An SVG element (charts). @param {string} tag @param {Record<string, any>} [attrs] @returns {SVGElement} */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  return el;
}

/** @param {number | null | undefined} n */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** @param {number | null | undefined} n @param {number} [digits] */
export function num(n, digits = 0) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Seconds to a short human duration ("850 ms", "2.4 s"). @param {number | null | undefined} s */
export function seconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

/** A Unix time in seconds as local date and time. @param {number | null | undefined} t */
export function when(t) {
  if (!t) return '—';
  return new Date(t * 1000).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

/** A status line element: role=status so screen readers hear it; kind "error" styles it as one.
 * @param {HTMLElement} el @param {string} text @param {'info' | 'error' | 'ok'} [kind] */
export function say(el, text, kind = 'info') {
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = text === '';
}
