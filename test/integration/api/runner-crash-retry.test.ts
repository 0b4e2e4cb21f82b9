import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM } from '../../fixtures/models';

// A runner killed (by the user, or for memory) before any byte of the answer reached the client
// costs that client nothing: the request runs again on a fresh runner, and answers 200.
describe('a non-streamed answer survives its runner being killed', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  const runner = async () =>
    ((await (await fetch(`${core.url}/app/runners`)).json()) as { models: { busy: boolean; pid: number }[] })
      .models[0];

  /** Kills the runner once it is busy with the request, and says which pid it killed. */
  async function killWhenBusy(): Promise<number> {
    await expect.poll(async () => (await runner())?.busy, { timeout: 20_000, interval: 5 }).toBe(true);
    const pid = (await runner())?.pid as number;
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  it('OpenAI chat completions: 200 with the whole answer, from a new runner', async () => {
    const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const answer = client.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 1500,
      temperature: 0,
    });
    const killed = await killWhenBusy();
    const completion = await answer;
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(1500);
    expect((await runner())?.pid).not.toBe(killed);
  });

  it('Ollama chat, not streamed: the same', async () => {
    const ollama = new Ollama({ host: core.url });
    const answer = ollama.chat({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: false,
      options: { num_predict: 1500, temperature: 0 },
    });
    const killed = await killWhenBusy();
    const reply = await answer;
    expect(reply.done_reason).toBe('length');
    expect(reply.eval_count).toBe(1500);
    expect((await runner())?.pid).not.toBe(killed);
  });
});
