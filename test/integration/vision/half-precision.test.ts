// The fp16 and q4f16 variants of a SmolVLM / Idefics3 export, through the real forked runner:
// pixel values, embeddings and the KV cache fed as binary16, features and logits read from it.
// Lodge's greedy text equals transformers.js' on the same variant and image, and the fp16 run of
// TINY_VLM's weights writes the fp32 run's text; NaN fp16 logits still fail the load check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type ChatMessage, type GenerateEvent } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { TextTokenizer } from '../../../src/main/runner/text/tokenizer';
import { BUILT_RUNNER } from '../../helpers/core';
import {
  TINY_VLM,
  TINY_VLM_FP16,
  TINY_VLM_FP16_PIXELS,
  TINY_VLM_Q4F16,
  vlmDecoderFile,
  vlmPath,
  type VisionModelSpec,
} from '../../fixtures/vlm';
import { testImage } from '../../fixtures/vlm-image';
import { transformersVisionGreedy, type PartsMessage } from './reference';

const NEW_TOKENS = 12;

async function loaded(spec: VisionModelSpec): Promise<RunnerProcess> {
  const dir = vlmPath(spec);
  const runner = new RunnerProcess('test/vision-half', BUILT_RUNNER);
  await runner.ready;
  await runner.load({
    modelId: 'test/vision-half',
    task: 'image-text-to-text',
    dir,
    modelFile: vlmDecoderFile(dir, spec),
    providers: ['cpu'],
    threads: 1,
    cacheDir: null,
  });
  return runner;
}

async function greedyText(runner: RunnerProcess, messages: ChatMessage[]): Promise<string> {
  const events: GenerateEvent[] = [];
  for await (const event of runner.generate({
    prompt: { kind: 'chat', messages },
    maxTokens: NEW_TOKENS,
    stop: [],
    sampling: GREEDY,
  }))
    events.push(event);
  if (events.at(-1)?.type !== 'done') throw new Error('no done event');
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

function question(image: Uint8Array, text: string): { lodge: ChatMessage; reference: PartsMessage } {
  return {
    lodge: {
      role: 'user',
      content: text,
      parts: [
        { type: 'image', image },
        { type: 'text', text },
      ],
    },
    reference: { role: 'user', content: [{ type: 'image' }, { type: 'text', text }] },
  };
}

describe.each([
  { name: 'fp16', spec: TINY_VLM_FP16, dtype: 'fp16' as const },
  { name: 'q4f16', spec: TINY_VLM_Q4F16, dtype: 'q4f16' as const },
])('vision $name variant', ({ spec, dtype }) => {
  const dir = vlmPath(spec);
  let runner: RunnerProcess;
  let tokenizer: TextTokenizer;
  let wide: Uint8Array;
  let tall: Uint8Array;

  beforeAll(async () => {
    wide = await testImage(80, 50, 1);
    tall = await testImage(40, 70, 2);
    tokenizer = TextTokenizer.load(dir);
    runner = await loaded(spec);
  });
  afterAll(async () => {
    await runner.stop();
  });

  it(`writes transformers.js' greedy text (dtype ${dtype}), two turns on the half-precision cache`, async () => {
    const eos = new Set([tokenizer.idOf('<end_of_utterance>'), tokenizer.idOf('<|endoftext|>')]);
    const decode = (ids: number[]) => tokenizer.decode(ids.filter((id) => !eos.has(id)));
    const first = question(wide, 'What is in this picture?');
    const second = question(tall, 'And this one?');
    const one = await greedyText(runner, [first.lodge]);
    expect(one.length).toBeGreaterThan(0);
    expect(one).toBe(
      decode(await transformersVisionGreedy(dir, [first.reference], [wide], NEW_TOKENS, dtype)),
    );
    const two = await greedyText(runner, [first.lodge, { role: 'assistant', content: one }, second.lodge]);
    const reference = [
      first.reference,
      { role: 'assistant' as const, content: [{ type: 'text' as const, text: one }] },
      second.reference,
    ];
    expect(two).toBe(decode(await transformersVisionGreedy(dir, reference, [wide, tall], NEW_TOKENS, dtype)));
  });
});

describe.each([
  { name: 'float32 pixel values', spec: TINY_VLM_FP16 },
  { name: 'float16 pixel values', spec: TINY_VLM_FP16_PIXELS },
])('vision fp16 variant ($name) against the fp32 weights it was rounded from', ({ spec }) => {
  let half: RunnerProcess;
  let full: RunnerProcess;
  beforeAll(async () => {
    [half, full] = await Promise.all([loaded(spec), loaded(TINY_VLM)]);
  });
  afterAll(async () => {
    await Promise.all([half.stop(), full.stop()]);
  });

  it('writes the same greedy text as the fp32 variant of the same weights', async () => {
    for (const [width, height, seed] of [
      [80, 50, 1],
      [40, 70, 2],
    ] as const) {
      const { lodge } = question(await testImage(width, height, seed), 'Describe it.');
      const ours = await greedyText(half, [lodge]);
      expect(ours.length).toBeGreaterThan(0);
      expect(ours).toBe(await greedyText(full, [lodge]));
    }
  });
});

describe('vision fp16 load check', () => {
  it('refuses an fp16 variant whose logits are NaN', async () => {
    const spec = { ...TINY_VLM_FP16_PIXELS, poison: true };
    const dir = vlmPath(spec);
    const runner = new RunnerProcess('test/vision-nan', BUILT_RUNNER);
    await runner.ready;
    try {
      await expect(
        runner.load({
          modelId: 'test/vision-nan',
          task: 'image-text-to-text',
          dir,
          modelFile: vlmDecoderFile(dir, spec),
          providers: ['cpu'],
          threads: 1,
          cacheDir: null,
        }),
      ).rejects.toThrow(/failed its load check.*not finite \(NaN\)/);
    } finally {
      await runner.stop();
    }
  });
});
