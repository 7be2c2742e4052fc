// @ts-check
// Every registered adapter with what the store knows of it, load/unload (host-memory residency), register and remove.
// Rows are built once per adapter and updated in place; the search box only hides rows, so filtering 1,000 adapters
// touches no network and rebuilds nothing.
import { api } from './api.js';
import { h, bytes, num, say } from './dom.js';

/** @param {HTMLElement} root */
export async function adaptersPage(root) {
  const notice = h('p', { class: 'notice', role: 'status', hidden: true });
  const search = /** @type {HTMLInputElement} */ (h('input', { id: 'adapter-search', type: 'search', placeholder: 'name contains…', autocomplete: 'off' }));
  const count = h('span', { class: 'muted', id: 'adapter-count' });
  const body = h('tbody');
  const table = h('table', { class: 'grid', id: 'adapters' },
    h('thead', {}, h('tr', {}, ['Name', 'State', 'Method', 'Rank', 'Alpha', 'Targets', 'Size', 'Requests', ''].map(c => h('th', { scope: 'col' }, c)))), body);
  const register = h('form', { class: 'inline-form', id: 'adapter-register', hidden: true, onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); void add(); } },
    h('div', { class: 'field' }, h('label', { for: 'register-name' }, 'Name'), h('input', { id: 'register-name', required: true, pattern: '[A-Za-z0-9._\\-]+' })),
    h('div', { class: 'field' }, h('label', { for: 'register-path' }, 'Folder (inside the server\'s adapters folder)'), h('input', { id: 'register-path', required: true })),
    h('button', { type: 'submit' }, 'Register'));
  root.append(h('h1', {}, 'Adapters'), notice,
    h('div', { class: 'row' }, h('label', { for: 'adapter-search' }, 'Search'), search, count),
    h('div', { class: 'scroll' }, table), h('h2', {}, 'Register an adapter'), register,
    h('p', { class: 'muted', id: 'register-off' }, 'Registering at runtime needs the server to run with --adapters-dir.'));

  /** @type {Map<string, { row: HTMLTableRowElement, cells: HTMLElement[], load: HTMLButtonElement, unload: HTMLButtonElement }>} */
  const rows = new Map();

  function filter() {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const [name, r] of rows) {
      r.row.hidden = q !== '' && !name.toLowerCase().includes(q);
      if (!r.row.hidden) shown++;
    }
    count.textContent = `${shown} of ${rows.size}`;
  }
  search.addEventListener('input', filter);

  /** @param {string} name @param {'load' | 'unload'} action */
  async function act(name, action) {
    say(notice, `${action === 'load' ? 'Loading' : 'Unloading'} ${name}…`);
    try {
      const a = await api(`/scion/adapters/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
      say(notice, `${name}: ${a.state}.`, 'ok');
    } catch (e) {
      say(notice, `${name}: ${/** @type {Error} */ (e).message}`, 'error');
    }
    await refresh();
  }

  /** @param {string} name */
  async function remove(name) {
    try {
      await api('/v1/unload_lora_adapter', { method: 'POST', json: { lora_name: name } });
      say(notice, `${name} removed.`, 'ok');
    } catch (e) {
      say(notice, `${name}: ${/** @type {Error} */ (e).message}`, 'error');
    }
    await refresh();
  }

  async function add() {
    const name = /** @type {HTMLInputElement} */ (register.querySelector('#register-name')).value.trim();
    const path = /** @type {HTMLInputElement} */ (register.querySelector('#register-path')).value.trim();
    try {
      await api('/v1/load_lora_adapter', { method: 'POST', json: { lora_name: name, lora_path: path } });
      say(notice, `${name} registered and loaded.`, 'ok');
    } catch (e) {
      say(notice, `${name}: ${/** @type {Error} */ (e).message}`, 'error');
    }
    await refresh();
  }

  /** @param {any} a */
  function rowFor(a) {
    const cells = Array.from({ length: 8 }, () => h('td'));
    cells[0] = h('th', { scope: 'row' });
    const load = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'small', onclick: () => act(a.id, 'load') }, 'Load'));
    const unload = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'small', onclick: () => act(a.id, 'unload') }, 'Unload'));
    const actions = h('td', { class: 'actions' }, load, unload,
      h('a', { href: `#/chat?model=${encodeURIComponent(a.id)}`, class: 'small' }, 'Chat'),
      h('button', { type: 'button', class: 'small danger', onclick: () => remove(a.id) }, 'Remove'));
    const row = /** @type {HTMLTableRowElement} */ (h('tr', { 'data-adapter': a.id }, cells, actions));
    return { row, cells, load, unload };
  }

  async function refresh() {
    const list = await api('/scion/adapters');
    register.hidden = !list.runtime_loads;
    /** @type {HTMLElement} */ (root.querySelector('#register-off')).hidden = list.runtime_loads;
    const seen = new Set();
    for (const a of list.data) {
      seen.add(a.id);
      let r = rows.get(a.id);
      if (!r) { r = rowFor(a); rows.set(a.id, r); body.append(r.row); }
      const values = [a.id, a.state, a.method ?? '—', a.rank ?? '—', a.alpha ?? '—', a.targets ? a.targets.join(', ') : '—', bytes(a.bytes), num(a.requests)];
      values.forEach((v, i) => { if (r.cells[i].textContent !== String(v)) r.cells[i].textContent = String(v); });
      r.cells[1].className = `state ${a.state}`;
      if (a.last_error) r.cells[1].title = a.last_error; else r.cells[1].removeAttribute('title');
      r.load.disabled = a.state !== 'registered';
      r.unload.disabled = a.state !== 'loaded' || a.pins > 0;
    }
    for (const [name, r] of rows) if (!seen.has(name)) { r.row.remove(); rows.delete(name); }
    if (rows.size === 0 && !body.querySelector('.empty')) body.append(h('tr', { class: 'empty' }, h('td', { colspan: 9, class: 'muted' }, 'No adapters registered.')));
    else if (rows.size > 0) body.querySelector('.empty')?.remove();
    filter();
  }

  await refresh();
  const timer = setInterval(() => { if (!document.hidden) refresh().catch(() => {}); }, 5000);
  return () => clearInterval(timer);
}
