import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/main/core/db/connection';
import { DownloadRepository } from '../../../src/main/core/db/download-repository';
import { migrate } from '../../../src/main/core/db/migrate';
import { migrations } from '../../../src/main/core/db/migrations';
import { ModelRepository } from '../../../src/main/core/db/model-repository';
import { DownloadManager } from '../../../src/main/core/hub/download-manager';
import { HubClient } from '../../../src/main/core/hub/hub-client';
import { ModelCatalog } from '../../../src/main/core/library/model-catalog';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { downloadUntil } from '../../helpers/downloads';
import { tempDir } from '../../helpers/temp-dir';

interface Revision {
  revision: string;
  short: string;
  active: boolean;
  bytes: number;
  committedAt: string | null;
  source: { kind: string; revision?: string };
}

/** The fixture LM as a repo folder, and a second commit of it where only generation_config.json changed. */
function twoCommits(root: string): { first: string; second: string } {
  const first = join(root, 'first');
  const second = join(root, 'second');
  cpSync(fixturePath(TINY_LM), first, { recursive: true, filter: (path) => !path.endsWith('.complete') });
  cpSync(first, second, { recursive: true });
  writeFileSync(
    join(second, 'generation_config.json'),
    `${JSON.stringify({ temperature: 0.25, top_k: 5 })}\n`,
  );
  return { first, second };
}

