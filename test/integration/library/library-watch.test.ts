import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RescanResult } from '../../../src/shared/contract/models';
import { fixturePath, installFixture, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

interface ModelList {
  readonly models: { id: string; status: string }[];
}

describe('the library sees what changes on disk', () => {
  let core: TestCore;
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${core.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  const statusOf = async (id: string) =>
    ((await (await call('GET', '/app/models')).json()) as ModelList).models.find((model) => model.id === id)
      ?.status;

  beforeAll(async () => {
    core = await startTestCore();
  });
  afterAll(async () => {
    await core?.dispose();
  });

  it('adds a model folder dropped into models/ under a new owner, without a restart', async () => {
    expect(await statusOf('dropped/tiny')).toBeUndefined();
    installFixture(TINY_LM, join(core.dataDir, 'models'), 'dropped/tiny');
    await expect.poll(() => statusOf('dropped/tiny'), { timeout: 15_000 }).toBe('ready');
    const chat = await call('POST', '/v1/chat/completions', {
      model: 'dropped/tiny',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(chat.status).toBe(200);
  });

  it('marks a model whose folder is deleted from models/ as missing, and sees it come back', async () => {
    const models = join(core.dataDir, 'models');
    installFixture(TINY_LM, models, 'dropped/second');
    await expect.poll(() => statusOf('dropped/second'), { timeout: 15_000 }).toBe('ready');
    rmSync(join(models, 'dropped', 'second'), { recursive: true });
    await expect.poll(() => statusOf('dropped/second'), { timeout: 15_000 }).toBe('missing');
    installFixture(TINY_LM, models, 'dropped/second');
    await expect.poll(() => statusOf('dropped/second'), { timeout: 15_000 }).toBe('ready');
  });
});

describe('Rescan', () => {
  let core: TestCore;
  const outside = tempDir('lodge-outside-');
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${core.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  beforeAll(async () => {
    // Nothing changes in this core's models/, so no watcher reconciliation can run before a rescan.
    core = await startTestCore();
  });
  afterAll(async () => {
    await core?.dispose();
    outside.remove();
  });

  it('rescans on demand, and says what changed, outside models/ too', async () => {
    // A model registered where the user keeps it lies outside models/: only a rescan looks there.
    const kept = join(outside.path, 'kept');
    cpSync(fixturePath(TINY_LM), kept, { recursive: true });
    const imported = await call('POST', '/app/models/import', {
      path: kept,
      mode: 'in-place',
      id: 'kept/tiny',
    });
    expect(imported.status).toBe(200);

    rmSync(kept, { recursive: true });
    const gone = (await (await call('POST', '/app/models/rescan')).json()) as RescanResult;
    expect(gone).toMatchObject({ added: [], missing: ['kept/tiny'], restored: [] });
    expect(gone.models.find((model) => model.id === 'kept/tiny')?.status).toBe('missing');

    cpSync(fixturePath(TINY_LM), kept, { recursive: true });
    const back = await call('POST', '/app/models/rescan');
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ added: [], missing: [], restored: ['kept/tiny'] });
    expect(await (await call('POST', '/app/models/rescan')).json()).toMatchObject({
      added: [],
      missing: [],
      restored: [],
    });
  });
});

describe('imports from ~/', () => {
  const home = tempDir('lodge-home-');
  const previous = process.env.HOME;
  let core: TestCore;
  beforeAll(async () => {
    // The home directory, as os.homedir() reads it on POSIX: a temp folder, so nothing real is touched.
    process.env.HOME = home.path;
    mkdirSync(join(home.path, 'Models'), { recursive: true });
    cpSync(fixturePath(TINY_LM), join(home.path, 'Models', 'tiny'), { recursive: true });
    core = await startTestCore();
  });
  afterAll(async () => {
    process.env.HOME = previous;
    await core?.dispose();
    home.remove();
  });
  const importing = (path: string, id: string) =>
    fetch(`${core.url}/app/models/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path, mode: 'in-place', id }),
    });

  it.runIf(process.platform !== 'win32')(
    'expands a leading ~/ to the home directory, as a shell would',
    async () => {
      const answer = await importing('~/Models/tiny', 'home/tiny');
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({
        id: 'home/tiny',
        source: { kind: 'import', path: join(home.path, 'Models', 'tiny'), inPlace: true },
      });
    },
  );

  it('leaves ~user and a ~ further in alone, and says the path must be absolute', async () => {
    for (const path of ['~nobody/Models/tiny', 'Models/~/tiny']) {
      const answer = await importing(path, 'home/other');
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({
        error: {
          code: 'invalid_request',
          message: expect.stringMatching(/must be absolute \(or start with ~\/\)/),
        },
      });
    }
  });
});
