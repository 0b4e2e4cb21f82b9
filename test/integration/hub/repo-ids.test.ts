import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

describe('repo ids and revisions are checked before any hub URL is built', () => {
  let hub: FakeHub;
  let core: TestCore;

  beforeAll(async () => {
    hub = await FakeHub.start([{ id: 'acme/tiny-chat', dir: fixturePath(TINY_LM) }]);
    hub.requireToken('hf_secret_token');
    core = await startTestCore({
      env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl, HF_TOKEN: 'hf_secret_token' },
    });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
  });

  it.each([
    '/app/hub/models/..%2F..%2Fadmin%2Fsecret/x',
    '/app/hub/models/acme/..%2F..%2Fapi%2Fwhoami',
    '/app/hub/models/acme/tiny--chat',
    '/app/hub/models/-acme/tiny-chat',
    '/app/hub/models/acme/tiny-chat.',
    '/app/hub/models/ac%20me/tiny-chat',
  ])('GET %s is a 400 in the app error shape, and the hub hears nothing', async (path) => {
    const before = hub.log.length;
    const response = await fetch(`${core.url}${path}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringMatching(/not a hub repo id/) },
    });
    expect(hub.log.slice(before)).toEqual([]);
  });

  it.each([
    [{ repo: 'acme/tiny-chat', revision: '..' }, /not a revision/],
    [{ repo: 'acme/tiny-chat', revision: 'main/../../x' }, /not a revision/],
    [{ repo: 'acme/tiny-chat', revision: '.hidden' }, /not a revision/],
    // A bare name is not a repo (it once became local/tiny-chat and was asked of the hub).
    [{ repo: 'tiny-chat' }, /"tiny-chat" is not a hub repo id/],
    [{ repo: 'acme/tiny--chat' }, /not a hub repo id/],
  ])('POST /app/downloads %j is a 400, and the hub hears nothing', async (body, message) => {
    const before = hub.log.length;
    const response = await fetch(`${core.url}/app/downloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', message } });
    expect(hub.log.slice(before)).toEqual([]);
  });

  it.each(['../../admin/secret', 'acme/tiny--chat', 'acme/tiny-chat/extra'])(
    'POST /api/pull %j is a 400 in the Ollama error shape, and the hub hears nothing',
    async (model) => {
      const before = hub.log.length;
      const response = await fetch(`${core.url}/api/pull`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream: false }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: unknown };
      expect(typeof body.error).toBe('string');
      expect(hub.log.slice(before)).toEqual([]);
    },
  );

  it('still describes a valid repo (the check lets real ids through)', async () => {
    const response = await fetch(`${core.url}/app/hub/models/acme/tiny-chat`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 'acme/tiny-chat' });
  });
});
