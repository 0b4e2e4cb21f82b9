// The vision-language runner against transformers.js on the same generated SmolVLM / Idefics3
// model and images: the preprocessed pixel values (resize, tiles, global view, normalization), the
// expanded prompt ids, the greedy token ids of Lodge's model in process, and the greedy text of the
// real forked runner, over two chat turns with image splitting on and off.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type ChatMessage, type GenerateEvent } from '../../../src/shared/engine';
import { RunnerProcess } from '../../../src/main/core/engine/runner-process';
import { readImageConfig } from '../../../src/main/runner/vision/image-config';
import { processImage } from '../../../src/main/runner/vision/image-processor';
import { VisionLanguageModel } from '../../../src/main/runner/vision/vision-model';
import { visionPrompt } from '../../../src/main/runner/vision/vision-prompt';
import { readJson } from '../../../src/main/runner/model/model-files';
import { BUILT_RUNNER } from '../../helpers/core';
import { TINY_VLM, TINY_VLM_UNSPLIT, vlmPath } from '../../fixtures/vlm';
import { testImage } from '../../fixtures/vlm-image';
import { transformersInputs, transformersVisionGreedy, type PartsMessage } from './reference';

const NEW_TOKENS = 12;
/** Largest difference allowed between Lodge's and transformers.js' pixel values (normalized to −1…1). */
const PIXEL_TOLERANCE = 1e-5;

function argmax(values: Float32Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++)
    if ((values[index] as number) > (values[best] as number)) best = index;
  return best;
}

describe.each([
  { name: 'image splitting on', spec: TINY_VLM },
  { name: 'image splitting off', spec: TINY_VLM_UNSPLIT },
])('vision conformance: $name', ({ spec }) => {
  const dir = vlmPath(spec);
  const modelFile = join(dir, 'onnx', 'decoder_model_merged.onnx');
  let wide: Uint8Array;
  let tall: Uint8Array;
  let runner: RunnerProcess;
  let model: VisionLanguageModel;

  const question = (image: Uint8Array, text: string): { lodge: ChatMessage; reference: PartsMessage } => ({
    lodge: {
      role: 'user',
      content: text,
      parts: [
        { type: 'image', image },
        { type: 'text', text },
      ],
    },
    reference: { role: 'user', content: [{ type: 'image' }, { type: 'text', text }] },
  });

  beforeAll(async () => {
    wide = await testImage(80, 50, 1);
    tall = await testImage(40, 70, 2);
    runner = new RunnerProcess('test/vision', BUILT_RUNNER);
    await runner.ready;
    await runner.load({
      modelId: 'test/vision',
      task: 'image-text-to-text',
      dir,
      modelFile,
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    });
    model = (
      await VisionLanguageModel.open(dir, modelFile, { providers: ['cpu'], threads: 1, cacheDir: null })
    ).model;
  });
  afterAll(async () => {
    await runner.stop();
    await model.release();
  });

  it(`preprocesses images into the pixel values transformers.js makes (within ${PIXEL_TOLERANCE})`, async () => {
    const config = readImageConfig(dir, 'test', readJson(dir, 'config.json'));
    for (const bytes of [wide, tall]) {
      const reference = await transformersInputs(dir, [question(bytes, 'Hi').reference], [bytes]);
      const processed = await processImage(bytes, 0, config);
      expect([1, processed.tiles.length, 3, config.tile, config.tile]).toEqual(reference.dims);
      const ours = new Float32Array(reference.pixels.length);
      processed.tiles.forEach((tile, index) => ours.set(tile, index * tile.length));
      let worst = 0;
      for (let index = 0; index < ours.length; index++)
        worst = Math.max(worst, Math.abs((ours[index] as number) - (reference.pixels[index] as number)));
      expect(worst).toBeLessThanOrEqual(PIXEL_TOLERANCE);
    }
  });

  it('expands the image places into the prompt ids transformers.js makes', async () => {
    const { lodge, reference } = question(wide, 'What is in this picture?');
    const ours = await visionPrompt(
      model,
      { prompt: { kind: 'chat', messages: [lodge] }, stop: [], sampling: GREEDY },
      'test',
    );
    const theirs = await transformersInputs(dir, [reference], [wide]);
    expect(ours.ids).toEqual(theirs.ids);
    expect(ours.ids.filter((id) => id === model.imageTokenId).length).toBeGreaterThan(0);
  });

  it('chooses the greedy tokens transformers.js generates (in process, token ids)', async () => {
    const { lodge, reference } = question(tall, 'Describe it.');
    const prompt = await visionPrompt(
      model,
      { prompt: { kind: 'chat', messages: [lodge] }, stop: [], sampling: GREEDY },
      'test',
    );
    const embeds = await model.embeddings(prompt.ids, prompt.images);
    let { logits } = await model.prefill(prompt.ids, embeds);
    const ours: number[] = [];
    while (ours.length < NEW_TOKENS) {
      const token = argmax(logits);
      ours.push(token);
      if (model.eosIds.has(token)) break;
      logits = await model.step(token);
    }
    const theirs = await transformersVisionGreedy(dir, [reference], [tall], NEW_TOKENS);
    expect(ours).toEqual(theirs.slice(0, ours.length));
    expect(new Set(ours).size).toBeGreaterThan(1);
  });

  it('writes transformers.js’ greedy text through the forked runner, two turns, the second reusing the cache', async () => {
    const turn = async (messages: ChatMessage[]) => {
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
      return {
        text: events.map((event) => (event.type === 'text' ? event.text : '')).join(''),
        stats: done.stats,
      };
    };
    const first = question(wide, 'What is in this picture?');
    const second = question(tall, 'And this one?');
    const one = await turn([first.lodge]);
    const answer = { role: 'assistant' as const, content: one.text };
    const two = await turn([first.lodge, answer, second.lodge]);
    const decode = (ids: number[]) => model.tokenizer.decode(ids.filter((id) => !model.eosIds.has(id)));
    expect(one.text).toBe(decode(await transformersVisionGreedy(dir, [first.reference], [wide], NEW_TOKENS)));
    expect(two.text).toBe(
      decode(
        await transformersVisionGreedy(
          dir,
          [
            first.reference,
            { role: 'assistant', content: [{ type: 'text', text: one.text }] },
            second.reference,
          ],
          [wide, tall],
          NEW_TOKENS,
        ),
      ),
    );
    expect(one.text.length).toBeGreaterThan(0);
    expect(two.stats.cachedTokens).toBeGreaterThan(0);
  });
});
