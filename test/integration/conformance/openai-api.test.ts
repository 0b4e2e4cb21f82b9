// Over the OpenAI API, as a client sees it: temperature 0 against transformers.js' generate() with
// the model's own generation_config.json (repetition_penalty 1.05, which Hugging Face applies to
// every token of the sequence, prompt included), on a conversation longer than Ollama's 64-token
// repetition window.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { fixturePath, TINY_LM, type LanguageModelSpec } from '../../fixtures/models';
import { chatIds, decodeIds, transformersGreedyWithModelDefaults, type Message } from './reference';

// Seed 24 answers " is" first under a 64-token window and "g" under the whole-sequence penalty.
const SPEC: LanguageModelSpec = { ...TINY_LM, hidden: 32, ffn: 64, maxPositions: 512, seed: 24 };
const NEW_TOKENS = 32;

const CONVERSATION: Message[] = [
  { role: 'system', content: 'You are a helpful assistant who answers in short sentences.' },
  { role: 'user', content: 'Tell me about the sea, the waves, the boats and the fish that swim in it.' },
  { role: 'assistant', content: 'The sea is wide and deep. Waves roll in, boats sail out, fish swim below.' },
  { role: 'user', content: 'And what about the mountains, the snow, the rivers and the forests?' },
];

describe('greedy answers over the OpenAI API', () => {
  let core: TestCore;
  let client: OpenAI;
  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/conformance': SPEC } });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('match transformers.js with the model’s generation_config (repetition penalty over the whole sequence)', async () => {
    const dir = fixturePath(SPEC);
    const prompt = await chatIds(dir, CONVERSATION);
    expect(prompt.length).toBeGreaterThan(64);
    const answer = await client.chat.completions.create({
      model: 'test/conformance',
      messages: CONVERSATION,
      max_tokens: NEW_TOKENS,
      temperature: 0,
    });
    const reference = await transformersGreedyWithModelDefaults(dir, prompt, NEW_TOKENS);
    expect(answer.choices[0]?.message.content).toBe(await decodeIds(dir, reference));
  });
});
