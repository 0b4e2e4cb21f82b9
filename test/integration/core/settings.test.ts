import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/main/core/db/connection';
import { SettingsRepository } from '../../../src/main/core/db/settings-repository';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const patch = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/app/settings`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('settings through the app API', () => {
  let started: TestCore | null = null;
  const dir = tempDir();
  afterEach(async () => {
    await started?.dispose({ keepData: true });
    started = null;
  });

  it('persists a change in the SQLite file and applies it without a restart', async () => {
    started = await startTestCore({ dataDir: dir.path, flags: { logLevel: undefined } });
    const { url, lodge } = started;
    const denied = await fetch(`${url}/health`, { headers: { origin: 'http://localhost:5173' } });
    expect(denied.status).toBe(403);

    const response = await patch(url, { origins: ['http://localhost:5173'], logLevel: 'debug' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      values: { origins: ['http://localhost:5173'], logLevel: 'debug' },
      sources: { origins: 'settings', logLevel: 'settings' },
    });
    expect(lodge.logger.level).toBe('debug');
    expect((await fetch(`${url}/health`, { headers: { origin: 'http://localhost:5173' } })).status).toBe(200);

    const db = openDatabase(lodge.paths.database);
    expect(new SettingsRepository(db).readAll().get('origins')).toEqual(['http://localhost:5173']);
    db.close();
  });

  it('keeps the change across a restart, and clears it with null', async () => {
    started = await startTestCore({ dataDir: dir.path, flags: { logLevel: undefined } });
    const view = (await (await fetch(`${started.url}/app/settings`)).json()) as {
      values: { origins: string[] };
    };
    expect(view.values.origins).toEqual(['http://localhost:5173']);
    const cleared = await patch(started.url, { origins: null });
    expect(await cleared.json()).toMatchObject({ values: { origins: [] }, sources: { origins: 'default' } });
  });

  it('refuses a change that would expose the server without a key, and stores nothing', async () => {
    started = await startTestCore({ dataDir: dir.path });
    const response = await patch(started.url, { host: '0.0.0.0' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringMatching(/API key/) },
    });
    const db = openDatabase(started.lodge.paths.database);
    expect(new SettingsRepository(db).readAll().has('host')).toBe(false);
    db.close();
  });

  it('never returns the API key, and reports an address change as needing a restart', async () => {
    started = await startTestCore({ dataDir: dir.path });
    const withKey = await patch(started.url, { apiKey: 'a-stored-key-000', host: '127.0.0.2', port: 12345 });
    const body = (await withKey.json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).not.toContain('a-stored-key-000');
    // The port flag of the test core outranks the stored port, so only the host waits for a restart.
    expect(body).toMatchObject({
      values: { apiKeySet: true, host: '127.0.0.2' },
      sources: { port: 'flag' },
      restartRequired: ['host'],
    });
    // The stored key is in force at once.
    expect((await fetch(`${started.url}/app/info`)).status).toBe(401);
    await patch(
      started.url,
      { apiKey: null, host: null, port: null },
      { authorization: 'Bearer a-stored-key-000' },
    );
    expect((await fetch(`${started.url}/app/info`)).status).toBe(200);
  });
});

describe('request log', () => {
  it('records API requests with status and family, newest first', async () => {
    const started = await startTestCore();
    try {
      await fetch(`${started.url}/v1/models`);
      await fetch(`${started.url}/api/tags`);
      const log = (await (await fetch(`${started.url}/app/requests?limit=10`)).json()) as {
        requests: { path: string; status: number; family: string }[];
      };
      expect(log.requests.slice(0, 2)).toEqual([
        expect.objectContaining({ path: '/api/tags', family: 'ollama', status: 200 }),
        expect.objectContaining({ path: '/v1/models', family: 'openai', status: 200 }),
      ]);
    } finally {
      await started.dispose();
    }
  });
});
