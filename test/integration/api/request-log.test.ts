import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/shared/contract/system';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { rawRequest } from './family-errors';

const KEY = 'request-log-key';
const auth = { authorization: `Bearer ${KEY}` };

async function failedRequests(
  core: TestCore,
  headers: Record<string, string> = {},
): Promise<RequestRecord[]> {
  const response = await fetch(`${core.url}/app/requests/errors?limit=100`, { headers });
  expect(response.status).toBe(200);
  return ((await response.json()) as { requests: RequestRecord[] }).requests;
}

describe('the request log misses nothing', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM }, env: { LODGE_API_KEY: KEY } });
  });
  afterAll(async () => {
    await core?.dispose();
  });

  it("keeps the security hook's 401 and 403 answers, in every family, with their codes", async () => {
    const ids: string[] = [];
    for (const path of ['/v1/models', '/api/tags', '/v2/models/x', '/app/models']) {
      const answer = await fetch(`${core.url}${path}`);
      expect(answer.status).toBe(401);
      ids.push(answer.headers.get('x-request-id') ?? '');
    }
    const foreign = await rawRequest(core.url, { path: '/v1/models', headers: { host: 'evil.example' } });
    expect(foreign.status).toBe(403);
    const preflight = await fetch(`${core.url}/api/chat`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    const preflightId = preflight.headers.get('x-request-id');

    const failed = await failedRequests(core, auth);
    for (const [index, family] of (['openai', 'ollama', 'kserve', 'app'] as const).entries()) {
      expect(failed.find((record) => record.requestId === ids[index])).toMatchObject({
        status: 401,
        family,
        outcome: 'error',
        errorCode: 'unauthorized',
      });
    }
    expect(failed.find((record) => record.status === 403 && record.method === 'GET')).toMatchObject({
      path: '/v1/models',
      family: 'openai',
      errorCode: 'forbidden',
    });
    expect(failed.find((record) => record.requestId === preflightId)).toMatchObject({
      method: 'OPTIONS',
      family: 'ollama',
      errorCode: 'forbidden',
    });
    // The Monitor's own successful reads stay out of it.
    expect(failed.every((record) => record.status >= 400 || record.outcome === 'error')).toBe(true);
  });

  it('records a stream its client stops as cancelled, with the status sent, the model and the tokens so far', async () => {
    const openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const stream = await openai.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello there!' }],
      max_tokens: 100_000,
      temperature: 0,
      stream: true,
    });
    let pieces = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) pieces += 1;
      if (pieces === 3) break;
    }
    stream.controller.abort();
    // Stopping an answer is no error: it is in the request log, not among the failures.
    const cancelled = async () =>
      (
        (await (await fetch(`${core.url}/app/requests?limit=100`, { headers: auth })).json()) as {
          requests: RequestRecord[];
        }
      ).requests.find((entry) => entry.outcome === 'cancelled');
    await expect.poll(cancelled, { timeout: 10_000 }).toBeDefined();
    const record = await cancelled();
    expect(record).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      family: 'openai',
      model: 'test/tiny-lm',
    });
    expect((await failedRequests(core, auth)).some((entry) => entry.requestId === record?.requestId)).toBe(
      false,
    );
    expect(record?.completionTokens).toBeGreaterThanOrEqual(3);
    expect(record?.completionTokens).toBeLessThan(100_000);
  });

  it('records a request its client leaves before any answer as aborted, with status 499', async () => {
    const controller = new AbortController();
    const pending = fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hello there!' }],
        max_tokens: 100_000,
        temperature: 0,
      }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    const busy = async () =>
      (
        (await (await fetch(`${core.url}/app/runners`, { headers: auth })).json()) as {
          models: { busy: boolean }[];
        }
      ).models[0]?.busy;
    await expect.poll(busy, { timeout: 10_000 }).toBe(true);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await expect
      .poll(async () => (await failedRequests(core, auth)).find((record) => record.outcome === 'aborted'), {
        timeout: 10_000,
      })
      .toMatchObject({ status: 499, path: '/v1/chat/completions', family: 'openai', model: 'test/tiny-lm' });
    await expect.poll(busy, { timeout: 10_000 }).toBe(false);
  });

  it('keeps answers that completed in the plain request log with their outcome', async () => {
    const answer = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 2,
      }),
    });
    expect(answer.status).toBe(200);
    const id = answer.headers.get('x-request-id');
    const log = (await (await fetch(`${core.url}/app/requests?limit=50`, { headers: auth })).json()) as {
      requests: RequestRecord[];
    };
    expect(log.requests.find((record) => record.requestId === id)).toMatchObject({
      status: 200,
      outcome: 'ok',
      errorCode: null,
      model: 'test/tiny-lm',
      completionTokens: 2,
    });
    expect((await failedRequests(core, auth)).some((record) => record.requestId === id)).toBe(false);
  });
});

describe('the request log during shutdown', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('keeps the 503s answered while shutting down, and they survive the restart', async () => {
    const first = await startTestCore({ dataDir: dir.path });
    first.lodge.server.stopAccepting();
    const refused = await fetch(`${first.url}/api/tags`);
    expect(refused.status).toBe(503);
    const id = refused.headers.get('x-request-id');
    await first.dispose({ keepData: true });

    const second = await startTestCore({ dataDir: dir.path });
    try {
      expect((await failedRequests(second)).find((record) => record.requestId === id)).toMatchObject({
        status: 503,
        family: 'ollama',
        outcome: 'error',
        errorCode: 'shutting_down',
      });
    } finally {
      await second.dispose({ keepData: true });
    }
  });
});
