// Continuous batching as a client sees it: concurrent greedy streams over the OpenAI SDK against a
// served core each write, token for token, what they write alone.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlotEvent } from '../../../src/shared/slot-state';
import { startTestCore, type TestCore } from '../../helpers/core';
import { TINY_LM, WIDE_LM, type LanguageModelSpec } from '../../fixtures/models';

const MODELS: Readonly<Record<string, LanguageModelSpec>> = {
  'test/wide': WIDE_LM,
  'test/gqa': { ...TINY_LM, gqa: true, seed: 23 },
  'test/fp16': { ...TINY_LM, dtype: 'fp16', seed: 29 },
};

// Eight questions of different lengths, so every batch pads its rows.
const QUESTIONS = [
  'Hi',
  'Tell me about the sea.',
  'What is the capital of France, and what river runs through it?',
  'Count to five.',
  'Once upon a time, in a land far away, there lived a king who loved riddles. Tell me one of his.',
  'Why is the sky blue?',
  'ok',
  'Write a haiku about mountains, snow and the quiet of the forest at night.',
];

describe('continuous batching over the OpenAI API', () => {
  let core: TestCore;
  let client: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({ models: MODELS, env: { LODGE_PARALLEL: '8' } });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  async function stream(model: string, question: string): Promise<string> {
    const chunks = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: question }],
      max_tokens: 24,
      temperature: 0,
      stream: true,
    });
    let text = '';
    for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
    return text;
  }

  /** The most requests the model served at once while `work` ran, from its slot events. */
  async function mostActive(model: string, work: () => Promise<void>): Promise<number> {
    let most = 0;
    const off = core.lodge.engine.onSlot((event: SlotEvent) => {
      if (event.id === model) most = Math.max(most, event.active);
    });
    try {
      await work();
    } finally {
      off();
    }
    return most;
  }

  it.each(['test/wide', 'test/gqa', 'test/fp16'])(
    '%s: eight concurrent greedy streams each equal their solo run, token for token',
    async (model) => {
      const alone: string[] = [];
      for (const question of QUESTIONS) alone.push(await stream(model, question));
      expect(alone.every((text) => text.length > 0)).toBe(true);
      let together: string[] = [];
      const most = await mostActive(model, async () => {
        together = await Promise.all(QUESTIONS.map((question) => stream(model, question)));
      });
      expect(together).toEqual(alone);
      expect(most).toBeGreaterThan(1);
      const running = core.lodge.engine.running().find((entry) => entry.id === model);
      expect(running).toMatchObject({ parallel: 8, batchingNote: null });
    },
    120_000,
  );
});
