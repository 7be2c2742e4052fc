// @ts-check
// The chat playground: streams /v1/chat/completions token by token into one pane, or the same prompt into two
// panes with different models (base vs adapter). Conversations and settings live in localStorage across reloads.
import { api, stream, ApiError } from './api.js';
import { h, num, seconds } from './dom.js';

const STORE = 'scion.chat.v1';

/**
 * @typedef {{ role: 'user' | 'assistant', content: string, stats?: string, error?: string }} Message
 * @typedef {{ model: string, messages: Message[] }} Pane
 * @typedef {{ system: string, temperature: string, top_p: string, max_tokens: string, seed: string, sideBySide: boolean, panes: Pane[] }} ChatState
 */

/** @returns {ChatState} */
function load() {
  /** @type {ChatState} */
  const fresh = { system: '', temperature: '0.8', top_p: '0.95', max_tokens: '', seed: '', sideBySide: false, panes: [{ model: '', messages: [] }, { model: '', messages: [] }] };
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) ?? 'null');
    if (saved && Array.isArray(saved.panes) && saved.panes.length === 2) return { ...fresh, ...saved };
  } catch { /* a damaged entry starts afresh */ }
  return fresh;
}

/** @param {ChatState} state */
function save(state) { localStorage.setItem(STORE, JSON.stringify(state)); }

