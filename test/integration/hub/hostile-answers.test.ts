import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

describe('what a hub answers is read with limits', () => {
  let hub: FakeHub;
  let core: TestCore;

  beforeAll(async () => {
    hub = await FakeHub.start([
      { id: 'acme/huge-card', dir: fixturePath(TINY_LM), card: `# Huge\n${'x'.repeat(3 * 1024 * 1024)}` },
      { id: 'acme/tiny-chat', dir: fixturePath(TINY_LM) },
    ]);
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url, LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl } });
  });
  afterAll(async () => {
    await core.dispose();
    await hub.close();
  });

  it('reads at most 1 MiB of a model card', async () => {
    const response = await fetch(`${core.url}/app/hub/models/acme/huge-card`);
    expect(response.status).toBe(200);
    const { card } = (await response.json()) as { card: string };
    expect(card.startsWith('# Huge\n')).toBe(true);
    expect(card.length).toBe(1024 * 1024);
  });

  it('shows no card when the hub fails to send it, rather than its error page', async () => {
    hub.failNext(2, 500);
    const response = await fetch(`${core.url}/app/hub/models/acme/tiny-chat`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ card: null });
  });

  it.each([
    ['/api/models', '{"not":"a list"}', '/app/hub/search?q=x', /not a list/],
    ['/api/models', '[null, 1, "x"]', '/app/hub/search?q=x', null],
    ['/api/models', 'not json at all', '/app/hub/search?q=x', /not JSON/],
    [
      '/api/models/acme/odd/revision/main',
      '{"sha": "../../x"}',
      '/app/hub/models/acme/odd',
      /did not say which commit/,
    ],
    ['/api/models/acme/odd/revision/main', 'null', '/app/hub/models/acme/odd', /did not say which commit/],
  ])('answers %s holding %s with a clear error in the app shape', async (path, body, route, message) => {
    hub.answer(path, body);
    const response = await fetch(`${core.url}${route}`);
    const answer = (await response.json()) as {
      error?: { code: string; message: string };
      models?: unknown[];
    };
    if (message === null) {
      // Entries that are not objects are left out; the rest of the answer still serves.
      expect(response.status).toBe(200);
      expect(answer.models).toEqual([]);
    } else {
      expect(response.status).toBe(503);
      expect(answer.error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(message) });
    }
  });

  it('serves a search whose counts are not numbers and whose ids are not repos, dropping what it cannot read', async () => {
    hub.answer(
      '/api/models',
      JSON.stringify([
        { id: 'acme/odd', downloads: 'NaN', likes: {}, siblings: 'none' },
        { id: '../../admin', downloads: 5 },
        { modelId: 42 },
        { id: 'acme/fine', downloads: -1, likes: -3 },
      ]),
    );
    const response = await fetch(`${core.url}/app/hub/search?q=x`);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { models: { id: string; downloads: number; likes: number }[] };
    expect(answer.models.map(({ id, downloads, likes }) => ({ id, downloads, likes }))).toEqual([
      { id: 'acme/odd', downloads: 0, likes: 0 },
      { id: 'acme/fine', downloads: 0, likes: 0 },
    ]);
  });

  it('answers a tree that is not a file list with a clear error', async () => {
    const sha = 'a'.repeat(40);
    hub.answer('/api/models/acme/treeless/revision/main', JSON.stringify({ sha }));
    hub.answer(`/api/models/acme/treeless/tree/${sha}`, JSON.stringify([{ type: 'file', path: 7 }]));
    const response = await fetch(`${core.url}/app/hub/models/acme/treeless`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      error: {
        code: 'unavailable',
        message: expect.stringMatching(/file list for acme\/treeless that Lodge cannot read/),
      },
    });
  });
});
