import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

describe('the hub token goes only to the hub it was given for', () => {
  let hub: FakeHub;
  let evil: FakeHub;
  let core: TestCore | null = null;
  const settings = async (
    target: TestCore,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${target.url}/app/settings`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** What Lodge's own web UI sends: its Origin is the server it was served from. */
  const fromWindow = (target: TestCore) => ({ origin: target.url });
  const search = async (target: TestCore) => {
    const response = await fetch(`${target.url}/app/hub/search?q=tiny`);
    expect(response.status).toBe(200);
  };
  const authsSeenBy = (server: FakeHub) => server.log.map((entry) => entry.auth);

  beforeAll(async () => {
    hub = await FakeHub.start([{ id: 'acme/tiny-chat', dir: fixturePath(TINY_LM) }]);
    evil = await FakeHub.start([{ id: 'evil/bait', dir: fixturePath(TINY_LM) }]);
  });
  afterEach(async () => {
    await core?.dispose();
    core = null;
    hub.log.length = 0;
    evil.log.length = 0;
  });
  afterAll(async () => {
    await hub.close();
    await evil.close();
  });

  it('refuses a non-window caller moving the hub without an API key, in the app error shape', async () => {
    core = await startTestCore();
    expect((await settings(core, { hubEndpoint: hub.url }, fromWindow(core))).status).toBe(200);
    expect((await settings(core, { hubToken: 'hf_secret_token' })).status).toBe(200);
    await search(core);
    expect(authsSeenBy(hub)).toEqual(['Bearer hf_secret_token']);

    // No Origin (a non-browser caller), and an origin allowed to call Lodge that is not its window.
    const callers: Record<string, string>[] = [{}, { origin: 'http://localhost:5173' }];
    for (const headers of callers) {
      if (headers.origin === 'http://localhost:5173')
        expect((await settings(core, { origins: ['http://localhost:5173'] })).status).toBe(200);
      const moved = await settings(core, { hubEndpoint: evil.url }, headers);
      expect(moved.status).toBe(403);
      expect(moved.body).toMatchObject({
        error: {
          code: 'forbidden',
          message: expect.stringMatching(/from the Lodge window, or set an API key/),
        },
      });
    }
    const view = await (await fetch(`${core.url}/app/settings`)).json();
    expect(view).toMatchObject({ values: { hubEndpoint: hub.url, hubTokenSet: true } });
    await search(core);
    expect(evil.log).toEqual([]);
  });

  it('forgets the stored token when the window moves the hub elsewhere', async () => {
    core = await startTestCore();
    await settings(core, { hubEndpoint: hub.url, hubToken: 'hf_secret_token' }, fromWindow(core));
    const moved = await settings(core, { hubEndpoint: evil.url }, fromWindow(core));
    expect(moved).toMatchObject({
      status: 200,
      body: { values: { hubEndpoint: evil.url, hubTokenSet: false } },
    });
    await search(core);
    expect(evil.log.length).toBeGreaterThan(0);
    expect(authsSeenBy(evil).every((auth) => auth === null)).toBe(true);
    // Coming back does not bring the forgotten token back.
    await settings(core, { hubEndpoint: hub.url }, fromWindow(core));
    await search(core);
    expect(authsSeenBy(hub)).toEqual([null]);
  });

  it('withholds a token from the environment from any other hub, and gives it back on return', async () => {
    core = await startTestCore({ env: { HF_TOKEN: 'hf_env_token' } });
    await settings(core, { hubEndpoint: evil.url }, { origin: 'app://lodge' });
    expect(await (await fetch(`${core.url}/app/settings`)).json()).toMatchObject({
      values: { hubTokenSet: false },
    });
    await search(core);
    expect(authsSeenBy(evil).every((auth) => auth === null)).toBe(true);
    await settings(core, { hubEndpoint: null }, { origin: 'app://lodge' });
    expect(await (await fetch(`${core.url}/app/settings`)).json()).toMatchObject({
      values: { hubTokenSet: true, hubEndpoint: 'https://huggingface.co' },
    });
  });

  it('keeps HF_TOKEN from a hub the window moved to, across a restart', async () => {
    const data = tempDir();
    try {
      const first = await startTestCore({ dataDir: data.path, env: { HF_TOKEN: 'hf_env_token' } });
      expect((await settings(first, { hubEndpoint: evil.url }, fromWindow(first))).status).toBe(200);
      await first.dispose({ keepData: true });
      // The moved endpoint is what is in force at this start; the token was never given for it.
      core = await startTestCore({ dataDir: data.path, env: { HF_TOKEN: 'hf_env_token' } });
      expect(await (await fetch(`${core.url}/app/settings`)).json()).toMatchObject({
        values: { hubEndpoint: evil.url, hubTokenSet: false },
      });
      await search(core);
      expect(evil.log.length).toBeGreaterThan(0);
      expect(authsSeenBy(evil).every((auth) => auth === null)).toBe(true);
    } finally {
      await core?.dispose({ keepData: true });
      core = null;
      data.remove();
    }
  });

  it('sends a stored token, after a restart, only to the hub it was given for', async () => {
    const data = tempDir();
    try {
      const first = await startTestCore({ dataDir: data.path });
      await settings(first, { hubEndpoint: hub.url, hubToken: 'hf_secret_token' }, fromWindow(first));
      await first.dispose({ keepData: true });
      core = await startTestCore({ dataDir: data.path });
      await search(core);
      expect(authsSeenBy(hub)).toEqual(['Bearer hf_secret_token']);
    } finally {
      await core?.dispose({ keepData: true });
      core = null;
      data.remove();
    }
  });

  it('lets any caller with the API key move the hub, and binds a token given with it', async () => {
    core = await startTestCore({ env: { LODGE_API_KEY: 'lodge-test-key' } });
    const auth = { authorization: 'Bearer lodge-test-key' };
    const moved = await settings(core, { hubEndpoint: hub.url, hubToken: 'hf_secret_token' }, auth);
    expect(moved.status).toBe(200);
    const response = await fetch(`${core.url}/app/hub/search?q=tiny`, { headers: auth });
    expect(response.status).toBe(200);
    expect(authsSeenBy(hub)).toEqual(['Bearer hf_secret_token']);
  });
});
