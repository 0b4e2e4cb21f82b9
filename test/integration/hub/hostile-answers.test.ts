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
    core = await startTestCore({ env: { HF_ENDPOINT: hub.url } });
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
});
