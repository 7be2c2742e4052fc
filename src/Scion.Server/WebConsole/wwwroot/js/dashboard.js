// @ts-check
// The server at a glance: /scion/stats (the JSON twin of /metrics) polled every second; rates are the differences of
// its counters between polls, latencies the server's percentiles over its last minute.
import { api } from './api.js';
import { h, num, seconds, bytes } from './dom.js';
import { LineChart } from './charts.js';

const KEEP = 120; // points per chart: two minutes at one poll a second

/** @param {HTMLElement} root */
export async function dashboardPage(root) {
  const cards = h('div', { class: 'cards' });
  const card = (/** @type {string} */ id, /** @type {string} */ label) => {
    const value = h('div', { class: 'value', id: `stat-${id}` }, '—');
    cards.append(h('div', { class: 'card' }, h('div', { class: 'label' }, label), value));
    return value;
  };
  const v = {
    running: card('running', 'Requests running'), waiting: card('waiting', 'Requests waiting'),
    rate: card('tokens-per-second', 'Generated tokens/s'), generated: card('generated', 'Tokens generated'),
    kv: card('kv', 'KV cache in use'), prefix: card('prefix', 'Prefix cache hit rate'),
    ttft: card('ttft', 'TTFT p50 / p99 (last min)'), itl: card('itl', 'ITL p50 / p99 (last min)'),
    finished: card('finished', 'Requests finished'), preempt: card('preemptions', 'Preemptions'),
    training: card('training', 'Training (share, time)'), adapters: card('adapters', 'Adapters resident / registered'),
  };
  const charts = {
    requests: new LineChart({ title: 'Requests', height: 160, x: ago, y: v => num(v, Number.isInteger(v) ? 0 : 1), yMin: 0 }),
    rate: new LineChart({ title: 'Generated tokens/s', height: 160, x: ago, y: v => num(v, 1), yMin: 0 }),
    kv: new LineChart({ title: 'KV cache use (%)', height: 160, x: ago, y: v => num(v, Number.isInteger(v) ? 0 : 1), yMin: 0 }),
    ttft: new LineChart({ title: 'Time to first token (s)', height: 160, x: ago, y: v => v.toPrecision(2), yMin: 0 }),
    itl: new LineChart({ title: 'Inter-token latency (s)', height: 160, x: ago, y: v => v.toPrecision(2), yMin: 0 }),
  };
  const error = h('p', { class: 'notice error', role: 'alert', hidden: true });
  root.append(h('h1', {}, 'Dashboard'), error, cards, h('div', { class: 'chart-grid' }, Object.values(charts).map(c => c.element)));

  /** @type {{ t: number, running: number, waiting: number, rate: number | null, kv: number, ttft: number | null, itl: number | null }[]} */
  const history = [];
  /** @type {any} */
  let last = null;
  let now = 0;
  /** Seconds before the newest point, for the x axis. @param {number} t */
  function ago(t) { const s = Math.round(now - t); return s <= 0 ? 'now' : `-${s}s`; }

  async function poll() {
    const s = await api('/scion/stats');
    error.hidden = true;
    const dt = last ? s.time - last.time : 0;
    const rate = last && dt > 0 ? Math.max(0, s.tokens.generated - last.tokens.generated) / dt : null;
    last = s;
    now = s.time;
    history.push({ t: s.time, running: s.requests.running, waiting: s.requests.waiting, rate, kv: s.kv_cache.usage * 100,
      ttft: s.latency.time_to_first_token.p90, itl: s.latency.inter_token.p90 });
    if (history.length > KEEP) history.shift();

    v.running.textContent = num(s.requests.running);
    v.waiting.textContent = num(s.requests.waiting);
    v.rate.textContent = rate === null ? '—' : num(rate, 1);
    v.generated.textContent = num(s.tokens.generated);
    v.kv.textContent = `${num(s.kv_cache.usage * 100, 1)}% of ${num(s.kv_cache.blocks_total)} blocks`;
    v.prefix.textContent = s.prefix_cache.query_tokens > 0 ? `${num(s.prefix_cache.hit_rate * 100, 1)}%` : '—';
    const l = s.latency;
    v.ttft.textContent = `${seconds(l.time_to_first_token.p50)} / ${seconds(l.time_to_first_token.p99)}`;
    v.itl.textContent = `${seconds(l.inter_token.p50)} / ${seconds(l.inter_token.p99)}`;
    v.finished.textContent = num(s.requests.finished);
    v.preempt.textContent = num(s.requests.preemptions);
    v.training.textContent = `${num(s.training.share * 100)}%, ${seconds(s.training.seconds)}${s.training.jobs_active ? ` · ${s.training.jobs_active} job(s)` : ''}`;
    v.adapters.textContent = s.adapters ? `${num(s.adapters.resident)} / ${num(s.adapters.registered)} (${bytes(s.adapters.resident_bytes)})` : '—';

    const series = (/** @type {string} */ key) => /** @type {[number, number][]} */ (history.filter(p => /** @type {any} */ (p)[key] !== null).map(p => [p.t, /** @type {any} */ (p)[key]]));
    charts.requests.update([{ name: 'running', points: series('running'), cls: 's1' }, { name: 'waiting', points: series('waiting'), cls: 's2' }]);
    charts.rate.update([{ name: 'tokens/s', points: series('rate'), cls: 's1' }]);
    charts.kv.update([{ name: 'KV use', points: series('kv'), cls: 's1' }]);
    charts.ttft.update([{ name: 'p90', points: series('ttft'), cls: 's1' }]);
    charts.itl.update([{ name: 'p90', points: series('itl'), cls: 's1' }]);
  }

  await poll();
  let busy = false;
  const timer = setInterval(() => {
    if (busy || document.hidden) return;
    busy = true;
    poll().catch(e => { error.textContent = `Stats unavailable: ${e.message}`; error.hidden = false; }).finally(() => { busy = false; });
  }, 1000);
  return () => clearInterval(timer);
}
