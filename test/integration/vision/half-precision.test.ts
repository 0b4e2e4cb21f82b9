// The fp16 and q4f16 variants of a SmolVLM / Idefics3 export, through the real forked runner:
// pixel values, embeddings and the KV cache fed as binary16, features and logits read from it.
// Lodge's greedy text equals transformers.js' on the same variant and image, and the fp16 run of
// TINY_VLM's weights writes the fp32 run's text; NaN fp16 logits still fail the load check.
import { copyFileSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type ChatMessage, type GenerateEvent } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { TextTokenizer } from '../../../src/main/runner/text/tokenizer';
import { BUILT_RUNNER, startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
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

/** The greedy text of `messages` and the prompt tokens the runner's cache held from before. */
async function greedy(
  runner: RunnerProcess,
  messages: ChatMessage[],
): Promise<{ text: string; cached: number }> {
  const events: GenerateEvent[] = [];
  for await (const event of runner.generate({
    prompt: { kind: 'chat', messages },
    maxTokens: NEW_TOKENS,
    stop: [],
    sampling: GREEDY,
  }))
    events.push(event);
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error('no done event');
  const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
  return { text, cached: done.stats.cachedTokens };
}

async function greedyText(runner: RunnerProcess, messages: ChatMessage[]): Promise<string> {
  return (await greedy(runner, messages)).text;
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
    const turn = await greedy(runner, [first.lodge, { role: 'assistant', content: one }, second.lodge]);
    const two = turn.text;
    // The second turn reused the first's float16 keys and values, cut back to before the image.
    expect(turn.cached).toBeGreaterThan(0);
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

describe('a vision folder with fp32, fp16 and q4f16 variants in a served core', () => {
  const data = tempDir();
  const question = 'What is in this picture?';
  let core: TestCore;
  let openai: OpenAI;
  let image: Uint8Array;

  beforeAll(async () => {
    // One onnx/ folder with every variant's three graphs, as onnx-community ships them.
    const folder = join(data.path, 'models', 'test', 'smolvlm');
    mkdirSync(join(folder, 'onnx'), { recursive: true });
    cpSync(vlmPath(TINY_VLM), folder, { recursive: true, filter: (source) => !source.endsWith('.complete') });
    for (const spec of [TINY_VLM_FP16, TINY_VLM_Q4F16]) {
      const onnx = join(vlmPath(spec), 'onnx');
      for (const file of readdirSync(onnx)) copyFileSync(join(onnx, file), join(folder, 'onnx', file));
    }
    image = await testImage(80, 50, 1);
    core = await startTestCore({ dataDir: data.path });
    openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    data.remove();
  });

  it.each([
    { variant: 'fp16' as const, spec: TINY_VLM_FP16 },
    { variant: 'q4f16' as const, spec: TINY_VLM_Q4F16 },
  ])(
    'answers an OpenAI image_url on :$variant with the text transformers.js writes',
    async ({ variant, spec }) => {
      const dir = vlmPath(spec);
      const tokenizer = TextTokenizer.load(dir);
      const eos = new Set([tokenizer.idOf('<end_of_utterance>'), tokenizer.idOf('<|endoftext|>')]);
      const ids = await transformersVisionGreedy(
        dir,
        [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }],
        [image],
        NEW_TOKENS,
        variant,
      );
      const expected = tokenizer.decode(ids.filter((id) => !eos.has(id)));
      expect(expected.length).toBeGreaterThan(0);
      const answer = await openai.chat.completions.create({
        model: `test/smolvlm:${variant}`,
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'image_url',
                image_url: { url: `data:image/png;base64,${Buffer.from(image).toString('base64')}` },
              },
              { type: 'text', text: question },
            ],
          },
        ],
        temperature: 0,
        max_tokens: NEW_TOKENS,
      });
      expect(answer.choices[0]?.message.content).toBe(expected);
      // The tag chose the variant: the runner holds its graphs, not the fp32 ones a bare name may load.
      const { models } = await new Ollama({ host: core.url }).ps();
      expect(models.map((model) => model.details.quantization_level)).toContain(variant.toUpperCase());
    },
  );
});
