// The npm `openai` package against a running `scion serve`: what a Node app sees is what OpenAI clients see.
// Usage: node openai-client.mjs URL BASE_MODEL ADAPTER [--keyed URL KEY]
//   URL, BASE_MODEL, ADAPTER: a server without keys, its base model id and one registered adapter.
//   --keyed URL KEY: a second server that requires KEY (checks AuthenticationError and that KEY works).
// Prints one line per check; exits 1 with the failed check's message on any mismatch, 2 on bad arguments.
import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';

const args = process.argv.slice(2);
const keyedAt = args.indexOf('--keyed');
const keyed = keyedAt >= 0 ? { url: args[keyedAt + 1], key: args[keyedAt + 2] } : null;
const [url, base, adapter] = keyedAt >= 0 ? args.slice(0, keyedAt) : args;
if (!url || !base || !adapter || (keyed && (!keyed.url || !keyed.key))) {
  console.error('usage: node openai-client.mjs URL BASE_MODEL ADAPTER [--keyed URL KEY]');
  process.exit(2);
}

const client = (baseURL, apiKey = 'unused') => new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });
const open = client(url);
const messages = [{ role: 'user', content: 'Once upon a time' }];
const greedy = { temperature: 0, seed: 3, max_tokens: 24 };

class Mismatch extends Error {}
function check(ok, what) {
  if (!ok) throw new Mismatch(what);
}
function equal(actual, expected, what) {
  check(JSON.stringify(actual) === JSON.stringify(expected), `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
async function expectError(type, call, what) {
  try {
    await call();
  } catch (e) {
    check(e instanceof type, `${what}: expected ${type.name}, got ${e?.constructor?.name}: ${e?.message}`);
    check(e instanceof APIError, `${what}: ${e.constructor.name} is not an APIError`);
    return e;
  }
  throw new Mismatch(`${what}: expected ${type.name}, but the call succeeded`);
}

const checks = {
  async 'models.list: base first, then the adapter with the base as parent'() {
    const models = [];
    for await (const m of open.models.list()) models.push(m);
    equal(models[0]?.id, base, 'first model');
    const a = models.find((m) => m.id === adapter);
    check(a, `adapter '${adapter}' missing from ${JSON.stringify(models.map((m) => m.id))}`);
    equal(a.parent, base, `adapter '${adapter}' parent`);
    equal((await open.models.retrieve(adapter)).id, adapter, 'models.retrieve');
  },

  async 'chat.completions.create: streamed deltas concatenate to the whole greedy text, usage chunk last'() {
    for (const model of [base, adapter]) {
      const whole = await open.chat.completions.create({ model, messages, ...greedy });
      const text = whole.choices[0].message.content;
      check(text.length > 0, `${model}: empty greedy text`);
      equal(whole.model, model, `${model}: response model`);
      equal(whole.choices[0].message.role, 'assistant', `${model}: role`);
      check(whole.usage?.completion_tokens > 0, `${model}: usage ${JSON.stringify(whole.usage)}`);

      const stream = await open.chat.completions.create({ model, messages, ...greedy, stream: true, stream_options: { include_usage: true } });
      let streamed = '';
      let finish = null;
      let usage = null;
      const ids = new Set();
      for await (const chunk of stream) {
        ids.add(chunk.id);
        check(usage === null, `${model}: a chunk came after the usage chunk`);
        if (chunk.usage) {
          equal(chunk.choices, [], `${model}: the usage chunk's choices`);
          usage = chunk.usage;
          continue;
        }
        for (const c of chunk.choices) {
          streamed += c.delta?.content ?? '';
          finish = c.finish_reason ?? finish;
        }
      }
      equal(streamed, text, `${model}: streamed text`);
      equal(finish, whole.choices[0].finish_reason, `${model}: finish_reason`);
      // cached_tokens may differ: the second request finds the first one's prompt in the prefix cache.
      const counts = (u) => u && [u.prompt_tokens, u.completion_tokens, u.total_tokens];
      equal(counts(usage), counts(whole.usage), `${model}: streamed usage (prompt, completion, total)`);
      equal(ids.size, 1, `${model}: chunk ids per response`);
    }
    const b = await open.chat.completions.create({ model: base, messages, ...greedy });
    const a = await open.chat.completions.create({ model: adapter, messages, ...greedy });
    check(a.choices[0].message.content !== b.choices[0].message.content, 'the adapter did not change the greedy text');
  },

  async 'completions.create: whole and streamed agree'() {
    const whole = await open.completions.create({ model: base, prompt: 'Once upon a time', ...greedy });
    const text = whole.choices[0].text;
    check(text.length > 0, 'empty completion');
    equal(whole.object, 'text_completion', 'object');
    let streamed = '';
    for await (const chunk of await open.completions.create({ model: base, prompt: 'Once upon a time', ...greedy, stream: true })) {
      for (const c of chunk.choices) streamed += c.text;
    }
    equal(streamed, text, 'streamed completion text');
  },

  async 'errors map to APIError subclasses'() {
    const e = await expectError(NotFoundError, () => open.chat.completions.create({ model: 'gpt-4', messages }), 'unknown model');
    equal(e.status, 404, 'unknown model status');
    check(/gpt-4/.test(e.message), `unknown model message does not name it: ${e.message}`);
    const bad = await expectError(BadRequestError, () => open.chat.completions.create({ model: base, messages, temperature: 5 }), 'temperature 5');
    check(/temperature/.test(bad.message), `bad field message does not name it: ${bad.message}`);
    await expectError(NotFoundError, () => open.models.retrieve('nope'), 'unknown model id');
  },
};

if (keyed) {
  checks['API keys: a wrong key is AuthenticationError, the right one works'] = async () => {
    const e = await expectError(AuthenticationError, () => client(keyed.url, 'wrong').models.list(), 'wrong key');
    equal(e.status, 401, 'wrong key status');
    const models = [];
    for await (const m of client(keyed.url, keyed.key).models.list()) models.push(m.id);
    check(models.length > 0, 'the right key listed no models');
  };
}

let failed = 0;
for (const [name, run] of Object.entries(checks)) {
  try {
    await run();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Mismatch ? e.message : `${e?.constructor?.name}: ${e?.message}`}`);
  }
}
console.log(`${Object.keys(checks).length - failed} of ${Object.keys(checks).length} checks passed`);
process.exit(failed === 0 ? 0 : 1);