describe('pulling a model again when the hub has a newer commit keeps both revisions', () => {
  const repos = tempDir('lodge-revision-repos-');
  const { first, second } = twoCommits(repos.path);
  let hub: FakeHub;
  let core: TestCore;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${core.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const revisions = async () =>
    (await call('GET', '/app/models/acme/moving/revisions')).body.revisions as Revision[];

  beforeAll(async () => {
    hub = await FakeHub.start([{ id: 'acme/moving', dir: first, pipelineTag: 'text-generation' }]);
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
    repos.remove();
  });

  it('keeps the commit a download came from, and refuses to pull the same commit twice', async () => {
    expect((await downloadUntil(core.url, { repo: 'acme/moving' }, 'completed')).error).toBeNull();
    const [only, ...rest] = await revisions();
    expect(rest).toEqual([]);
    expect(only).toMatchObject({
      revision: hub.head('acme/moving'),
      short: hub.head('acme/moving').slice(0, 7),
      active: true,
      source: { kind: 'hub', revision: hub.head('acme/moving') },
    });
    const again = await call('POST', '/app/downloads', { repo: 'acme/moving' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      error: {
        message: `acme/moving already keeps revision ${only?.short}, the hub's main of acme/moving: nothing new to pull.`,
      },
    });
  });

  it('a newer commit becomes a second revision, active, whose unchanged files are the first one’s on disk', async () => {
    const [old] = await revisions();
    const newer = hub.commit('acme/moving', second, '2026-11-20T10:00:00.000Z');
    const fetchedBefore = hub.log.length;
    expect((await downloadUntil(core.url, { repo: 'acme/moving' }, 'completed')).error).toBeNull();
    const both = await revisions();
    expect(both.map((revision) => [revision.revision, revision.active, revision.committedAt])).toEqual([
      [old?.revision, false, '2026-11-01T00:00:00.000Z'],
      [newer, true, '2026-11-20T10:00:00.000Z'],
    ]);
    // The weights were not fetched again: only the file that changed (and nothing from the CDN).
    const fetched = hub.log
      .slice(fetchedBefore)
      .filter((entry) => entry.url.includes('/resolve/') || entry.url.startsWith('/cdn/'));
    expect(fetched.map((entry) => entry.url)).toEqual([
      `/acme/moving/resolve/${newer}/generation_config.json`,
    ]);

    const oldDir = join(core.dataDir, 'models/acme/moving');
    const newDir = join(core.dataDir, 'models/.revisions/acme/moving', newer);
    expect(statSync(join(newDir, 'onnx/model.onnx')).ino).toBe(statSync(join(oldDir, 'onnx/model.onnx')).ino);
    expect(statSync(join(newDir, 'onnx/model.onnx')).nlink).toBe(2);
    expect(readFileSync(join(newDir, 'generation_config.json'), 'utf8')).toContain('0.25');
    // Two revisions take one copy plus the changed file, and the models folder counts it so.
    const changed = statSync(join(newDir, 'generation_config.json')).size;
    const list = (await call('GET', '/app/models/acme/moving/revisions')).body;
    expect(list.diskBytes).toBe((old?.bytes ?? 0) + changed);
    expect((await call('GET', '/app/disk')).body.modelsBytes).toBe(list.diskBytes);
    expect(
      ((await call('GET', '/app/models/acme/moving')).body.source as { revision: string }).revision,
    ).toBe(newer);
  });

  it('switches between the two: the bare name follows the active one, model@rev picks either', async () => {
    const [old, newer] = await revisions();
    if (old === undefined || newer === undefined) throw new Error('expected two revisions');
    const openai = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const chat = await openai.chat.completions.create({
      model: `acme/moving@${old.short}`,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
    });
    expect(chat.choices).toHaveLength(1);
    // The bare name runs the active (newer) revision; switching unloads what ran it.
    await openai.chat.completions.create({
      model: 'acme/moving',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
    });
    const loaded = async () =>
      ((await call('GET', '/app/runners')).body.models as { id: string }[]).map((model) => model.id).sort();
    expect(await loaded()).toEqual(['acme/moving', `acme/moving@${old.revision.slice(0, 12)}`]);
    const switched = await call('POST', `/app/models/acme/moving/revisions/${old.revision}/activate`);
    expect(switched.status).toBe(200);
    await expect.poll(loaded).toEqual([`acme/moving@${old.revision.slice(0, 12)}`]);
    const detail = (await call('GET', '/app/models/acme/moving')).body;
    expect(detail).toMatchObject({
      source: { kind: 'hub', revision: old.revision },
      location: join(core.dataDir, 'models/acme/moving'),
    });
    const ollama = await call('POST', '/api/show', { model: `acme/moving@${newer.short}` });
    expect(ollama.status).toBe(200);
    const unknown = await call('POST', '/api/show', { model: 'acme/moving@0000000' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: expect.stringMatching(/acme\/moving has no revision '0000000'/) });
  });
});

describe('on a file system without hard links, a new revision copies what it shares', () => {
  const dir = tempDir('lodge-no-links-');
  const { first, second } = twoCommits(join(dir.path, 'repos'));
  let hub: FakeHub;
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('pulls two revisions, each with its own copy of the weights, fetched from the hub once', async () => {
    hub = await FakeHub.start([{ id: 'acme/copied', dir: first }]);
    mkdirSync(join(dir.path, 'data'));
    const db = openDatabase(join(dir.path, 'data/lodge.db'));
    migrate(db, migrations);
    const logger = pino({ level: 'silent' });
    const catalog = new ModelCatalog(join(dir.path, 'data/models'), new ModelRepository(db), logger);
    catalog.refresh();
    const refused: string[] = [];
    const manager = new DownloadManager({
      hub: new HubClient({ endpoint: () => hub.url, token: () => null, trustedOrigins: () => [hub.cdnUrl] }),
      repository: new DownloadRepository(db),
      catalog,
      downloadsDir: join(dir.path, 'data/downloads'),
      modelsDir: join(dir.path, 'data/models'),
      logger,
      freeBytes: () => 1024 ** 4,
      // What FAT, exFAT and some network shares answer to link(2).
      linkFile: (from) => {
        refused.push(from);
        throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
      },
    });
    const pull = async () => {
      const started = await manager.start({ repo: 'acme/copied' });
      await expect.poll(() => manager.view(started.id).status, { timeout: 20_000 }).toBe('completed');
    };
    await pull();
    const newer = hub.commit('acme/copied', second);
    await pull();
    const oldModel = join(dir.path, 'data/models/acme/copied/onnx/model.onnx');
    const newModel = join(dir.path, 'data/models/.revisions/acme/copied', newer, 'onnx/model.onnx');
    expect(statSync(newModel).ino).not.toBe(statSync(oldModel).ino);
    expect([statSync(oldModel).nlink, statSync(newModel).nlink]).toEqual([1, 1]);
    expect(readFileSync(newModel).equals(readFileSync(oldModel))).toBe(true);
    expect(refused).toContain(oldModel);
    expect(
      hub.log.filter((entry) => entry.url.includes('/resolve/') && entry.url.endsWith('/onnx/model.onnx')),
    ).toHaveLength(1);
    expect(catalog.revisions('acme/copied').map((row) => row.active)).toEqual([false, true]);
    await manager.dispose();
    db.close();
  });
});
