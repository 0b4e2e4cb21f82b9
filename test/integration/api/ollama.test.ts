import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';

describe('Ollama compatibility, with the official ollama client', () => {
  let core: TestCore;
  let ollama: Ollama;
  beforeAll(async () => {
    // A hub that cannot be reached (a closed loopback port): pull must say so, quickly.
    core = await startTestCore({
      models: { 'test/tiny-lm': TINY_LM, 'test/embedder': TINY_EMBEDDER },
      env: { HF_ENDPOINT: 'http://127.0.0.1:9' },
    });
    ollama = new Ollama({ host: core.url });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('answers the liveness probe and the version', async () => {
    expect(await (await fetch(`${core.url}/`)).text()).toBe('Ollama is running');
    expect((await fetch(`${core.url}/`, { method: 'HEAD' })).status).toBe(200);
    expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lists models with details, and shows one with capabilities', async () => {
    const { models } = await ollama.list();
    expect(models.map((model) => model.name).sort()).toEqual(['test/embedder:latest', 'test/tiny-lm:latest']);
    expect(models[0]).toMatchObject({
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      details: { format: 'onnx' },
      size: expect.any(Number),
    });
    const shown = await ollama.show({ model: 'test/tiny-lm' });
    expect(shown.capabilities).toEqual(['completion', 'tools']);
    expect(shown.template).toContain('<|im_start|>');
    expect(shown.model_info).toMatchObject({
      'general.architecture': 'LlamaForCausalLM',
      'LlamaForCausalLM.context_length': 2048,
    });
    expect((await ollama.show({ model: 'test/embedder' })).capabilities).toEqual(['embedding']);
    await expect(ollama.show({ model: 'test/nothing' })).rejects.toMatchObject({ status_code: 404 });
  });

  it('chats, streamed and not, with nanosecond metrics', async () => {
    const whole = await ollama.chat({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello there!' }],
      options: { temperature: 0, num_predict: 6 },
    });
    expect(whole).toMatchObject({
      done: true,
      done_reason: 'length',
      eval_count: 6,
      message: { role: 'assistant' },
    });
    expect(whole.prompt_eval_count).toBeGreaterThan(5);
    expect(whole.total_duration).toBeGreaterThan(whole.eval_duration);
    const parts = await ollama.chat({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello there!' }],
      options: { temperature: 0, num_predict: 6 },
      stream: true,
    });
    let text = '';
    let last;
    for await (const part of parts) {
      text += part.message.content;
      last = part;
    }
    expect(text).toBe(whole.message.content);
    expect(last).toMatchObject({ done: true, done_reason: 'length', eval_count: 6 });
  });

  it('generates, through the chat template or raw', async () => {
    const templated = await ollama.generate({
      model: 'test/tiny-lm',
      prompt: 'Hello there!',
      options: { temperature: 0, num_predict: 4 },
    });
    expect(templated).toMatchObject({ done: true, eval_count: 4 });
    const raw = await ollama.generate({
      model: 'test/tiny-lm',
      prompt: 'The quick brown fox',
      raw: true,
      options: { temperature: 0, num_predict: 4 },
    });
    expect(raw.response).not.toBe(templated.response);
    let streamed = '';
    for await (const part of await ollama.generate({
      model: 'test/tiny-lm',
      prompt: 'The quick brown fox',
      raw: true,
      stream: true,
      options: { temperature: 0, num_predict: 4 },
    }))
      streamed += part.response;
    expect(streamed).toBe(raw.response);
  });

  it('streams NDJSON by default for clients that do not say (curl)', async () => {
    const response = await fetch(`${core.url}/api/generate`, {
      method: 'POST',
      // curl -d sends this content type; Ollama reads the body as JSON all the same.
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ model: 'test/tiny-lm', prompt: 'Hi', options: { num_predict: 3 } }),
    });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { done: boolean });
    expect(lines.at(-1)).toMatchObject({ done: true, eval_count: 3 });
    expect(lines.slice(0, -1).every((line) => line.done === false)).toBe(true);
  });

  it('loads with an empty request, lists it in ps, and unloads with keep_alive 0', async () => {
    const loaded = await fetch(`${core.url}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({ model: 'test/tiny-lm', keep_alive: '10m' }),
    });
    expect(await loaded.json()).toMatchObject({ done: true, done_reason: 'load' });
    const { models } = await ollama.ps();
    expect(models.find((model) => model.name === 'test/tiny-lm:latest')).toMatchObject({
      size_vram: 0,
      context_length: 2048,
    });
    const expires = new Date(
      models.find((model) => model.name === 'test/tiny-lm:latest')?.expires_at ?? 0,
    ).getTime();
    expect(expires).toBeGreaterThan(Date.now() + 9 * 60_000);
    const unloaded = await fetch(`${core.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'test/tiny-lm', messages: [], keep_alive: 0 }),
    });
    expect(await unloaded.json()).toMatchObject({ done: true, done_reason: 'unload' });
    expect((await ollama.ps()).models).toEqual([]);
  });

  it('embeds (normalized, with dimensions) and answers the legacy endpoint', async () => {
    const { embeddings } = await ollama.embed({
      model: 'test/embedder',
      input: ['The weather is sunny', 'A house'],
    });
    expect(embeddings).toHaveLength(2);
    expect(Math.hypot(...(embeddings[0] ?? []))).toBeCloseTo(1, 5);
    const short = await ollama.embed({
      model: 'test/embedder',
      input: 'The weather is sunny',
      dimensions: 4,
    });
    expect(short.embeddings[0]).toHaveLength(4);
    const legacy = await ollama.embeddings({ model: 'test/embedder', prompt: 'The weather is sunny' });
    expect(legacy.embedding).toHaveLength(32);
    expect(Math.hypot(...legacy.embedding)).not.toBeCloseTo(1, 3);
  });

  it("gives parameter_size from the model's weights, and only whole numbers where Go reads integers", async () => {
    // The library counts the ONNX initializers' elements; Ollama writes that count as "238K", "0.5B".
    const detail = (await (await fetch(`${core.url}/app/models/test/tiny-lm`)).json()) as {
      parameterCount: number;
    };
    expect(detail.parameterCount).toBeGreaterThan(1000);
    expect(detail.parameterCount).toBeLessThan(1e6);
    const expected = `${Math.round(detail.parameterCount / 1000)}K`;
    const listed = (await ollama.list()).models.find((model) => model.name === 'test/tiny-lm:latest');
    expect(listed?.details.parameter_size).toBe(expected);
    expect((await ollama.show({ model: 'test/tiny-lm' })).details.parameter_size).toBe(expected);

    await ollama.generate({ model: 'test/tiny-lm', prompt: '', keep_alive: '1m' });
    const replies: unknown[] = [
      await ollama.list(),
      await ollama.ps(),
      await ollama.show({ model: 'test/tiny-lm' }),
      await ollama.chat({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        options: { num_predict: 2 },
      }),
      await ollama.generate({ model: 'test/tiny-lm', prompt: 'Hi', options: { num_predict: 2 } }),
      { ...(await ollama.embed({ model: 'test/embedder', input: 'Hi' })), embeddings: [] },
    ];
    expect((replies[1] as { models: { name: string }[] }).models.map((model) => model.name)).toContain(
      'test/tiny-lm:latest',
    );
    expect(replies.flatMap((reply) => fractions(reply, ''))).toEqual([]);
  });

  it('copies and deletes models, refusing names that would leave the models folder', async () => {
    await ollama.copy({ source: 'test/tiny-lm', destination: 'mine/tiny-copy' });
    expect((await ollama.list()).models.map((model) => model.name)).toContain('mine/tiny-copy:latest');
    await expect(ollama.copy({ source: 'test/tiny-lm', destination: '../../escape' })).rejects.toMatchObject({
      status_code: 400,
    });
    await expect(ollama.copy({ source: 'test/tiny-lm', destination: 'a/..' })).rejects.toMatchObject({
      status_code: 400,
    });
    await ollama.delete({ model: 'mine/tiny-copy' });
    expect(existsSync(join(core.dataDir, 'models/mine'))).toBe(false);
    expect((await ollama.list()).models.map((model) => model.name)).not.toContain('mine/tiny-copy:latest');
    await expect(ollama.delete({ model: 'mine/tiny-copy' })).rejects.toMatchObject({ status_code: 404 });
  });

  it('answers errors as {"error": "…"} with Ollama\'s statuses', async () => {
    const missing = await fetch(`${core.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ messages: [] }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: 'model is required' });
    const pull = await fetch(`${core.url}/api/pull`, {
      method: 'POST',
      body: JSON.stringify({ name: 'org/model' }),
    });
    expect(pull.status).toBe(503);
    expect(((await pull.json()) as { error: string }).error).toMatch(/Cannot reach the Hugging Face hub/);
    const format = await fetch(`${core.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'x' }],
        format: { type: 'array', uniqueItems: true },
      }),
    });
    expect(format.status).toBe(400);
    expect(((await format.json()) as { error: string }).error).toMatch(/uniqueItems/);
    const bad = await fetch(`${core.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: expect.stringMatching(/not valid JSON/) });
  });
});

/** The paths of every number that is not whole in a reply (Ollama has no float fields but these). */
function fractions(value: unknown, path: string): string[] {
  if (typeof value === 'number') return Number.isInteger(value) ? [] : [`${path} = ${value}`];
  if (Array.isArray(value)) return value.flatMap((item, index) => fractions(item, `${path}[${index}]`));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, item]) => fractions(item, `${path}.${key}`));
  return [];
}
