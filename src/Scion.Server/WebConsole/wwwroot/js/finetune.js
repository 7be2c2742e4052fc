// @ts-check
// Fine-tuning: upload and check a JSONL file, create a job with the common options, and the jobs table.
import { api, listAll } from './api.js';
import { h, bytes, num, when, say } from './dom.js';

export const FINAL = ['succeeded', 'failed', 'cancelled'];

/** @param {string} status */
export function badge(status) { return h('span', { class: `badge ${status}` }, status.replaceAll('_', ' ')); }

/** @param {HTMLElement} root */
export async function fineTuningPage(root) {
  const uploadNotice = h('p', { class: 'notice', role: 'status', hidden: true, id: 'upload-notice' });
  const jobNotice = h('p', { class: 'notice', role: 'status', hidden: true, id: 'job-notice' });
  const fileInput = /** @type {HTMLInputElement} */ (h('input', { id: 'upload-file', type: 'file', accept: '.jsonl,.json,.txt,application/jsonl', required: true }));
  const upload = h('form', { class: 'inline-form', id: 'upload-form', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); void send(); } },
    h('div', { class: 'field' }, h('label', { for: 'upload-file' }, 'Training data (JSONL: text, prompt/completion or messages per line)'), fileInput),
    h('button', { type: 'submit', class: 'primary' }, 'Upload'));
  const filesBody = h('tbody');
  const jobsBody = h('tbody');

  const models = (await api('/v1/models')).data.map((/** @type {any} */ m) => m.id);
  const opt = (/** @type {string} */ v, /** @type {string} */ label) => h('option', { value: v }, label);
  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {HTMLElement} */ control) => h('div', { class: 'field' }, h('label', { for: id }, label), control);
  const trainSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'job-training-file', required: true }));
  const validSelect = /** @type {HTMLSelectElement} */ (h('select', { id: 'job-validation-file' }));
  const create = h('form', { class: 'grid-form', id: 'job-form', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); void start(); } },
    field('job-model', 'Base model (or an adapter to continue)', h('select', { id: 'job-model' }, models.map((/** @type {string} */ m) => opt(m, m)))),
    field('job-training-file', 'Training file', trainSelect),
    field('job-validation-file', 'Validation file', validSelect),
    field('job-suffix', 'Suffix', h('input', { id: 'job-suffix', placeholder: 'my-adapter', pattern: '[A-Za-z0-9_\\-]{1,64}' })),
    field('job-epochs', 'Epochs', h('input', { id: 'job-epochs', placeholder: 'auto' })),
    field('job-batch', 'Batch size', h('input', { id: 'job-batch', placeholder: 'auto' })),
    field('job-lr', 'Learning-rate multiplier', h('input', { id: 'job-lr', placeholder: 'auto' })),
    field('job-seed', 'Seed', h('input', { id: 'job-seed', type: 'number', min: 0, step: 1, value: 42 })),
    field('job-method', 'Method', h('select', { id: 'job-method' }, opt('lora', 'LoRA'), opt('pissa', 'PiSSA'), opt('dora', 'DoRA'))),
    field('job-rank', 'Rank', h('input', { id: 'job-rank', type: 'number', min: 1, step: 1, value: 8 })),
    field('job-alpha', 'Alpha', h('input', { id: 'job-alpha', type: 'number', min: 0, step: 'any', placeholder: '2 × rank' })),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', id: 'job-create' }, 'Create job')));

  root.append(h('h1', {}, 'Fine-tuning'),
    h('section', {}, h('h2', {}, 'Upload a training file'), upload, uploadNotice),
    h('section', {}, h('h2', {}, 'Files'), h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'files' },
      h('thead', {}, h('tr', {}, ['File', 'Id', 'Size', 'Uploaded', ''].map(c => h('th', { scope: 'col' }, c)))), filesBody))),
    h('section', {}, h('h2', {}, 'New job'), create, jobNotice),
    h('section', {}, h('h2', {}, 'Jobs'), h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'jobs' },
      h('thead', {}, h('tr', {}, ['Job', 'Model', 'Status', 'Fine-tuned model', 'Created', 'Trained tokens'].map(c => h('th', { scope: 'col' }, c)))), jobsBody))));

  const value = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (root.querySelector(`#${id}`)).value.trim();

  async function send() {
    const file = fileInput.files?.[0];
    if (!file) return;
    say(uploadNotice, `Uploading ${file.name}…`);
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', file, file.name);
    /** @type {any} */
    let stored;
    try {
      stored = await api('/v1/files', { method: 'POST', body: form });
    } catch (e) {
      say(uploadNotice, `Upload refused: ${/** @type {Error} */ (e).message}`, 'error');
      return;
    }
    // Read it as a job would, now, so a bad line is shown here rather than as a failed job later.
    try {
      const check = await api(`/scion/files/${stored.id}/check`, { method: 'POST' });
      say(uploadNotice, `${stored.filename} uploaded as ${stored.id}: ${num(check.examples)} examples, ${num(check.tokens)} tokens (${num(check.target_tokens)} trained on).`, 'ok');
    } catch (e) {
      await api(`/v1/files/${stored.id}`, { method: 'DELETE' }).catch(() => {});
      say(uploadNotice, `${/** @type {Error} */ (e).message} — the file was not kept; fix it and upload again.`, 'error');
    }
    fileInput.value = '';
    await refreshFiles(stored.id);
  }

  /** "auto" or empty → "auto"; else the number. @param {string} v */
  const auto = v => (v === '' || v === 'auto' ? 'auto' : Number(v));

  async function start() {
    /** @type {Record<string, any>} */
    const scion = { method: value('job-method'), rank: Number(value('job-rank')) };
    if (value('job-alpha') !== '') scion.alpha = Number(value('job-alpha'));
    /** @type {Record<string, any>} */
    const body = {
      model: value('job-model'), training_file: trainSelect.value, seed: Number(value('job-seed') || 42),
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: auto(value('job-epochs')), batch_size: auto(value('job-batch')), learning_rate_multiplier: auto(value('job-lr')) } } },
      scion,
    };
    if (validSelect.value) body.validation_file = validSelect.value;
    if (value('job-suffix')) body.suffix = value('job-suffix');
    try {
      const job = await api('/v1/fine_tuning/jobs', { method: 'POST', json: body });
      location.hash = `#/fine-tuning/${job.id}`;
    } catch (e) {
      const err = /** @type {any} */ (e);
      say(jobNotice, `${err.param ? `${err.param}: ` : ''}${err.message}`.replace(/^(\S+): \1: /, '$1: '), 'error');
    }
  }

  /** @param {string} [select] a file id to select in the training picker */
  async function refreshFiles(select) {
    const files = await listAll('/v1/files?purpose=fine-tune', 10);
    filesBody.replaceChildren(...files.map((/** @type {any} */ f) => h('tr', { 'data-file': f.id },
      h('th', { scope: 'row' }, f.filename), h('td', { class: 'mono' }, f.id), h('td', {}, bytes(f.bytes)), h('td', {}, when(f.created_at)),
      h('td', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', onclick: async () => {
        await api(`/v1/files/${f.id}`, { method: 'DELETE' }).catch(e => say(uploadNotice, e.message, 'error'));
        await refreshFiles();
      } }, 'Delete')))));
    if (files.length === 0) filesBody.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No files yet.')));
    const keep = select ?? trainSelect.value, keepValid = validSelect.value;
    trainSelect.replaceChildren(...files.map((/** @type {any} */ f) => h('option', { value: f.id, selected: f.id === keep }, `${f.filename} (${f.id})`)));
    validSelect.replaceChildren(h('option', { value: '' }, 'none'), ...files.map((/** @type {any} */ f) => h('option', { value: f.id, selected: f.id === keepValid }, `${f.filename} (${f.id})`)));
  }

  async function refreshJobs() {
    const page = await api('/v1/fine_tuning/jobs?limit=50');
    jobsBody.replaceChildren(...page.data.map((/** @type {any} */ j) => h('tr', { 'data-job': j.id },
      h('th', { scope: 'row' }, h('a', { href: `#/fine-tuning/${j.id}`, class: 'mono' }, j.id)), h('td', {}, j.model), h('td', {}, badge(j.status)),
      h('td', { class: 'mono' }, j.fine_tuned_model ?? '—'), h('td', {}, when(j.created_at)), h('td', {}, num(j.trained_tokens)))));
    if (page.data.length === 0) jobsBody.append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No jobs yet.')));
    return page.data.some((/** @type {any} */ j) => !FINAL.includes(j.status));
  }

  await Promise.all([refreshFiles(), refreshJobs()]);
  const timer = setInterval(() => { if (!document.hidden) refreshJobs().catch(() => {}); }, 2000);
  return () => clearInterval(timer);
}
