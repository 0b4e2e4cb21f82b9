import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverSentEvents } from '../../../src/shared/sse';
import { TINY_TURBO, writeDiffusionModel } from '../../fixtures/diffusion';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const TURBO = 'test/tiny-turbo';

/** Lodge's extensions to the request; spread in, so the SDK's own type stays as it is. */
function local(fields: { seed?: number; steps?: number; guidance_scale?: number; negative_prompt?: string }) {
  return fields;
}
const GUIDED = 'test/tiny-dpm';

describe('image generation, with the official openai SDK', () => {
  let core: TestCore;
  let client: OpenAI;
  const data = tempDir();
  beforeAll(async () => {
    const models = join(data.path, 'models');
    mkdirSync(join(models, TURBO), { recursive: true });
    writeDiffusionModel(join(models, TURBO), TINY_TURBO);
    mkdirSync(join(models, GUIDED), { recursive: true });
    writeDiffusionModel(join(models, GUIDED), {
      ...TINY_TURBO,
      scheduler: 'DPMSolverMultistepScheduler',
      timestepSpacing: 'linspace',
      predictionType: 'v_prediction',
      timestepType: 'int64',
      dtype: 'fp16',
      seed: 9,
    });
    core = await startTestCore({ dataDir: data.path, models: { 'test/tiny-lm': TINY_LM } });
    client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await core.dispose();
    data.remove();
  });

  const png = async (b64: string | undefined) => {
    const bytes = Buffer.from(b64 ?? '', 'base64');
    const { width, height, format } = await sharp(bytes).metadata();
    return { bytes, width, height, format };
  };

  it('lists a Stable Diffusion folder as a text-to-image model, its variant by the graphs’ dtype', async () => {
    const response = await fetch(`${core.url}/app/models`);
    const { models } = (await response.json()) as {
      models: { id: string; task: string; variants: { name: string }[] }[];
    };
    const byId = new Map(models.map((model) => [model.id, model]));
    expect(byId.get(TURBO)).toMatchObject({ task: 'text-to-image', variants: [{ name: 'fp32' }] });
    expect(byId.get(GUIDED)).toMatchObject({ task: 'text-to-image', variants: [{ name: 'fp16' }] });
  });

  it('generates a PNG at the model’s native size; the same seed gives the same image', async () => {
    const first = await client.images.generate({
      model: TURBO,
      prompt: 'a cat on a red chair',
      ...local({ seed: 42 }),
    });
    const image = await png(first.data?.[0]?.b64_json);
    expect(image).toMatchObject({ format: 'png', width: 64, height: 64 });
    const again = await client.images.generate({
      model: TURBO,
      prompt: 'a cat on a red chair',
      ...local({ seed: 42 }),
    });
    expect(again.data?.[0]?.b64_json).toBe(first.data?.[0]?.b64_json);
    const other = await client.images.generate({
      model: TURBO,
      prompt: 'a cat on a red chair',
      ...local({ seed: 43 }),
    });
    expect(other.data?.[0]?.b64_json).not.toBe(first.data?.[0]?.b64_json);
    const prompt = await client.images.generate({
      model: TURBO,
      prompt: 'the sea at night',
      ...local({ seed: 42 }),
    });
    expect(prompt.data?.[0]?.b64_json).not.toBe(first.data?.[0]?.b64_json);
  });
}, 120_000);
