import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

/**
 * A failure after the status went out can only be told inside the stream. Each family's responder
 * writes it in that family's error shape: the test kills the model's runner mid-answer.
 */
describe('a generation that fails mid-stream', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
  });
  afterAll(async () => {
    await core.dispose();
  });

  /** Reads a streamed reply; once `started(text so far)` holds, kills the runner; returns all it read. */
  async function killMidStream(path: string, body: object, started: (text: string) => boolean) {
    const response = await fetch(`${core.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    const decoder = new TextDecoder();
    let text = '';
    let killed = false;
    for await (const chunk of response.body ?? []) {
      text += decoder.decode(chunk, { stream: true });
      if (!killed && started(text)) {
        killed = true;
        const runners = (await (await fetch(`${core.url}/app/runners`)).json()) as {
          models: { id: string; pid: number | null }[];
        };
        const pid = runners.models.find((model) => model.id === 'test/tiny-lm')?.pid;
        expect(pid).toEqual(expect.any(Number));
        process.kill(pid ?? 0, 'SIGKILL');
      }
    }
    expect(killed).toBe(true);
    return text;
  }

  const long = { temperature: 1, seed: 7 };

  it('OpenAI: an error event in OpenAI’s shape ends the SSE stream, with no [DONE]', async () => {
    const text = await killMidStream(
      '/v1/chat/completions',
      {
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Tell me a long story.' }],
        stream: true,
        max_tokens: 1800,
        ...long,
      },
      (sofar) => sofar.includes('"content":"') && sofar.split('\n\n').length > 3,
    );
    const events = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: '))
      .map((event) => event.slice(6));
    expect(events).not.toContain('[DONE]');
    expect(JSON.parse(events.at(-1) ?? '{}')).toEqual({
      error: { message: expect.any(String), type: 'api_error', param: null, code: 'runner_crashed' },
    });
  });

  it('Ollama: an {"error"} line ends the NDJSON stream, with no done line', async () => {
    const text = await killMidStream(
      '/api/chat',
      {
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Tell me a long story.' }],
        options: { num_predict: 1800, ...long },
      },
      (sofar) => sofar.split('\n').length > 3,
    );
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { done?: boolean; error?: string });
    expect(lines.some((line) => line.done === true)).toBe(false);
    expect(lines.at(-1)).toEqual({ error: expect.stringContaining('test/tiny-lm') });
  });
});
