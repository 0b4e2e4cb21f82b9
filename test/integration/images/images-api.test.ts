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

  it('makes n images with consecutive seeds, at the size asked', async () => {
    const pair = await client.images.generate({
      model: TURBO,
      prompt: 'a house on a hill',
      n: 2,
      size: '128x96',
      ...local({ seed: 7 }),
    });
    expect(pair.data).toHaveLength(2);
    for (const item of pair.data ?? [])
      expect(await png(item.b64_json)).toMatchObject({ width: 128, height: 96 });
    const second = await client.images.generate({
      model: TURBO,
      prompt: 'a house on a hill',
      size: '128x96',
      ...local({ seed: 8 }),
    });
    expect(pair.data?.[1]?.b64_json).toBe(second.data?.[0]?.b64_json);
    expect(pair.data?.[0]?.b64_json).not.toBe(pair.data?.[1]?.b64_json);
  });

  it('runs a guided fp16 model with DPM-Solver++ and v-prediction; guidance and the negative prompt change the image', async () => {
    const ask = { model: GUIDED, prompt: 'a painting of the sea', size: '64x64' as const };
    const guided = await client.images.generate({
      ...ask,
      ...local({ seed: 1, steps: 4, guidance_scale: 7.5 }),
    });
    const unguided = await client.images.generate({
      ...ask,
      ...local({ seed: 1, steps: 4, guidance_scale: 1 }),
    });
    const negative = await client.images.generate({
      ...ask,
      ...local({ seed: 1, steps: 4, guidance_scale: 7.5, negative_prompt: 'a red chair' }),
    });
    expect(await png(guided.data?.[0]?.b64_json)).toMatchObject({ width: 64, height: 64 });
    expect(unguided.data?.[0]?.b64_json).not.toBe(guided.data?.[0]?.b64_json);
    expect(negative.data?.[0]?.b64_json).not.toBe(guided.data?.[0]?.b64_json);
  });

  it('answers url with the image’s address in the gallery, which serves the same PNG', async () => {
    const byUrl = await client.images.generate({
      model: TURBO,
      prompt: 'a red chair',
      response_format: 'url',
      ...local({ seed: 5 }),
    });
    const url = byUrl.data?.[0]?.url ?? '';
    expect(url).toMatch(new RegExp(`^${core.url}/app/images/[0-9a-z]+\\.png$`));
    const served = await fetch(url);
    expect(served.headers.get('content-type')).toBe('image/png');
    const b64 = await client.images.generate({ model: TURBO, prompt: 'a red chair', ...local({ seed: 5 }) });
    expect(Buffer.from(await served.arrayBuffer()).toString('base64')).toBe(b64.data?.[0]?.b64_json);
  });

  it('refuses what it cannot draw with OpenAI errors that name the parameter', async () => {
    const refused = async (body: Parameters<typeof client.images.generate>[0]) => {
      const error: unknown = await client.images.generate(body).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(OpenAI.APIError);
      return error as InstanceType<typeof OpenAI.APIError>;
    };
    for (const size of ['100x100', '8x8', '4096x512', 'big'] as const) {
      const error = await refused({ model: TURBO, prompt: 'x', size: size as '256x256' });
      expect(error.status).toBe(400);
      expect(error.param).toBe('size');
      expect(error.message).toMatch(/multiple of 8/);
    }
    const unknown = await refused({ model: 'test/nothing', prompt: 'x' });
    expect(unknown.status).toBe(404);
    const wrongKind = await refused({ model: 'test/tiny-lm', prompt: 'x' });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.message).toMatch(/not an image-generation model/);
    const empty = await refused({ model: TURBO, prompt: '' });
    expect(empty.status).toBe(400);
    const many = await refused({ model: TURBO, prompt: 'x', n: 50 });
    expect(many.status).toBe(400);
    const format = await refused({ model: TURBO, prompt: 'x', output_format: 'webp' });
    expect(format.param).toBe('output_format');
  });

  it('keeps every image in the gallery: list, fetch, delete', async () => {
    const made = await client.images.generate({
      model: TURBO,
      prompt: 'kept for the gallery',
      ...local({ seed: 11 }),
    });
    const list = async () =>
      (
        (await (await fetch(`${core.url}/app/images`)).json()) as {
          images: { id: string; prompt: string; seed: number; model: string }[];
        }
      ).images;
    const [newest] = await list();
    expect(newest).toMatchObject({ prompt: 'kept for the gallery', seed: 11, model: TURBO });
    const file = await fetch(`${core.url}/app/images/${newest?.id}.png`);
    expect(Buffer.from(await file.arrayBuffer()).toString('base64')).toBe(made.data?.[0]?.b64_json);
    const deleted = await fetch(`${core.url}/app/images/${newest?.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect((await list()).some((image) => image.id === newest?.id)).toBe(false);
    const gone = await fetch(`${core.url}/app/images/${newest?.id}.png`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'not_found' } });
    const hostile = await fetch(`${core.url}/app/images/..%2F..%2Flodge.db`);
    expect(hostile.status).toBe(404);
  });

  it('streams one progress event per step on /app/images/generate, then the kept images', async () => {
    const response = await fetch(`${core.url}/app/images/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GUIDED, prompt: 'a small house', steps: 3, count: 2, seed: 4 }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events: { event: string | null; data: unknown }[] = [];
    for await (const event of serverSentEvents(response.body as ReadableStream<Uint8Array>))
      events.push({ event: event.event, data: JSON.parse(event.data) });
    const progress = events.filter((event) => event.event === 'progress').map((event) => event.data);
    expect(progress).toEqual([
      { image: 0, images: 2, step: 1, steps: 3 },
      { image: 0, images: 2, step: 2, steps: 3 },
      { image: 0, images: 2, step: 3, steps: 3 },
      { image: 1, images: 2, step: 1, steps: 3 },
      { image: 1, images: 2, step: 2, steps: 3 },
      { image: 1, images: 2, step: 3, steps: 3 },
    ]);
    const done = events.at(-1);
    expect(done?.event).toBe('done');
    expect(done?.data).toMatchObject({
      model: GUIDED,
      images: [
        { seed: 4, steps: 3, scheduler: 'dpmpp-2m', guidanceScale: 7.5 },
        { seed: 5, steps: 3, scheduler: 'dpmpp-2m' },
      ],
    });
    const bad = await fetch(`${core.url}/app/images/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GUIDED, prompt: 'x', size: '65x64' }),
    });
    const failed = [];
    for await (const event of serverSentEvents(bad.body as ReadableStream<Uint8Array>)) failed.push(event);
    expect(failed.at(-1)?.event).toBe('error');
    expect(JSON.parse(failed.at(-1)?.data ?? '{}')).toMatchObject({ error: { code: 'invalid_request' } });
  });
}, 120_000);
