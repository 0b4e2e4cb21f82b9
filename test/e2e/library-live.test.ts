import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_EMBEDDER, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL } from './ui-helpers';

describe('the Library, live', () => {
  const home = tempDir();
  const elsewhere = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
    elsewhere.remove();
  });

  it('follows loads and unloads made elsewhere from the live events, without polling /app/runners', async () => {
    const { page, close } = await freshPage(browser);
    let runnerReads = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/app/runners' && request.method() === 'GET') runnerReads++;
    });
    // The page's timers run on a clock the test moves: "idling" is minutes of page time at once.
    await page.clock.install();
    await page.goto(`${server.url}/#/library`);
    const row = page.getByTestId('library').locator('[data-model="test/tiny-lm"]');
    await expect.poll(() => row.textContent(), POLL).toContain('idle');
    await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
    expect(runnerReads).toBe(1);

    await page.clock.runFor(60_000);
    // A request the page makes after the idle minute: any poll that fired was sent before it.
    const health = page.waitForRequest((request) => request.url().endsWith('/health?after-idle'));
    await page.evaluate(() => fetch('/health?after-idle').then((response) => response.status));
    await health;
    expect(runnerReads).toBe(1);

    await appJson(server.url, '/app/runners', {
      method: 'POST',
      body: JSON.stringify({ model: 'test/tiny-lm' }),
    });
    await expect.poll(() => row.textContent(), POLL).toContain('loaded · cpu');
    await appJson(server.url, '/app/runners/unload', {
      method: 'POST',
      body: JSON.stringify({ model: 'test/tiny-lm' }),
    });
    await expect.poll(() => row.textContent(), POLL).toContain('idle');
    await close();
  });

  it("edits a language model's generations at once and quantization at load in its preset", async () => {
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/library`);
    const row = page.getByTestId('library').locator('[data-model="test/tiny-lm"]');
    await expect.poll(() => row.textContent(), POLL).toContain('idle');
    const preset = async () =>
      (await appJson<{ preset: unknown }>(server.url, '/app/models/test/tiny-lm')).preset;
    await row.getByRole('button', { name: 'Preset' }).click();
    const editor = page.getByRole('form', { name: 'Preset of test/tiny-lm' });
    await editor.getByLabel('Generations at once').fill('2');
    await editor.getByLabel('Quantize at load').selectOption('q8');
    await editor.getByRole('button', { name: 'Save preset' }).click();
    await expect.poll(preset, POLL).toEqual({ parallel: 2, quantize: 'q8' });
    // Emptied, they fall back to the settings again.
    await row.getByRole('button', { name: 'Preset' }).click();
    expect(await editor.getByLabel('Quantize at load').inputValue()).toBe('q8');
    await editor.getByLabel('Generations at once').fill('');
    await editor.getByLabel('Quantize at load').selectOption('');
    await editor.getByRole('button', { name: 'Save preset' }).click();
    await expect.poll(preset, POLL).toEqual({});
    await close();
  });

  it('rescans the models folder on request and says what changed', async () => {
    const folder = installFixture(TINY_EMBEDDER, elsewhere.path, 'mine/embedder');
    const imported = await appJson<{ id: string }>(server.url, '/app/models/import', {
      method: 'POST',
      body: JSON.stringify({ path: folder, mode: 'in-place' }),
    });
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/library`);
    const row = page.getByTestId('library').locator(`[data-model="${imported.id}"]`);
    await expect.poll(() => row.textContent(), POLL).toContain('idle');

    // The files of a model registered where it was go away behind Lodge's back.
    rmSync(folder, { recursive: true, force: true });
    const rescan = page.waitForResponse(
      (response) => new URL(response.url()).pathname === '/app/models/rescan' && response.ok(),
    );
    await page.getByRole('button', { name: 'Rescan' }).click();
    expect(await (await rescan).json()).toMatchObject({ missing: [imported.id], added: [], restored: [] });
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Rescanned' }).textContent(), POLL)
      .toBe(`Rescanned the models folder: files missing for ${imported.id}.`);
    await expect.poll(() => row.textContent(), POLL).toContain('files missing');

    // A second rescan finds nothing new, and says so.
    await page.getByRole('button', { name: 'Rescan' }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Rescanned' }).textContent(), POLL)
      .toBe('Rescanned the models folder: nothing changed.');
    await close();
  });
});
