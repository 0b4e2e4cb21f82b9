import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testImage } from '../../fixtures/vlm-image';
import { toneBursts, wavFile } from '../../fixtures/whisper-audio';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const ROOT = join(import.meta.dirname, '../../..');

/** Every demo model and the task the library must read it as. */
const DEMO_TASKS = {
  'demo/tiny-chat': 'text-generation',
  'demo/tiny-embeddings': 'embeddings',
  'demo/tiny-tensors': 'tensors',
  'demo/tiny-sd-turbo': 'text-to-image',
  'demo/tiny-whisper': 'speech-to-text',
  'demo/tiny-smolvlm': 'image-text-to-text',
};

/** Each demo model answers through its own API family. */
async function answersThroughItsApi(core: TestCore): Promise<void> {
  const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  const chat = await client.chat.completions.create({
    model: 'demo/tiny-chat',
    messages: [{ role: 'user', content: 'Hello there!' }],
    max_tokens: 4,
    temperature: 0,
  });
  expect(chat.choices[0]?.message.content?.length).toBeGreaterThan(0);
  const embedded = await client.embeddings.create({
    model: 'demo/tiny-embeddings',
    input: ['a cat', 'a dog'],
  });
  expect(embedded.data).toHaveLength(2);
  expect(embedded.data[0]?.embedding.length).toBe(32);
  // FP16 travels binary (KServe's binary extension): 1.5 as IEEE half.
  const half = Buffer.from(Uint16Array.of(0x3e00).buffer);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'ids', shape: [1], datatype: 'INT64', data: [41] },
        { name: 'counts', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] },
        { name: 'flags', shape: [1], datatype: 'BOOL', data: [true] },
        { name: 'bytes', shape: [1], datatype: 'UINT8', data: [7] },
        { name: 'factor', shape: [1], datatype: 'FP64', data: [0.5] },
        { name: 'text', shape: [1], datatype: 'BYTES', data: ['hi'] },
        { name: 'half', shape: [1], datatype: 'FP16', parameters: { binary_data_size: half.length } },
      ],
    }),
  );
  const inferred = await fetch(`${core.url}/v2/models/demo%2Ftiny-tensors/infer`, {
    method: 'POST',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
    body: Buffer.concat([header, half]),
  });
  const tensors = (await inferred.json()) as { outputs: { name: string; data: unknown[] }[] };
  expect(inferred.status, JSON.stringify(tensors)).toBe(200);
  expect(tensors.outputs.find((output) => output.name === 'scaled')?.data).toEqual([2, 4, 6, 8]);
  const drawn = await client.images.generate({ model: 'demo/tiny-sd-turbo', prompt: 'a red chair' });
  const image = await sharp(Buffer.from(drawn.data?.[0]?.b64_json ?? '', 'base64')).metadata();
  expect(image).toMatchObject({ format: 'png', width: 64, height: 64 });
  const heard = await client.audio.transcriptions.create({
    model: 'demo/tiny-whisper',
    file: await toFile(wavFile([toneBursts(2)], 16_000), 'tone.wav', { type: 'audio/wav' }),
    response_format: 'verbose_json',
  });
  expect(heard.duration).toBeCloseTo(2, 1);
  const seen = await client.chat.completions.create({
    model: 'demo/tiny-smolvlm',
    max_tokens: 4,
    temperature: 0,
    messages: [
      {
        role: 'user',
        content: [
          {
            type: 'image_url',
            image_url: { url: `data:image/png;base64,${(await testImage(32, 32)).toString('base64')}` },
          },
          { type: 'text', text: 'What is this?' },
        ],
      },
    ],
  });
  expect(seen.usage?.completion_tokens).toBeGreaterThan(0);
}

describe('npm run demo-models', () => {
  const data = tempDir();
  let core: TestCore;
  beforeAll(async () => {
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts/demo-models.mjs'), join(data.path, 'models')],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n').sort()).toEqual(Object.keys(DEMO_TASKS).sort());
    core = await startTestCore({ dataDir: data.path });
  }, 120_000);
  afterAll(async () => {
    await core.dispose();
    data.remove();
  });

  it('writes a model of every kind, each one the library reads as its kind', async () => {
    expect(readdirSync(join(data.path, 'models', 'demo')).sort()).toEqual(
      Object.keys(DEMO_TASKS)
        .map((id) => id.slice(5))
        .sort(),
    );
    const { models } = (await (await fetch(`${core.url}/app/models`)).json()) as {
      models: { id: string; task: string }[];
    };
    expect(Object.fromEntries(models.map((model) => [model.id, model.task]))).toEqual(DEMO_TASKS);
  });

  it('loads each one and answers through its API', async () => {
    await answersThroughItsApi(core);
  }, 120_000);
});

describe('POST /app/models/demo', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await startTestCore();
  });
  afterAll(async () => {
    await core.dispose();
  });

  it('writes the demo models into the library that had none, once', async () => {
    const first = await fetch(`${core.url}/app/models/demo`, { method: 'POST' });
    expect(first.status).toBe(200);
    const body = (await first.json()) as { written: string[]; added: string[] };
    expect(body.written.sort()).toEqual(Object.keys(DEMO_TASKS).sort());
    expect(body.added.sort()).toEqual(Object.keys(DEMO_TASKS).sort());
    await answersThroughItsApi(core);
    const again = (await (await fetch(`${core.url}/app/models/demo`, { method: 'POST' })).json()) as {
      written: string[];
    };
    expect(again.written).toEqual([]);
  }, 120_000);
});
