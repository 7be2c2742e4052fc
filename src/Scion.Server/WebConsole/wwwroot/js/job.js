// @ts-check
// One fine-tuning job: status, settings, a live loss curve (train and validation loss against step, from the job's
// metrics events), events, checkpoints, cancel, and links to chat with the adapter.
import { api } from './api.js';
import { h, num, when, say } from './dom.js';
import { LineChart } from './charts.js';
import { FINAL, badge } from './finetune.js';

/** @param {HTMLElement} root @param {string} id */
export async function jobPage(root, id) {
  const notice = h('p', { class: 'notice', role: 'status', hidden: true });
  const head = h('div', { class: 'job-head' });
  const details = h('dl', { class: 'details' });
  const chart = new LineChart({ title: 'Loss', height: 240, y: v => v.toFixed(2) });
  chart.element.id = 'loss-chart';
  const eventsList = h('ol', { class: 'events', id: 'events' });
  const checkpointsBody = h('tbody');
  root.append(h('p', {}, h('a', { href: '#/fine-tuning' }, '← All jobs')), head, notice, h('div', { class: 'two-col' },
    h('section', {}, chart.element, h('h2', {}, 'Checkpoints'), h('div', { class: 'scroll' }, h('table', { class: 'grid', id: 'checkpoints' },
      h('thead', {}, h('tr', {}, ['Step', 'Model', 'Train loss', 'Valid loss', ''].map(c => h('th', { scope: 'col' }, c)))), checkpointsBody))),
    h('section', {}, h('h2', {}, 'Details'), details, h('h2', {}, 'Events'), eventsList)));

  /** @type {Map<string, any>} every event seen, by id */
  const events = new Map();
  /** @type {any[]} the same, newest first (the server's order) */
  let ordered = [];
  /** @type {Map<number, number>} */ const train = new Map();
  /** @type {Map<number, number>} */ const valid = new Map();

  /** New events: pages newest first, until one already seen (or the start of the job). */
  async function pollEvents() {
    let after = null;
    const fresh = [];
    for (let i = 0; i < 100; i++) {
      const page = await api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=100${after ? `&after=${after}` : ''}`);
      let known = false;
      for (const e of page.data) {
        if (events.has(e.id)) { known = true; break; }
        events.set(e.id, e);
        fresh.push(e);
        const d = e.data ?? {};
        if (e.type === 'metrics' && typeof d.step === 'number') {
          if (typeof d.train_loss === 'number') train.set(d.step, d.train_loss);
          if (typeof d.valid_loss === 'number') valid.set(d.step, d.valid_loss);
        }
      }
      if (known || !page.has_more || page.data.length === 0) break;
      after = page.data[page.data.length - 1].id;
    }
    const sorted = (/** @type {Map<number, number>} */ m) => /** @type {[number, number][]} */ ([...m.entries()].sort((a, b) => a[0] - b[0]));
    chart.update([{ name: 'train loss', points: sorted(train), cls: 's1' }, { name: 'validation loss', points: sorted(valid), cls: 's2' }]);
    ordered = [...fresh, ...ordered];
    eventsList.replaceChildren(...ordered.slice(0, 200).map(e => h('li', { class: `event ${e.level}` }, h('time', {}, when(e.created_at)), ' ', e.message)));
  }

  async function pollCheckpoints() {
    const page = await api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/checkpoints?limit=100`);
    checkpointsBody.replaceChildren(...page.data.map((/** @type {any} */ c) => h('tr', {},
      h('td', {}, num(c.step_number)), h('td', { class: 'mono' }, c.fine_tuned_model_checkpoint),
      h('td', {}, c.metrics.train_loss?.toFixed(4) ?? '—'), h('td', {}, c.metrics.valid_loss?.toFixed(4) ?? '—'),
      h('td', {}, h('a', { href: `#/chat?model=${encodeURIComponent(c.fine_tuned_model_checkpoint)}` }, 'Chat')))));
    if (page.data.length === 0) checkpointsBody.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No checkpoints yet.')));
  }

  /** @param {any} job */
  function showJob(job) {
    const final = FINAL.includes(job.status);
    const cancel = h('button', { type: 'button', class: 'danger', id: 'job-cancel', onclick: async () => {
      try { showJob(await api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' })); } catch (e) { say(notice, /** @type {Error} */ (e).message, 'error'); }
    } }, 'Cancel job');
    head.replaceChildren(...[h('h1', { class: 'mono' }, job.id), badge(job.status),
      final ? null : cancel,
      job.fine_tuned_model ? h('a', { class: 'button primary', id: 'job-chat', href: `#/chat?model=${encodeURIComponent(job.fine_tuned_model)}` }, 'Chat with this adapter') : null]
      .filter(e => e !== null));
    const hp = job.method?.supervised?.hyperparameters ?? {};
    const s = job.scion ?? {};
    /** @type {[string, any][]} */
    const rows = [
      ['Base model', job.model], ['Fine-tuned model', job.fine_tuned_model ?? '—'], ['Training file', job.training_file],
      ['Validation file', job.validation_file ?? '—'], ['Epochs', hp.n_epochs], ['Batch size', hp.batch_size],
      ['Learning-rate multiplier', hp.learning_rate_multiplier], ['Method', `${s.method ?? 'lora'}, rank ${s.rank ?? '—'}, alpha ${s.alpha ?? '—'}`],
      ['Seed', job.seed], ['Trained tokens', num(job.trained_tokens)], ['Created', when(job.created_at)], ['Finished', when(job.finished_at)],
    ];
    details.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '—'))]));
    if (job.error) say(notice, `${job.error.code}: ${job.error.message}`, 'error');
    return final;
  }

  let done = false;
  async function poll() {
    const job = await api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
    const final = showJob(job);
    await Promise.all([pollEvents(), pollCheckpoints()]);
    done = final;
  }

  await poll();
  let busy = false;
  const timer = setInterval(() => {
    if (done || busy || document.hidden) return;
    busy = true;
    poll().catch(e => say(notice, e.message, 'error')).finally(() => { busy = false; });
  }, 1000);
  return () => clearInterval(timer);
}
