import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM } from '../../fixtures/models';

const chatBody = (extra: object = {}) =>
  JSON.stringify({
    model: 'test/tiny-lm',
    messages: [{ role: 'user', content: 'Hello there!' }],
    temperature: 0,
    ...extra,
  });

describe('behaviour under stress', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({
      models: { 'test/tiny-lm': TINY_LM },
      env: { LODGE_MAX_QUEUE: '1', LODGE_PARALLEL: '1' },
    });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const runnerQueue = async () =>
    ((await (await fetch(`${core.url}/app/runners`)).json()) as { models: { queueLength: number }[] })
      .models[0]?.queueLength;
  const runner = async () =>
    (await (await fetch(`${core.url}/app/runners`)).json()) as { models: { busy: boolean; pid: number }[] };

  it('cancels the generation of a client that disconnects mid-stream, and frees the runner', async () => {
    const controller = new AbortController();
    const response = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody({ stream: true, max_tokens: 100_000 }),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    await reader?.read();
    const pid = (await runner()).models[0]?.pid;
    controller.abort();
    await expect.poll(async () => (await runner()).models[0]?.busy, { timeout: 10_000 }).toBe(false);
    const inferences = (await (await fetch(`${core.url}/app/inferences?limit=1`)).json()) as {
      inferences: { outcome: string; completionTokens: number }[];
    };
    expect(inferences.inferences[0]).toMatchObject({ outcome: 'cancelled' });
    // Freed by the cancel itself: the same runner, not a killed and restarted one.
    expect((await runner()).models[0]).toMatchObject({ busy: false, pid });
    const next = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody({ max_tokens: 2 }),
    });
    expect(next.status).toBe(200);
  });

  it("answers a full queue with 429 and Retry-After, in each family's shape", async () => {
    const post = (path: string, body: string, signal?: AbortSignal) =>
      fetch(`${core.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        ...(signal ? { signal } : {}),
      });
    // Step by step, so that which request is refused never depends on arrival order: one runs
    // (its first chunk has arrived), one waits (the queue, of length one, is seen full), then
    // every further request is refused at once, whatever its family.
    const running = new AbortController();
    const first = await post(
      '/v1/chat/completions',
      chatBody({ stream: true, max_tokens: 100_000 }),
      running.signal,
    );
    await first.body?.getReader().read();
    const waiting = post('/v1/chat/completions', chatBody({ max_tokens: 5 }));
    await expect.poll(async () => await runnerQueue(), { timeout: 10_000 }).toBe(1);

    const refusedOpenAi = await post('/v1/chat/completions', chatBody({ max_tokens: 5 }));
    expect(refusedOpenAi.status).toBe(429);
    expect(refusedOpenAi.headers.get('retry-after')).toBe('1');
    expect(await refusedOpenAi.json()).toMatchObject({
      error: { code: 'queue_full', type: 'rate_limit_error' },
    });
    const refusedOllama = await post(
      '/api/chat',
      JSON.stringify({ model: 'test/tiny-lm', messages: [{ role: 'user', content: 'x' }], stream: false }),
    );
    expect(refusedOllama.status).toBe(429);
    expect(await refusedOllama.json()).toEqual({ error: expect.stringMatching(/waiting/) });

    running.abort();
    expect((await waiting).status).toBe(200);
  });

  it('reports a runner killed mid-stream as an in-stream error, then serves the next request', async () => {
    const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 100_000,
      stream: true,
    });
    const failure = (async () => {
      let chunks = 0;
      for await (const _chunk of stream) {
        if (++chunks === 3) process.kill((await runner()).models[0]?.pid as number, 'SIGKILL');
      }
    })();
    await expect(failure).rejects.toMatchObject({ message: expect.stringMatching(/killed by SIGKILL/) });
    const next = await client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(next.choices[0]?.finish_reason).toBe('length');
  });

  it('exposes Prometheus metrics: requests, tokens, time to first token, loaded models, runner memory', async () => {
    const response = await fetch(`${core.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/lodge_http_requests_total\{family="openai",method="POST",status="200"\} [1-9]/);
    expect(text).toMatch(/lodge_http_requests_total\{family="openai",method="POST",status="429"\} [1-9]/);
    expect(text).toMatch(/lodge_tokens_total\{model="test\/tiny-lm",kind="completion"\} [1-9]/);
    expect(text).toMatch(/lodge_time_to_first_token_seconds_count\{model="test\/tiny-lm"\} [1-9]/);
    expect(text).toMatch(/lodge_loaded_models 1/);
    expect(text).toMatch(/lodge_runner_resident_memory_bytes\{model="test\/tiny-lm",provider="cpu"\} \d{6,}/);
  });
});
