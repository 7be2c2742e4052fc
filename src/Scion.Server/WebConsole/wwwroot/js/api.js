// @ts-check
// Every call the console makes goes through api(): it adds the API key (kept in sessionStorage, so it lasts the
// browser session and no longer), turns OpenAI error objects into ApiError, and on 401 asks for a key and retries.

const KEY = 'scion.apiKey';

export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {string | null} [param] @param {string | null} [code] */
  constructor(status, message, param = null, code = null) {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

/** @type {((message: string) => Promise<void>) | null} */
let askForKey = null;
/** @type {Promise<void> | null} */
let asking = null;

/** Sets the function that shows the key prompt and resolves once a key was saved. @param {(message: string) => Promise<void>} fn */
export function onKeyNeeded(fn) { askForKey = fn; }

export function apiKey() { return sessionStorage.getItem(KEY); }
/** @param {string | null} key */
export function setApiKey(key) { if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY); }

/**
 * @param {string} path
 * @param {{ method?: string, json?: any, body?: BodyInit, signal?: AbortSignal, raw?: boolean }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    /** @type {Record<string, string>} */
    const headers = {};
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let body = options.body;
    if (options.json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(options.json); }
    const response = await fetch(path, { method: options.method ?? 'GET', headers, body, signal: options.signal });
    if (response.status === 401 && askForKey && attempt < 5) {
      // Every call that meets the 401 meanwhile waits on the same prompt.
      asking ??= askForKey(key ? 'The server refused this API key (401 Unauthorized). Enter a valid key.'
        : 'This server needs an API key (401 Unauthorized).').finally(() => { asking = null; });
      await asking;
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    if (options.raw) return response;
    const type = response.headers.get('content-type') ?? '';
    return type.includes('json') ? response.json() : response.text();
  }
}

/** @param {Response} response */
async function errorOf(response) {
  const text = await response.text();
  try {
    const e = JSON.parse(text).error ?? {};
    return new ApiError(response.status, e.message ?? `${response.status} ${response.statusText}`, e.param, e.code);
  } catch {
    return new ApiError(response.status, `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}

/**
 * POSTs json and yields each Server-Sent Event's JSON object until "data: [DONE]". An error event (the server's
 * mid-stream error object) is thrown as ApiError.
 * @param {string} path @param {any} json @param {AbortSignal} signal
 */
export async function* stream(path, json, signal) {
  /** @type {Response} */
  const response = await api(path, { method: 'POST', json, signal, raw: true });
  if (!response.body) throw new ApiError(500, 'The server sent no stream.');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).trimStart()).join('\n');
      if (data === '') continue;
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(500, chunk.error.message ?? 'stream error', chunk.error.param, chunk.error.code);
      yield chunk;
    }
  }
}

/** Every page of an OpenAI list (after/has_more), oldest calls first; at most maxPages.
 * @param {string} path @param {number} [maxPages] */
export async function listAll(path, maxPages = 50) {
  const all = [];
  let after = null;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) break;
    after = page.data[page.data.length - 1].id;
  }
  return all;
}
