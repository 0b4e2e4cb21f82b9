// Continuous batching of an fp16 model (half-precision activations, keys, values and logits) in a
// real forked runner, which reads fp16 as it ships (without Float16Array): each batched row's
// logits are read from half precision into a buffer kept across steps, and must stay that row's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { BUILT_RUNNER } from '../../helpers/core';
import { fixturePath, lmFileName, TINY_LM, type LanguageModelSpec } from '../../fixtures/models';

const FP16_LM: LanguageModelSpec = { ...TINY_LM, dtype: 'fp16', seed: 29 };

// Prompts of different lengths, so the batch pads.
const PROMPTS = [
  'Hi',
  'The quick brown fox jumps',
  'Once upon a time, in a land far away, there lived',
  'a b c',
  'Tell me a story about the sea',
  'x',
];

async function text(runner: RunnerProcess, prompt: string): Promise<string> {
  let written = '';
  for await (const event of runner.generate({
    prompt: { kind: 'text', text: prompt },
    maxTokens: 24,
    stop: [],
    sampling: GREEDY,
    ignoreEos: true,
  }))
    if (event.type === 'text') written += event.text;
  return written;
}

describe('continuous batching on an fp16 LM in a forked runner', () => {
  let runner: RunnerProcess;
  let batching: unknown;
  beforeAll(async () => {
    const dir = fixturePath(FP16_LM);
    runner = new RunnerProcess('test/batch-fp16', BUILT_RUNNER);
    await runner.ready;
    const loaded = await runner.load({
      modelId: 'test/batch-fp16',
      task: 'text-generation',
      dir,
      modelFile: join(dir, 'onnx', lmFileName(FP16_LM)),
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
      parallel: 8,
    });
    batching = loaded.batching;
  });
  afterAll(async () => {
    await runner.stop();
  });

  it('batches, and concurrent greedy sequences each write what they write alone', async () => {
    expect(batching).toEqual({ parallel: 8, layout: 'left', reason: null });
    const alone: string[] = [];
    for (const prompt of PROMPTS) alone.push(await text(runner, prompt));
    const together = await Promise.all(PROMPTS.map((prompt) => text(runner, prompt)));
    expect(together).toEqual(alone);
    expect(new Set(alone).size).toBeGreaterThan(1);
  });
});
