import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateEvent, type GenerateRequest } from '../../../src/shared/engine';
import { generate } from '../../../src/main/runner/llm/generate';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { fixturePath, lmFileName, TINY_LM, type LanguageModelSpec } from '../../fixtures/models';

const GQA_LM: LanguageModelSpec = { ...TINY_LM, gqa: true, seed: 23 };

async function open(spec: LanguageModelSpec, parallel: number) {
  const dir = fixturePath(spec);
  return (
    await LanguageModel.open(
      dir,
      join(dir, 'onnx', lmFileName(spec)),
      { providers: ['cpu'], threads: 1, cacheDir: null },
      'test/batch',
      parallel,
    )
  ).model;
}

async function run(model: LanguageModel, text: string, extra: Partial<GenerateRequest> = {}) {
  const events: GenerateEvent[] = [];
  for await (const event of generate(
    model,
    { prompt: { kind: 'text', text }, maxTokens: 24, stop: [], sampling: GREEDY, ignoreEos: true, ...extra },
    'test/batch',
    new AbortController().signal,
  ))
    events.push(event);
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

// Prompts of different lengths, so the batch pads.
const PROMPTS = [
  'Hi',
  'The quick brown fox jumps',
  'Once upon a time, in a land far away, there lived',
  'a b c',
  'Lodge hosts models on your own machine and serves them',
  'Tell me a story about the sea',
  'x',
  'What is the capital of France? The capital of France is',
];

describe.each([
  ['tiny LM (attention mask and position ids)', TINY_LM, 'left'],
  ['GroupQueryAttention LM (seqlens_k)', GQA_LM, 'right'],
] as const)('continuous batching on the %s', (_, spec, layout) => {
  let solo: LanguageModel;
  let batched: LanguageModel;
  beforeAll(async () => {
    solo = await open(spec, 1);
    batched = await open(spec, 8);
  });
  afterAll(async () => {
    await solo.release();
    await batched.release();
  });

  it('batches, and eight concurrent greedy sequences each write what they write alone', async () => {
    expect(batched.batching).toEqual({ parallel: 8, layout, reason: null });
    const alone: string[] = [];
    for (const prompt of PROMPTS) alone.push(await run(solo, prompt));
    const before = batched.batchStats.batchedSteps;
    const together = await Promise.all(PROMPTS.map((prompt) => run(batched, prompt)));
    expect(together).toEqual(alone);
    expect(batched.batchStats.batchedSteps).toBeGreaterThan(before);
  });
});
