// @ts-check
// Hand-drawn SVG line charts: a few hundred points at most, redrawn whole on each update (cheap at that size, and
// no chart library to ship or keep up to date).
import { h, svg } from './dom.js';

/**
 * @typedef {{ name: string, points: [number, number][], cls: string }} Series
 * @typedef {{ title: string, height?: number, x?: (v: number) => string, y?: (v: number) => string, yMin?: number }} ChartOptions
 */

export class LineChart {
  /** @param {ChartOptions} options */
  constructor(options) {
    this.options = options;
    this.width = 600;
    this.height = options.height ?? 220;
    this.svg = /** @type {SVGSVGElement} */ (svg('svg', { viewBox: `0 0 ${this.width} ${this.height}`, class: 'chart', role: 'img', 'aria-label': options.title }));
    this.legend = h('ul', { class: 'legend' });
    this.element = h('figure', { class: 'chart-box' }, h('figcaption', {}, options.title), this.svg, this.legend);
  }

  /** @param {Series[]} series */
  update(series) {
    const o = this.options, W = this.width, H = this.height;
    const pad = { left: 56, right: 12, top: 10, bottom: 26 };
    const all = series.flatMap(s => s.points).filter(p => Number.isFinite(p[1]));
    this.svg.replaceChildren();
    this.legend.replaceChildren(...series.map(s =>
      h('li', { class: s.cls }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), `${s.name} (${s.points.length})`)));
    if (all.length === 0) {
      const t = svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' });
      t.textContent = 'no data yet';
      this.svg.append(t);
      return;
    }
    let [x0, x1] = [Math.min(...all.map(p => p[0])), Math.max(...all.map(p => p[0]))];
    let [y0, y1] = [Math.min(o.yMin ?? Infinity, ...all.map(p => p[1])), Math.max(...all.map(p => p[1]))];
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= y0 === 0 ? 0 : Math.abs(y0) * 0.1; y1 += y1 === 0 ? 1 : Math.abs(y1) * 0.1; }
    const sx = (/** @type {number} */ x) => pad.left + (x - x0) / (x1 - x0) * (W - pad.left - pad.right);
    const sy = (/** @type {number} */ y) => H - pad.bottom - (y - y0) / (y1 - y0) * (H - pad.top - pad.bottom);
    const fx = o.x ?? (v => String(Math.round(v))), fy = o.y ?? (v => v.toPrecision(3));
    // Axes with three ticks each: enough to read a trend, few enough to stay legible at 390 px.
    for (let i = 0; i <= 2; i++) {
      const yv = y0 + (y1 - y0) * i / 2, xv = x0 + (x1 - x0) * i / 2;
      this.svg.append(svg('line', { x1: pad.left, x2: W - pad.right, y1: sy(yv), y2: sy(yv), class: 'grid' }));
      const yt = svg('text', { x: pad.left - 6, y: sy(yv) + 4, 'text-anchor': 'end', class: 'tick' });
      yt.textContent = fy(yv);
      const xt = svg('text', { x: sx(xv), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === 2 ? 'end' : 'middle', class: 'tick' });
      xt.textContent = fx(xv);
      this.svg.append(yt, xt);
    }
    for (const s of series) {
      const pts = s.points.filter(p => Number.isFinite(p[1]));
      if (pts.length === 0) continue;
      this.svg.append(svg('polyline', {
        class: `line ${s.cls}`, 'data-series': s.name, 'data-points': pts.length,
        points: pts.map(p => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' '),
      }));
      if (pts.length === 1) this.svg.append(svg('circle', { cx: sx(pts[0][0]), cy: sy(pts[0][1]), r: 3, class: `dot ${s.cls}` }));
    }
  }
}
