import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { fixturePath, TENSOR_MODEL, TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';

const json = (response: Response) => response.json() as Promise<Record<string, unknown>>;

describe('the model library', () => {
  let core: TestCore;
  const outside = tempDir('lodge-outside-');
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${core.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });

  beforeAll(async () => {
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
  });
  afterAll(async () => {
    await core.dispose();
    outside.remove();
  });

  it('imports a folder by copy: validated, hashed with progress, in models/', async () => {
    const events = await fetch(`${core.url}/app/events`);
    const reader = events.body?.getReader();
    const response = await call('POST', '/app/models/import', {
      path: fixturePath(TINY_EMBEDDER),
      mode: 'copy',
      id: 'acme/embedder',
    });
    expect(response.status).toBe(200);
    const model = await json(response);
    expect(model).toMatchObject({
      id: 'acme/embedder',
      task: 'embeddings',
      status: 'ready',
      source: { kind: 'import', inPlace: false },
      location: join(core.dataDir, 'models/acme/embedder'),
    });
    const files = model.files as { path: string; sha256: string }[];
    const graph = files.find((file) => file.path === 'onnx/model.onnx');
    expect(graph?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(fixturePath(TINY_EMBEDDER), 'onnx/model.onnx')))
        .digest('hex'),
    );
    let seen = '';
    while (!seen.includes('event: import-progress') || !seen.includes('event: models'))
      seen += new TextDecoder().decode((await reader?.read())?.value);
    expect(seen).toMatch(/"id":"acme\/embedder","doneBytes":\d+,"totalBytes":\d+/);
    await reader?.cancel();
    // It serves at once.
    const embedded = await call('POST', '/v1/embeddings', {
      model: 'acme/embedder',
      input: 'hello',
      encoding_format: 'float',
    });
    expect(embedded.status).toBe(200);
  });

  it('imports a single .onnx file, and registers a folder in place', async () => {
    const file = await json(
      await call('POST', '/app/models/import', { path: join(fixturePath(TENSOR_MODEL), 'model.onnx') }),
    );
    expect(file).toMatchObject({ id: 'local/model', format: 'onnx', task: 'tensors' });
    const folder = join(outside.path, 'my-lm');
    cpSync(fixturePath(TINY_LM), folder, { recursive: true });
    const inPlace = await json(await call('POST', '/app/models/import', { path: folder, mode: 'in-place' }));
    expect(inPlace).toMatchObject({
      id: 'local/my-lm',
      location: folder,
      source: { kind: 'import', inPlace: true },
    });
    expect(existsSync(join(core.dataDir, 'models/local/my-lm'))).toBe(false);
  });

  it('says why it cannot import what is not a model, and refuses relative paths and taken ids', async () => {
    mkdirSync(join(outside.path, 'notes'));
    writeFileSync(join(outside.path, 'notes/readme.txt'), 'hi');
    const notModel = await call('POST', '/app/models/import', { path: join(outside.path, 'notes') });
    expect(notModel.status).toBe(400);
    expect(await json(notModel)).toMatchObject({
      error: {
        message: expect.stringMatching(
          /neither a Hugging Face ONNX export .* nor a folder with one \.onnx file/,
        ),
      },
    });
    expect((await call('POST', '/app/models/import', { path: 'relative/path' })).status).toBe(400);
    const taken = await call('POST', '/app/models/import', {
      path: fixturePath(TINY_LM),
      id: 'test/tiny-lm',
    });
    expect(taken.status).toBe(409);
    const traversal = await call('POST', '/app/models/import', {
      path: fixturePath(TINY_LM),
      id: '../escape',
    });
    expect(traversal.status).toBe(400);
  });

  it('counts parameters from the graph initializers', async () => {
    const model = await json(await call('GET', '/app/models/test/tiny-lm'));
    const graph = onnx.ModelProto.decode(readFileSync(join(fixturePath(TINY_LM), 'onnx/model.onnx'))).graph;
    const expected = (graph?.initializer ?? []).reduce(
      (sum, tensor) => sum + (tensor.dims ?? []).reduce((product, dim) => product * Number(dim), 1),
      0,
    );
    expect(model.parameterCount).toBe(expected);
    expect(model.inputs).toEqual(
      expect.arrayContaining([
        { name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
      ]),
    );
  });

  it('applies the preset and alias in every API, and keeps them across a restart', async () => {
    const updated = await json(
      await call('PATCH', '/app/models/test/tiny-lm', {
        alias: 'tiny',
        tags: ['chat'],
        preset: { temperature: 0, maxTokens: 3, systemPrompt: 'Be brief.' },
      }),
    );
    expect(updated).toMatchObject({ alias: 'tiny', tags: ['chat'], preset: { maxTokens: 3 } });
    const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const reply = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(reply.usage?.completion_tokens).toBe(3);
    // The system prompt is part of the prompt: it costs tokens.
    const bare = await client.chat.completions.create({
      model: 'tiny',
      messages: [
        { role: 'system', content: '' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(reply.usage?.prompt_tokens).toBeGreaterThan(bare.usage?.prompt_tokens ?? 0);
    const ollama = await call('POST', '/api/generate', { model: 'tiny', prompt: 'Hi', stream: false });
    expect(await json(ollama)).toMatchObject({ eval_count: 3 });
    expect((await call('PATCH', '/app/models/test/tiny-lm', { alias: 'bad alias!' })).status).toBe(400);
    expect((await call('PATCH', '/app/models/test/tiny-lm', { preset: { variant: 'q4' } })).status).toBe(400);

    await core.dispose({ keepData: true });
    core = await startTestCore({ dataDir: core.dataDir });
    expect(await json(await call('GET', '/app/models/test/tiny-lm'))).toMatchObject({
      alias: 'tiny',
      preset: { maxTokens: 3, temperature: 0 },
    });
    expect((await json(await call('GET', '/app/models/test/tiny-lm'))).lastUsedAt).not.toBeNull();
  });

  it('marks models whose files vanished as missing, and picks up folders dropped in by hand', async () => {
    rmSync(join(core.dataDir, 'models/acme/embedder'), { recursive: true });
    cpSync(fixturePath(TINY_LM), join(core.dataDir, 'models/dropped/lm'), { recursive: true });
    const { models } = (await json(await call('POST', '/app/models/refresh'))) as {
      models: { id: string; status: string; source: { kind: string } }[];
    };
    expect(models.find((model) => model.id === 'acme/embedder')).toMatchObject({ status: 'missing' });
    expect(models.find((model) => model.id === 'dropped/lm')).toMatchObject({
      status: 'ready',
      source: { kind: 'folder' },
    });
    const missing = await call('POST', '/v1/embeddings', { model: 'acme/embedder', input: 'x' });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({
      error: { message: expect.stringMatching(/files of 'acme\/embedder' are missing/) },
    });
    expect(
      ((await json(await call('GET', '/v1/models'))).data as { id: string }[]).map((model) => model.id),
    ).not.toContain('acme/embedder');
  });

  it('deletes only inside models/: never through a symlink, never the files of an in-place model', async () => {
    // A model folder that is a symlink to a folder outside models/.
    const target = join(outside.path, 'linked');
    cpSync(fixturePath(TINY_LM), target, { recursive: true });
    mkdirSync(join(core.dataDir, 'models/evil'), { recursive: true });
    symlinkSync(target, join(core.dataDir, 'models/evil/link'));
    await call('POST', '/app/models/refresh');
    // It is not even taken into the library, so there is nothing to delete through it.
    expect((await call('GET', '/app/models/evil/link')).status).toBe(404);
    const refused = await call('DELETE', '/app/models/evil/link');
    expect(refused.status).toBe(404);
    expect(existsSync(join(target, 'onnx/model.onnx'))).toBe(true);

    for (const path of ['/app/models/..%2F..%2Fetc/passwd', '/app/models/../../x', '/app/models/%2E%2E/x']) {
      expect([400, 404]).toContain((await call('DELETE', path)).status);
    }

    const inPlace = await json(await call('DELETE', '/app/models/local/my-lm'));
    expect(inPlace).toEqual({ id: 'local/my-lm', filesRemoved: false });
    expect(existsSync(join(outside.path, 'my-lm/onnx/model.onnx'))).toBe(true);

    const removed = await json(await call('DELETE', '/app/models/dropped/lm'));
    expect(removed).toEqual({ id: 'dropped/lm', filesRemoved: true });
    expect(existsSync(join(core.dataDir, 'models/dropped'))).toBe(false);
    expect((await call('GET', '/app/models/dropped/lm')).status).toBe(404);
  });

  it('reports disk usage', async () => {
    const disk = await json(await call('GET', '/app/disk'));
    expect(disk).toMatchObject({
      dataDir: core.dataDir,
      modelsBytes: expect.any(Number),
      freeBytes: expect.any(Number),
    });
    expect(disk.modelsBytes as number).toBeGreaterThan(100_000);
  });
});
