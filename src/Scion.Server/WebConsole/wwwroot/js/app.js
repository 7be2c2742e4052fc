// @ts-check
// The console's shell: hash routing between the four pages, the API-key prompt, and the server's model in the header.
import { api, onKeyNeeded, setApiKey, apiKey } from './api.js';
import { chatPage } from './chat.js';
import { adaptersPage } from './adapters.js';
import { fineTuningPage } from './finetune.js';
import { jobPage } from './job.js';
import { dashboardPage } from './dashboard.js';
import { h } from './dom.js';

const page = /** @type {HTMLElement} */ (document.getElementById('page'));
const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('key-dialog'));
const keyInput = /** @type {HTMLInputElement} */ (document.getElementById('key-input'));
const keyMessage = /** @type {HTMLElement} */ (document.getElementById('key-message'));

/** @type {(() => void) | null} the resolve of the prompt being shown */
let keySaved = null;

/** Shows the key prompt with why it is asked; resolves once a key is entered. @param {string} message */
function askKey(message) {
  keyMessage.textContent = message;
  keyMessage.hidden = message === '';
  keyInput.value = '';
  if (!dialog.open) dialog.showModal();
  keyInput.focus();
  return new Promise(resolve => { keySaved = () => resolve(undefined); });
}

document.getElementById('key-form')?.addEventListener('submit', () => {
  setApiKey(keyInput.value.trim());
  keySaved?.();
  keySaved = null;
});
// Escape closes the dialog; without a key the page stays as it is and asks again at the next call.
dialog.addEventListener('cancel', e => { if (!apiKey()) e.preventDefault(); });
document.getElementById('change-key')?.addEventListener('click', () => { void askKey(''); });
onKeyNeeded(askKey);

/** @type {(() => void) | null} stops the current page's timers and requests */
let leave = null;

/** @typedef {{ path: string[], query: URLSearchParams }} Route */

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query ?? '') };
}

async function show() {
  leave?.();
  leave = null;
  const r = route();
  const name = r.path[0] ?? 'chat';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('data-page') === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const content = h('div', { class: `page page-${name}` });
  page.replaceChildren(content);
  try {
    if (name === 'chat') leave = await chatPage(content, r.query);
    else if (name === 'adapters') leave = await adaptersPage(content);
    else if (name === 'fine-tuning' && r.path[1]) leave = await jobPage(content, r.path[1]);
    else if (name === 'fine-tuning') leave = await fineTuningPage(content);
    else if (name === 'dashboard') leave = await dashboardPage(content);
    else content.append(h('p', { class: 'notice error' }, `No page '${name}'.`));
  } catch (e) {
    content.append(h('p', { class: 'notice error', role: 'alert' }, `Could not load this page: ${/** @type {Error} */ (e).message}`));
  }
}

async function header() {
  try {
    const models = await api('/v1/models');
    const base = models.data.find((/** @type {any} */ m) => m.parent === null);
    const label = document.getElementById('server-model');
    if (label && base) label.textContent = `${base.id} · context ${base.max_model_len}`;
  } catch { /* the page shows its own error */ }
}

window.addEventListener('hashchange', () => { void show(); });
void header();
void show();
