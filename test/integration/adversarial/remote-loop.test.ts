// A remote engine that leads back to the Lodge it was added to: `me/me/…/test/lm` went round once
// per prefix, each round an open connection, as many as the name was long. Now a request that has
// passed through too many Lodge servers is refused, in the calling family's shape.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

describe('a remote engine that leads back to its own Lodge', () => {
  let core: TestCore;
  let openai: OpenAI;

  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/lm': TINY_LM } });
    const added = await fetch(`${core.url}/app/engines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'me', baseUrl: core.url }),
    });
    expect(added.status, await added.clone().text()).toBe(200);
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => core.dispose());

  const chat = (model: string) =>
    openai.chat.completions.create({ model, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });

  it('answers through a few rounds, as a chain of Lodge servers would', async () => {
    const answer = await chat('me/me/test/lm');
    expect(answer.choices[0]?.message.content).toEqual(expect.any(String));
  });

  it('refuses a name that would go round 200 times, after a few rounds, naming the loop', async () => {
    const before = await requestCount(core.url);
    await expect(chat(`${'me/'.repeat(200)}test/lm`)).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/passed through 9 Lodge servers: a remote engine leads back/),
    });
    // The refused chain: the client's request and the nine rounds, not two hundred.
    expect((await requestCount(core.url)) - before).toBeLessThanOrEqual(10);
  });
});

async function requestCount(url: string): Promise<number> {
  // The request log is written as each answer ends; the refused chain has ended before this is read.
  const response = await fetch(`${url}/app/requests?limit=500`);
  const body = (await response.json()) as { requests: { path: string }[] };
  return body.requests.filter((row) => row.path.includes('/v1/chat/completions')).length;
}
