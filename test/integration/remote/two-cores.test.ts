import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteEngineSchema } from '../../../src/shared/contract/remote';
import { ModelListSchema } from '../../../src/shared/contract/models';
import { RequestListSchema } from '../../../src/shared/contract/system';
import { TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

const KEY = 'remote-key-3f9a';
const messages = [{ role: 'user' as const, content: 'Hello there!' }];
const WEATHER = {
  type: 'object' as const,
  properties: { city: { type: 'string', maxLength: 16 } },
  required: ['city'],
  additionalProperties: false,
};

async function addEngine(core: TestCore, name: string, baseUrl: string, apiKey?: string) {
  const response = await fetch(`${core.url}/app/engines`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, baseUrl, ...(apiKey !== undefined ? { apiKey } : {}) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    engine: response.ok ? RemoteEngineSchema.parse(JSON.parse(text)) : null,
  };
}

async function lastRequest(core: TestCore, model: string) {
  const response = await fetch(`${core.url}/app/requests?limit=50`);
  const { requests } = RequestListSchema.parse(await response.json());
  return requests.find((entry) => entry.model === model);
}

// Two real cores on loopback: `near` (the one clients talk to, with a local model of its own) adds
// `far` as the remote engine `lab`, and far's model is reached through near by every family's client.
describe('a Lodge core as the remote engine of another', () => {
  let near: TestCore;
  let far: TestCore;
  let openai: OpenAI;
  let direct: OpenAI;
  beforeAll(async () => {
    [near, far] = await Promise.all([
      startTestCore({ models: { 'test/tiny-lm': TINY_LM } }),
      startTestCore({
        models: { 'test/tiny-lm': TINY_LM, 'test/embedder': TINY_EMBEDDER },
        flags: { apiKey: KEY },
      }),
    ]);
    openai = new OpenAI({ baseURL: `${near.url}/v1`, apiKey: 'x', maxRetries: 0 });
    direct = new OpenAI({ baseURL: `${far.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const added = await addEngine(near, 'lab', far.url, KEY);
    expect(added.status, added.text).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([near.dispose(), far.dispose()]);
  });

  it('adds an engine, checks it, lists its models beside local ones, and never answers its key', async () => {
    const listed = await fetch(`${near.url}/app/engines`);
    const text = await listed.text();
    expect(text).not.toContain(KEY);
    const again = await addEngine(near, 'lab', `${far.url}/`);
    expect(again.text).not.toContain(KEY);
    // Left out, the key is kept: the check with it still succeeds.
    expect(again.engine).toMatchObject({
      name: 'lab',
      baseUrl: `${far.url}/v1`,
      hasKey: true,
      health: { status: 'up', error: null },
    });
    expect(again.engine?.health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(again.engine?.models.sort()).toEqual(['lab/test/embedder', 'lab/test/tiny-lm']);
    const models = await openai.models.list();
    expect(models.data.map((model) => model.id).sort()).toEqual([
      'lab/test/embedder',
      'lab/test/tiny-lm',
      'test/tiny-lm',
    ]);
    const tags = await new Ollama({ host: near.url }).list();
    expect(tags.models.map((model) => model.name)).toContain('lab/test/tiny-lm:latest');
    const library = ModelListSchema.parse(await (await fetch(`${near.url}/app/models`)).json());
    expect(library.models.map((model) => model.id)).toEqual(['test/tiny-lm']);
    expect(library.remote).toContainEqual({ id: 'lab/test/tiny-lm', engine: 'lab', status: 'up' });
  });

  it('refuses an engine it could not safely connect to, in the app error shape', async () => {
    for (const [body, words] of [
      [{ name: 'bad', baseUrl: 'ftp://127.0.0.1/v1' }, 'http:// or https://'],
      [{ name: 'bad', baseUrl: 'http://user:pw@127.0.0.1:1/v1' }, 'not in the URL'],
      [{ name: 'bad', baseUrl: 'http://127.0.0.1:1/v1?x=1' }, 'no query'],
      [{ name: 'bad name', baseUrl: 'http://127.0.0.1:1/v1' }, 'An engine name'],
      [{ name: 'bad', baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'has space' }, 'printable'],
      [{ name: 'bad' }, 'baseUrl is required'],
      // near has test/tiny-lm: an engine `test` would make test/tiny-lm name two models.
      [
        { name: 'test', baseUrl: 'http://127.0.0.1:1/v1' },
        "'test' is the owner of local models (test/tiny-lm)",
      ],
    ] as const) {
      const response = await fetch(`${near.url}/app/engines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: { code: string; message: string } };
      expect(answer.error.code).toBe('invalid_request');
      expect(answer.error.message).toContain(words);
    }
    // `url` is read as `baseUrl`, for clients that call it that.
    const byUrl = await fetch(`${near.url}/app/engines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'byurl', url: far.url }),
    });
    expect(RemoteEngineSchema.parse(await byUrl.json())).toMatchObject({
      name: 'byurl',
      baseUrl: `${far.url}/v1`,
    });
    expect((await fetch(`${near.url}/app/engines/byurl`, { method: 'DELETE' })).status).toBe(200);
    const listed = (await (await fetch(`${near.url}/app/engines`)).json()) as { engines: { name: string }[] };
    expect(listed.engines.map((engine) => engine.name)).not.toContain('bad');
  });

  it('refuses an engine whose key the remote refuses, saying which engine and why', async () => {
    const wrong = await addEngine(near, 'wrongkey', far.url, 'not-the-key');
    expect(wrong.engine?.health).toMatchObject({ status: 'down', error: expect.stringContaining('401') });
    const failed = await openai.chat.completions
      .create({ model: 'wrongkey/test/tiny-lm', messages, max_tokens: 4 })
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((failed as Error).message).toContain("'wrongkey'");
    expect((failed as Error).message).toContain('key');
  });

  it('OpenAI chat through the near core is what the far core answers, streamed and not', async () => {
    const ask = { messages, temperature: 0, max_tokens: 8 };
    const expected = await direct.chat.completions.create({ model: 'test/tiny-lm', ...ask });
    const whole = await openai.chat.completions.create({ model: 'lab/test/tiny-lm', ...ask });
    expect(whole.model).toBe('lab/test/tiny-lm');
    expect(whole.choices[0]?.message.content).toBe(expected.choices[0]?.message.content);
    expect(whole.choices[0]?.finish_reason).toBe('length');
    expect(whole.usage).toMatchObject({
      prompt_tokens: expected.usage?.prompt_tokens,
      completion_tokens: 8,
    });
    const stream = await openai.chat.completions.create({
      model: 'lab/test/tiny-lm',
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let completionTokens = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text).toBe(expected.choices[0]?.message.content);
    expect(completionTokens).toBe(8);
    expect((await lastRequest(near, 'lab/test/tiny-lm'))?.route).toBe('served lab/test/tiny-lm');
  });

  it('logprobs come back from the remote, token by token', async () => {
    const ask = { messages, temperature: 0, max_tokens: 4, logprobs: true, top_logprobs: 2 };
    const expected = await direct.chat.completions.create({ model: 'test/tiny-lm', ...ask });
    const through = await openai.chat.completions.create({ model: 'lab/test/tiny-lm', ...ask });
    const tokens = through.choices[0]?.logprobs?.content ?? [];
    expect(tokens).toHaveLength(4);
    tokens.forEach((token, index) => {
      const want = expected.choices[0]?.logprobs?.content?.[index];
      expect(token.token).toBe(want?.token);
      expect(token.logprob).toBeCloseTo(want?.logprob ?? NaN, 4);
      expect(token.top_logprobs).toHaveLength(2);
    });
  });

  it('Ollama and Anthropic clients of the near core reach the far model', async () => {
    const expected = await direct.chat.completions.create({
      model: 'test/tiny-lm',
      messages,
      temperature: 0,
      max_tokens: 6,
    });
    const ollama = new Ollama({ host: near.url });
    const chat = await ollama.chat({
      model: 'lab/test/tiny-lm',
      messages,
      options: { temperature: 0, num_predict: 6 },
    });
    expect(chat.message.content).toBe(expected.choices[0]?.message.content);
    expect(chat).toMatchObject({ done: true, done_reason: 'length', eval_count: 6 });
    let streamed = '';
    for await (const part of await ollama.chat({
      model: 'lab/test/tiny-lm:latest',
      messages,
      stream: true,
      options: { temperature: 0, num_predict: 6 },
    }))
      streamed += part.message.content;
    expect(streamed).toBe(expected.choices[0]?.message.content);
    const anthropic = new Anthropic({ baseURL: near.url, apiKey: 'x', maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: 'lab/test/tiny-lm',
      max_tokens: 6,
      messages,
      // Lodge honours temperature, which this SDK's types no longer carry.
      ...{ temperature: 0 },
    });
    expect(message.content).toEqual([{ type: 'text', text: expected.choices[0]?.message.content }]);
    expect(message.stop_reason).toBe('max_tokens');
    const events = anthropic.messages.stream({
      model: 'lab/test/tiny-lm',
      max_tokens: 6,
      temperature: 0,
      messages,
    });
    expect(await events.finalText()).toBe(expected.choices[0]?.message.content);
  });

  it('a forced tool call crosses both cores as a tool call, for OpenAI and Anthropic clients', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER } }];
    const completion = await openai.chat.completions.create({
      model: 'lab/test/tiny-lm',
      messages,
      temperature: 1,
      seed: 3,
      max_tokens: 120,
      tools,
      tool_choice: 'required',
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    if (call?.type !== 'function') throw new Error('no function call came back');
    expect(call.function.name).toBe('get_weather');
    expect(typeof (JSON.parse(call.function.arguments) as { city: unknown }).city).toBe('string');
    const stream = await openai.chat.completions.create({
      model: 'lab/test/tiny-lm',
      messages,
      temperature: 1,
      seed: 4,
      max_tokens: 120,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream: true,
    });
    let args = '';
    let finish: string | null | undefined = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) args += delta.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(typeof (JSON.parse(args) as { city: unknown }).city).toBe('string');
    const anthropic = new Anthropic({ baseURL: near.url, apiKey: 'x', maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: 'lab/test/tiny-lm',
      max_tokens: 120,
      messages,
      tools: [{ name: 'get_weather', input_schema: WEATHER }],
      tool_choice: { type: 'any' },
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content.find((block) => block.type === 'tool_use')).toMatchObject({ name: 'get_weather' });
  });

  it('embeds on the remote: the same vectors as the far core computes', async () => {
    const expected = await direct.embeddings.create({ model: 'test/embedder', input: ['a cat', 'a dog'] });
    const through = await openai.embeddings.create({
      model: 'lab/test/embedder',
      input: ['a cat', 'a dog'],
      encoding_format: 'float',
    });
    expect(through.data).toHaveLength(2);
    for (const [index, item] of through.data.entries()) {
      const want = expected.data[index]?.embedding ?? [];
      expect(item.embedding).toHaveLength(want.length);
      item.embedding.forEach((value, at) => expect(value).toBeCloseTo(want[at] ?? NaN, 5));
    }
  });

  it('an alias goes to its first target, and fails over to a local model when that engine is down', async () => {
    const gone = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
    const goneUrl = gone.url;
    expect((await addEngine(near, 'gone', goneUrl)).engine?.health.status).toBe('up');
    const saved = await fetch(`${near.url}/app/aliases/smart`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ targets: ['gone/test/tiny-lm', 'test/tiny-lm'] }),
    });
    expect(saved.status, await saved.clone().text()).toBe(200);
    const ask = { model: 'smart', messages, temperature: 0, max_tokens: 4 };
    await openai.chat.completions.create(ask);
    expect((await lastRequest(near, 'smart'))?.route).toBe('served gone/test/tiny-lm');
    await gone.dispose();

    // The remote itself: a clear error naming it, in each family's shape.
    const failed = await openai.chat.completions
      .create({ ...ask, model: 'gone/test/tiny-lm' })
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((failed as Error).message).toContain("remote engine 'gone' is down");
    expect((failed as Error).message).not.toMatch(/at \w+ \(/);
    const ollamaFailed = await new Ollama({ host: near.url })
      .chat({ model: 'gone/test/tiny-lm', messages })
      .catch((error: unknown) => error);
    expect(ollamaFailed).toMatchObject({ status_code: 503, error: expect.stringContaining("'gone'") });
    const anthropicFailed = await new Anthropic({ baseURL: near.url, apiKey: 'x', maxRetries: 0 }).messages
      .create({ model: 'gone/test/tiny-lm', max_tokens: 4, messages })
      .catch((error: unknown) => error);
    expect(anthropicFailed).toMatchObject({ status: 503, error: { error: { type: 'overloaded_error' } } });

    // The alias: served by the local target, the failed remote in the request log.
    const served = await openai.chat.completions.create(ask);
    expect(served.choices[0]?.message.content).toBeTypeOf('string');
    const route = (await lastRequest(near, 'smart'))?.route ?? '';
    expect(route).toMatch(/^served test\/tiny-lm; failed gone\/test\/tiny-lm \(/);
    const checked = await fetch(`${near.url}/app/engines/gone/check`, { method: 'POST' });
    expect(RemoteEngineSchema.parse(await checked.json()).health).toMatchObject({
      status: 'down',
      error: expect.stringContaining('refused the connection'),
    });
  });

  it('refuses aliases that point nowhere, at aliases, or shadow a local model', async () => {
    const put = (name: string, targets: unknown) =>
      fetch(`${near.url}/app/aliases/${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ targets }),
      });
    const nowhere = await put('x1', ['test/nothing']);
    expect(nowhere.status).toBe(400);
    expect(await nowhere.text()).toContain('neither a local model nor a model of a remote engine');
    expect((await put('x2', ['test/tiny-lm'])).status).toBe(200);
    expect((await put('x3', ['x2'])).status).toBe(400);
    expect((await put('test', ['test/tiny-lm'])).status).toBe(200);
    expect((await put('tiny-lm', ['lab/test/tiny-lm'])).status).toBe(409);
    expect((await put('x4', [])).status).toBe(400);
    const posted = await fetch(`${near.url}/app/aliases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x5', targets: ['lab/test/tiny-lm', 'test/tiny-lm'] }),
    });
    expect(await posted.json()).toMatchObject({ name: 'x5', targets: ['lab/test/tiny-lm', 'test/tiny-lm'] });
    const listed = (await (await fetch(`${near.url}/app/aliases`)).json()) as { aliases: { name: string }[] };
    expect(listed.aliases.map((alias) => alias.name)).toEqual(expect.arrayContaining(['x2', 'x5']));
    const removed = await fetch(`${near.url}/app/aliases/x2`, { method: 'DELETE' });
    expect(await removed.json()).toEqual({ name: 'x2', removed: true });
  });
});
