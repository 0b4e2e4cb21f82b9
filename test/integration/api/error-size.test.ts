import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM } from '../../fixtures/models';

// A body with thousands of bad fields must not come back as an error thousands of lines long.
describe('errors stay small whatever the body', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const chat = (extra: object) =>
    fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 2,
        ...extra,
      }),
    });

  it('refuses a logit_bias of 200,000 tokens in a short answer naming the field', async () => {
    const bias = Object.fromEntries(Array.from({ length: 200_000 }, (_, index) => [String(index), 1000]));
    const response = await chat({ logit_bias: bias });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text.length).toBeLessThan(2000);
    expect(JSON.parse(text)).toMatchObject({
      error: { param: 'logit_bias', message: expect.stringMatching(/at most 1024/) },
    });
  });

  it('lists at most five problems and counts the rest', async () => {
    const messages = Array.from({ length: 5000 }, () => ({ role: 'nobody', content: 7 }));
    const response = await chat({ messages });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message.length).toBeLessThan(2000);
    expect(body.error.message).toMatch(/and \d+ more$/);
  });

  it('still takes a logit_bias of token ids, and refuses keys that are not ids', async () => {
    expect((await chat({ logit_bias: { '5': -100, '6': 10 } })).status).toBe(200);
    const wrong = await chat({ logit_bias: { hello: 1 } });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({
      error: { param: 'logit_bias.hello', message: expect.stringMatching(/logit_bias\.hello/) },
    });
  });
});