/** @param {HTMLElement} root @param {URLSearchParams} query */
export async function chatPage(root, query) {
  const state = load();
  const models = (await api('/v1/models')).data.map((/** @type {any} */ m) => m.id);
  const wanted = query.get('model');
  if (wanted && models.includes(wanted)) state.panes[0].model = wanted;
  for (const p of state.panes) if (!models.includes(p.model)) p.model = models[0];
  if (!models.includes(state.panes[1].model) || state.panes[1].model === state.panes[0].model) state.panes[1].model = models.find((/** @type {string} */ m) => m !== state.panes[0].model) ?? models[0];

  /** @type {AbortController[]} */
  let running = [];

  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {Record<string, any>} */ attrs) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, ...attrs }));
  const system = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'chat-system', rows: 3, placeholder: 'optional' }));
  system.value = state.system;
  const settings = h('form', { class: 'settings', 'aria-label': 'Sampling settings', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: 'chat-system' }, 'System prompt'), system),
    field('chat-temperature', 'Temperature', { type: 'number', min: 0, max: 2, step: 0.05, value: state.temperature }),
    field('chat-top-p', 'Top-p', { type: 'number', min: 0, max: 1, step: 0.01, value: state.top_p }),
    field('chat-max-tokens', 'Max tokens', { type: 'number', min: 1, step: 1, value: state.max_tokens, placeholder: 'up to the context' }),
    field('chat-seed', 'Seed', { type: 'number', min: 0, step: 1, value: state.seed, placeholder: 'random' }),
    h('div', { class: 'field check' }, h('input', { id: 'chat-side', type: 'checkbox', checked: state.sideBySide }), h('label', { for: 'chat-side' }, 'Side by side (two models, one prompt)')),
  );
  const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (settings.querySelector(`#${id}`));
  settings.addEventListener('input', () => {
    state.system = system.value;
    state.temperature = input('chat-temperature').value;
    state.top_p = input('chat-top-p').value;
    state.max_tokens = input('chat-max-tokens').value;
    state.seed = input('chat-seed').value;
    state.sideBySide = input('chat-side').checked;
    panesEl.classList.toggle('two', state.sideBySide);
    paneEls[1].hidden = !state.sideBySide;
    save(state);
  });

  const paneEls = state.panes.map((pane, i) => {
    const select = h('select', { id: `chat-model-${i}`, onchange: (/** @type {Event} */ e) => { pane.model = /** @type {HTMLSelectElement} */ (e.target).value; save(state); } },
      models.map((/** @type {string} */ m) => h('option', { value: m, selected: m === pane.model }, m)));
    const log = h('ol', { class: 'messages', 'aria-live': 'polite', 'aria-label': `Conversation ${i + 1}` });
    const el = h('section', { class: 'pane', 'data-pane': i },
      h('div', { class: 'pane-head' }, h('label', { for: `chat-model-${i}` }, i === 0 ? 'Model' : 'Second model'), select), log);
    return Object.assign(el, { log });
  });
  const panesEl = h('div', { class: `panes${state.sideBySide ? ' two' : ''}` }, paneEls);
  paneEls[1].hidden = !state.sideBySide;

  const prompt = /** @type {HTMLTextAreaElement} */ (h('textarea', { id: 'chat-input', rows: 3, placeholder: 'Message (Enter sends, Shift+Enter for a new line)' }));
  const send = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'primary', id: 'chat-send' }, 'Send'));
  const stop = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', id: 'chat-stop', disabled: true, onclick: () => running.forEach(c => c.abort()) }, 'Stop'));
  const clear = h('button', { type: 'button', id: 'chat-clear', onclick: () => {
    running.forEach(c => c.abort());
    for (const p of state.panes) p.messages = [];
    save(state);
    render();
  } }, 'Clear');
  const composer = /** @type {HTMLFormElement} */ (h('form', { class: 'composer', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); void submit(); } },
    h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Message'), prompt, h('div', { class: 'row' }, send, stop, clear)));
  prompt.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
  });

  root.append(h('h1', { class: 'visually-hidden' }, 'Chat'), h('div', { class: 'chat' }, settings, h('div', { class: 'conversation' }, panesEl, composer)));

  /** @param {Message} m */
  function messageEl(m) {
    return h('li', { class: `msg ${m.role}${m.error ? ' failed' : ''}` },
      h('div', { class: 'who' }, m.role === 'user' ? 'You' : 'Assistant'),
      h('div', { class: 'text' }, m.content),
      m.error ? h('div', { class: 'notice error', role: 'alert' }, m.error) : null,
      m.stats ? h('div', { class: 'stats' }, m.stats) : null);
  }

  function render() {
    state.panes.forEach((p, i) => {
      paneEls[i].log.replaceChildren(...p.messages.map(messageEl));
      if (p.messages.length === 0) paneEls[i].log.append(h('li', { class: 'muted empty' }, `Say something to ${p.model}.`));
    });
  }
  render();

  async function submit() {
    const text = prompt.value.trim();
    if (!text || running.length > 0) return;
    prompt.value = '';
    const active = state.sideBySide ? state.panes : [state.panes[0]];
    send.disabled = true;
    stop.disabled = false;
    running = active.map(() => new AbortController());
    await Promise.all(active.map((pane, i) => reply(pane, paneEls[state.panes.indexOf(pane)], text, running[i])));
    running = [];
    send.disabled = false;
    stop.disabled = true;
    save(state);
    prompt.focus();
  }

  /** @param {Pane} pane @param {HTMLElement & { log: HTMLElement }} el @param {string} text @param {AbortController} abort */
  async function reply(pane, el, text, abort) {
    pane.messages.push({ role: 'user', content: text });
    const history = [...(state.system.trim() ? [{ role: 'system', content: state.system }] : []),
      ...pane.messages.filter(m => !m.error).map(m => ({ role: m.role, content: m.content }))];
    /** @type {Message} */
    const answer = { role: 'assistant', content: '' };
    pane.messages.push(answer);
    el.log.querySelector('.empty')?.remove();
    el.log.append(messageEl(pane.messages[pane.messages.length - 2]));
    const li = messageEl(answer);
    li.classList.add('streaming');
    el.log.append(li);
    const textEl = /** @type {HTMLElement} */ (li.querySelector('.text'));
    /** @type {Record<string, any>} */
    const body = { model: pane.model, messages: history, stream: true, stream_options: { include_usage: true } };
    const number = (/** @type {string} */ s) => (s.trim() === '' ? undefined : Number(s));
    for (const [k, v] of [['temperature', state.temperature], ['top_p', state.top_p], ['max_tokens', state.max_tokens], ['seed', state.seed]]) {
      const n = number(v);
      if (n !== undefined && Number.isFinite(n)) body[k] = n;
    }
    const start = performance.now();
    let first = 0, chunks = 0, tokens = 0, finish = '';
    try {
      for await (const chunk of stream('/v1/chat/completions', body, abort.signal)) {
        const choice = chunk.choices?.[0];
        const delta = choice?.delta?.content;
        if (delta) {
          if (!first) first = performance.now();
          chunks++;
          answer.content += delta;
          textEl.textContent = answer.content;
          li.scrollIntoView({ block: 'nearest' });
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
    } catch (e) {
      if (abort.signal.aborted) finish = 'stopped';
      else answer.error = e instanceof ApiError ? `${e.status}: ${e.message}` : `${/** @type {Error} */ (e).message}`;
    }
    const end = performance.now();
    tokens ||= chunks;
    // Decode speed over the tokens after the first (the first one's wait is the TTFT shown beside it).
    const rate = first && tokens > 1 && end > first ? (tokens - 1) / ((end - first) / 1000) : null;
    answer.stats = `${num(tokens)} tokens · ${rate === null ? '—' : num(rate, 1)} tok/s · TTFT ${first ? seconds((first - start) / 1000) : '—'}${finish ? ` · ${finish}` : ''}`;
    li.replaceWith(messageEl(answer));
  }

  return () => running.forEach(c => c.abort());
}
