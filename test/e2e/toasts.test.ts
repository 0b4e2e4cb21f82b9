import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../fixtures/fake-hub';
import { fixturePath, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL } from './ui-helpers';

describe('toasts for background work', () => {
  const home = tempDir();
  let hub: FakeHub;
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    hub = await FakeHub.start([
      { id: 'acme/tiny-chat', dir: fixturePath(TINY_LM), pipelineTag: 'text-generation' },
    ]);
    server = await startServeProcess(['--port', '0'], {
      HF_ENDPOINT: hub.url,
      LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl,
      LODGE_HOME: home.path,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await hub?.close();
    home.remove();
  });

  it('says when a download starts and finishes, and when a model loads and unloads', async () => {
    const { page, close } = await freshPage(browser);
    try {
      await page.goto(`${server.url}/#/library`);
      await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
      const toasts = page.getByTestId('toasts');

      // A slow hub keeps the download running long enough to be seen running.
      hub.throttle(50_000);
      const download = await appJson<{ id: string; modelId: string }>(server.url, '/app/downloads', {
        method: 'POST',
        body: JSON.stringify({ repo: 'acme/tiny-chat' }),
      });
      const downloadToast = toasts.locator(`[data-toast="download:${download.id}"]`);
      await expect.poll(() => downloadToast.textContent(), POLL).toContain(`Downloading ${download.modelId}`);
      hub.throttle(0);
      await expect.poll(() => downloadToast.textContent(), POLL).toContain(`Downloaded ${download.modelId}`);

      // Loaded from the Library's button; the toast comes from the core's slot events, not the click.
      const row = page.locator(`[data-model="${download.modelId}"]`);
      await row.getByRole('button', { name: 'Load' }).click();
      const slotToast = toasts.locator(`[data-toast="slot:${download.modelId}"]`);
      await expect.poll(() => slotToast.textContent(), POLL).toContain(`Loaded ${download.modelId}`);
      await appJson(server.url, '/app/runners/unload', {
        method: 'POST',
        body: JSON.stringify({ model: download.modelId }),
      });
      await expect.poll(() => slotToast.textContent(), POLL).toContain(`Unloaded ${download.modelId}`);

      // Each toast can be dismissed by hand.
      await slotToast.getByRole('button', { name: 'Dismiss notification' }).click();
      await expect.poll(() => slotToast.count(), POLL).toBe(0);
    } finally {
      await close();
    }
  });
});
