import { existsSync, readdirSync } from 'node:fs';
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
import { fixturePath, fixtureWithQ4, TINY_EMBEDDER, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

type Download = {
  id: string;
  status: string;
  error: string | null;
  downloadedBytes: number;
  totalBytes: number;
  modelId: string;
  variant: string;
};

describe('hub search and downloads against a fake hub on loopback', () => {
  const repos = tempDir('lodge-repos-');
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
  const until = async (id: string, statuses: string[]) => {
    let last: Download | undefined;
    await expect
      .poll(
        async () => {
          last = ((await call('GET', '/app/downloads')).body.downloads as Download[]).find(
            (download) => download.id === id,
          );
          return statuses.includes(last?.status ?? '');
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    return last as Download;
  };

  beforeAll(async () => {
    // A chat model with two variants, an embedder, and a gated copy.
    const chat = fixtureWithQ4(TINY_LM, join(repos.path, 'chat'));
    hub = await FakeHub.start([
      { id: 'acme/tiny-chat', dir: chat, pipelineTag: 'text-generation', downloads: 500 },
      { id: 'acme/tiny-embed', dir: fixturePath(TINY_EMBEDDER), pipelineTag: 'feature-extraction' },
      { id: 'acme/gated-chat', dir: chat, pipelineTag: 'text-generation', gated: true },
    ]);
    hub.requireToken('hf_secret_token');
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
    repos.remove();
  });

  it('searches and describes a repo: variants with sizes, tokenizer, chat template, fit, model card', async () => {
    const search = await call('GET', '/app/hub/search?q=chat&task=text-generation');
    expect((search.body.models as { id: string }[]).map((model) => model.id)).toEqual([
      'acme/tiny-chat',
      'acme/gated-chat',
    ]);
    const repo = await call('GET', '/app/hub/models/acme/tiny-chat');
    expect(repo.body).toMatchObject({
      id: 'acme/tiny-chat',
      format: 'hf-onnx',
      problem: null,
      hasTokenizer: true,
      hasChatTemplate: true,
      recommendedVariant: 'q4',
      card: expect.stringContaining('# acme/tiny-chat'),
    });
    expect(repo.body.variants).toEqual([
      { name: 'fp32', bytes: expect.any(Number), fits: true },
      { name: 'q4', bytes: expect.any(Number), fits: true },
    ]);
  });

  it('downloads a variant, verifies every file, installs it atomically, and it serves', async () => {
    const started = await call('POST', '/app/downloads', { repo: 'acme/tiny-chat', variant: 'fp32' });
    expect(started.status).toBe(200);
    const done = await until(started.body.id as string, ['completed', 'failed']);
    expect(done).toMatchObject({
      status: 'completed',
      modelId: 'acme/tiny-chat',
      variant: 'fp32',
      error: null,
    });
    expect(done.downloadedBytes).toBe(done.totalBytes);
    const model = await call('GET', '/app/models/acme/tiny-chat');
    expect(model.body).toMatchObject({
      status: 'ready',
      source: { kind: 'hub', repo: 'acme/tiny-chat' },
      variants: [{ name: 'fp32' }],
    });
    expect((model.body.files as { path: string }[]).map((file) => file.path)).toEqual(
      expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/model.onnx']),
    );
    expect(existsSync(join(core.dataDir, 'models/acme/tiny-chat/onnx/model_q4.onnx'))).toBe(false);
    expect(readdirSync(join(core.dataDir, 'downloads'))).toEqual([]);
    const client = new OpenAI({ baseURL: `${core.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const reply = await client.chat.completions.create({
      model: 'acme/tiny-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(reply.usage?.completion_tokens).toBe(2);
  });

  it('retries server errors with backoff and completes', async () => {
    hub.failNext(2, 503);
    const started = await call('POST', '/app/downloads', { repo: 'acme/tiny-embed' });
    const done = await until(started.body.id as string, ['completed', 'failed']);
    expect(done.status).toBe('completed');
  });

  it('fails verification on a corrupted byte, deletes the file, installs nothing', async () => {
    hub.corrupt('onnx/model_q4.onnx');
    const started = await call('POST', '/app/downloads', {
      repo: 'acme/tiny-chat',
      variant: 'q4',
      id: 'acme/corrupt',
    });
    const done = await until(started.body.id as string, ['completed', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/onnx\/model_q4\.onnx .* does not match the hub's checksum/);
    expect(existsSync(join(core.dataDir, 'models/acme/corrupt'))).toBe(false);
    expect((await call('GET', '/app/models/acme/corrupt')).status).toBe(404);
  });

  it('asks for a token on a gated repo, then downloads with it', async () => {
    const refused = await call('POST', '/app/downloads', { repo: 'acme/gated-chat', variant: 'fp32' });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({
      error: { message: expect.stringMatching(/gated or private.*set a Hugging Face token/) },
    });
    await call('PATCH', '/app/settings', { hubToken: 'hf_secret_token' });
    const started = await call('POST', '/app/downloads', { repo: 'acme/gated-chat', variant: 'fp32' });
    expect((await until(started.body.id as string, ['completed', 'failed'])).status).toBe('completed');
    // The token went to the hub, never to the CDN it redirected to.
    expect(hub.log.filter((entry) => entry.url.startsWith('/cdn/') && entry.auth !== null)).toEqual([]);
    expect((await call('GET', '/app/settings')).body).toMatchObject({ values: { hubTokenSet: true } });
  });

  it('pauses, resumes with a Range request, and cancels (deleting what it fetched)', async () => {
    hub.throttle(100_000);
    const started = await call('POST', '/app/downloads', {
      repo: 'acme/tiny-chat',
      variant: 'q4',
      id: 'acme/paused',
    });
    const id = started.body.id as string;
    // Past the small support files (about 30 kB): the pause lands inside the graph file.
    await expect
      .poll(
        async () =>
          ((await call('GET', '/app/downloads')).body.downloads as Download[]).find(
            (download) => download.id === id,
          )?.downloadedBytes ?? 0,
        { timeout: 10_000 },
      )
      .toBeGreaterThan(80_000);
    expect((await call('POST', `/app/downloads/${id}/pause`)).body).toMatchObject({ id });
    const paused = await until(id, ['paused']);
    hub.throttle(0);
    await call('POST', `/app/downloads/${id}/resume`);
    const done = await until(id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(paused.downloadedBytes).toBeGreaterThan(0);
    expect(
      hub.log.some(
        (entry) =>
          entry.url.endsWith('onnx/model_q4.onnx') &&
          entry.range !== null &&
          /^bytes=[1-9]\d*-$/.test(entry.range),
      ),
    ).toBe(true);

    hub.throttle(100_000);
    const doomed = await call('POST', '/app/downloads', {
      repo: 'acme/tiny-chat',
      variant: 'q4',
      id: 'acme/doomed',
    });
    const doomedId = doomed.body.id as string;
    await expect
      .poll(
        async () =>
          ((await call('GET', '/app/downloads')).body.downloads as Download[]).find(
            (download) => download.id === doomedId,
          )?.downloadedBytes ?? 0,
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);
    await call('POST', `/app/downloads/${doomedId}/cancel`);
    expect((await until(doomedId, ['cancelled'])).status).toBe('cancelled');
    expect(existsSync(join(core.dataDir, 'downloads', doomedId))).toBe(false);
    hub.throttle(0);
  });

  it('pulls through the Ollama API with progress lines ending in success', async () => {
    const response = await fetch(`${core.url}/api/pull`, {
      method: 'POST',
      body: JSON.stringify({ name: 'acme/tiny-embed:fp32', stream: true }),
    });
    // The embedder is already installed (an earlier test): the pull reports that clearly.
    expect([200, 409]).toContain(response.status);
    await call('DELETE', '/app/models/acme/tiny-embed');
    const again = await fetch(`${core.url}/api/pull`, {
      method: 'POST',
      body: JSON.stringify({ model: 'acme/tiny-embed' }),
    });
    const lines = (await again.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { status?: string; error?: string });
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines.at(-1)).toEqual({ status: 'success' });
    expect(lines.some((line) => line.status === 'verifying sha256 digest')).toBe(true);
  });
});

describe('the download manager on its own', () => {
  it('refuses a download the disk cannot hold, before fetching anything', async () => {
    const dir = tempDir();
    const hub = await FakeHub.start([{ id: 'acme/big', dir: fixturePath(TINY_LM) }]);
    const db = openDatabase(join(dir.path, 'lodge.db'));
    migrate(db, migrations);
    const logger = pino({ level: 'silent' });
    const catalog = new ModelCatalog(join(dir.path, 'models'), new ModelRepository(db), logger);
    const manager = new DownloadManager({
      hub: new HubClient({ endpoint: () => hub.url, token: () => null, trustedOrigins: () => [hub.cdnUrl] }),
      repository: new DownloadRepository(db),
      catalog,
      downloadsDir: join(dir.path, 'downloads'),
      modelsDir: join(dir.path, 'models'),
      logger,
      freeBytes: () => 1000,
    });
    try {
      await expect(manager.start({ repo: 'acme/big' })).rejects.toMatchObject({
        code: 'insufficient_storage',
        message: expect.stringMatching(/Not enough disk space: this download needs .* and 0\.00 GiB is free/),
      });
      expect(hub.log.some((entry) => entry.url.includes('/resolve/'))).toBe(false);
      expect(manager.list()).toEqual([]);
    } finally {
      await manager.dispose();
      db.close();
      await hub.close();
      dir.remove();
    }
  });
});
