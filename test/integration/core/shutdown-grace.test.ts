import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WIDE_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

const story = { role: 'user', content: 'Tell me a long story.' };

/** Reads a streamed response until its first body bytes arrive; resolves with a reader of the rest. */
async function started(response: Response): Promise<() => Promise<string>> {
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  return async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += decoder.decode(chunk.value, { stream: true });
    return text;
  };
}

describe('shutdown past the grace period', () => {
  let core: TestCore;
  beforeAll(async () => {
    // The wide vocabulary makes each token cost what a real model's does: both answers are still running at shutdown.
    core = await startTestCore({ models: { 'test/a': WIDE_LM, 'test/b': WIDE_LM } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('ends running streams with an in-stream shutting_down error in each family, and refuses what still arrives with 503', async () => {
    const openAi = await started(
      await fetch(`${core.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test/a', messages: [story], max_tokens: 3500, stream: true }),
      }),
    );
    const ollama = await started(
      await fetch(`${core.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test/b', messages: [story], options: { num_predict: 3500 } }),
      }),
    );

    // Once shutdown begins, a request that still reaches the server (on a connection already open)
    // is refused in its family's shape.
    core.lodge.server.stopAccepting();
    const refused = async (url: string) => {
      const response = await core.lodge.server.fastify.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      return response.json<unknown>();
    };
    expect(await refused('/v1/models')).toEqual({
      error: expect.objectContaining({ code: 'shutting_down', type: 'api_error' }),
    });
    expect(await refused('/api/tags')).toEqual({ error: expect.stringMatching(/shutting down/) });
    expect(await refused('/v2/health/ready')).toEqual({ error: expect.stringMatching(/shutting down/) });
    expect(await refused('/app/info')).toEqual({
      error: { code: 'shutting_down', message: expect.stringMatching(/shutting down/) },
    });

    await core.lodge.dispose(0);

    const openAiText = await openAi();
    const last =
      openAiText
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .at(-1) ?? '';
    expect(JSON.parse(last.slice(6))).toEqual({
      error: expect.objectContaining({ code: 'shutting_down', message: expect.stringMatching(/cut off/) }),
    });

    const ndjson = (await ollama()).trim().split('\n');
    expect(JSON.parse(ndjson.at(-1) ?? '{}')).toEqual({
      error: expect.stringMatching(/shutting down.*cut off/),
    });
  });
});
