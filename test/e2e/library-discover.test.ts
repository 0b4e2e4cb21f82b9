import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../fixtures/fake-hub';
import { fixturePath, TINY_EMBEDDER, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { POLL } from './ui-helpers';

const SCREENSHOTS = join(import.meta.dirname, '../../test-results');

describe('Discover and Library in the browser', () => {
  const home = tempDir();
  let hub: FakeHub;
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    hub = await FakeHub.start([
      {
        id: 'onnx-community/tiny-chat',
        dir: fixturePath(TINY_LM),
        pipelineTag: 'text-generation',
        downloads: 1234,
      },
      { id: 'onnx-community/tiny-embed', dir: fixturePath(TINY_EMBEDDER), pipelineTag: 'feature-extraction' },
    ]);
    server = await startServeProcess(['--port', '0'], {
      LODGE_HOME: home.path,
      HF_ENDPOINT: hub.url,
      LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await hub?.close();
    home.remove();
  });

  it('finds a model on the hub, downloads it with live progress, and shows it in the Library', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${server.url}/#/discover`);
    await page.fill('input[name="q"]', 'tiny');
    await page.click('form[role="search"] button[type="submit"]');
    await expect.poll(() => page.getByTestId('results').locator('li').count(), POLL).toBe(1);
    expect(await page.getByTestId('result-variants').textContent()).toContain('fp32');
    // Filters: no repo offers fp16; under 1 GB keeps the tiny model and shows its size.
    await page.getByLabel('Variant').selectOption('fp16');
    await page.click('form[role="search"] button[type="submit"]');
    await expect.poll(() => page.getByText('No ONNX models match.').count(), POLL).toBe(1);
    await page.getByLabel('Variant').selectOption('');
    await page.getByLabel('Size').selectOption('under-1gb');
    await page.click('form[role="search"] button[type="submit"]');
    await expect
      .poll(() => page.getByTestId('result-variants').textContent(), POLL)
      .toMatch(/fp32\s*[\d.]+ [KM]B/);
    await page.getByRole('button', { name: /onnx-community\/tiny-chat/ }).click();
    await expect.poll(() => page.getByTestId('variants').locator('tbody tr').count(), POLL).toBe(1);
    expect(await page.getByTestId('variants').textContent()).toContain('fits');
    await page.locator('details summary').click();
    await expect
      .poll(() => page.locator('.markdown h1').textContent(), POLL)
      .toBe('onnx-community/tiny-chat');
    // The card is highlighted, has a copy button on its code, and its script is gone (sanitized).
    expect(await page.locator('.markdown .hljs-keyword').first().textContent()).toBe('from');
    expect(await page.locator('.markdown button[data-copy]').count()).toBe(1);
    expect(await page.locator('.markdown script').count()).toBe(0);
    await page.locator('.markdown button[data-copy]').click();
    await expect.poll(() => page.locator('.markdown button[data-copy]').textContent(), POLL).toBe('Copied');

    hub.throttle(150_000);
    await page.getByRole('button', { name: /^Download/ }).click();
    const row = page.locator('[data-model="onnx-community/tiny-chat"]');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('downloading');
    await expect
      .poll(() => row.getByRole('progressbar').getAttribute('aria-valuenow'), { timeout: 10_000 })
      .not.toBe('0');
    await page.screenshot({ path: join(SCREENSHOTS, 'discover-downloading.png') });
    hub.throttle(0);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('completed');

    await page.click('nav a[data-view="library"]');
    const library = page.getByTestId('library');
    await expect.poll(() => library.locator('[data-model="onnx-community/tiny-chat"]').count(), POLL).toBe(1);
    expect(await library.locator('[data-model="onnx-community/tiny-chat"]').textContent()).toContain(
      'text-generation',
    );

    // From the Library straight into a new chat with that model.
    await library
      .locator('[data-model="onnx-community/tiny-chat"]')
      .getByRole('button', { name: 'Chat' })
      .click();
    await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe('chat');
    await expect.poll(() => page.getByLabel('Model').inputValue(), POLL).toBe('onnx-community/tiny-chat');
    // The chat is stored with its first message, not before.
    expect(await page.locator('aside[aria-label="Conversations"] li').count()).toBe(0);
    await page.getByLabel('Message').fill('Hi');
    await page.getByLabel('Message').press('Enter');
    await expect.poll(() => page.locator('aside[aria-label="Conversations"] li').count(), POLL).toBe(1);
    await page.close();
  });

  it('imports a folder, loads and unloads it, and deletes it after confirmation', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${server.url}/#/library`);
    // A failed import says why; the next import starts without that stale error on screen.
    await page.fill('input[name="path"]', join(home.path, 'no-such-model'));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').count(), POLL).toBe(1);
    await page.fill('input[name="path"]', fixturePath(TINY_EMBEDDER));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    expect(await page.getByRole('alert').count()).toBe(0);
    const row = page.locator(
      '[data-model="local/embedding-' + fixturePath(TINY_EMBEDDER).split('embedding-')[1] + '"]',
    );
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.textContent()).toContain('embeddings');

    await row.getByRole('button', { name: 'Load' }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('loaded · cpu');
    await page.screenshot({ path: join(SCREENSHOTS, 'library.png') });
    await row.getByRole('button', { name: 'Unload' }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('idle');

    // The preset editor saves numbers, and an emptied field drops that value from the preset.
    const id = (await row.getAttribute('data-model')) ?? '';
    const preset = async () =>
      ((await (await fetch(`${server.url}/app/models/${id}`)).json()) as { preset: unknown }).preset;
    await row.getByRole('button', { name: 'Preset' }).click();
    const editor = page.getByRole('form', { name: `Preset of ${id}` });
    await editor.getByLabel('Temperature').fill('0.3');
    await editor.getByLabel('Max tokens').fill('64');
    // The keep-alive, providers and variant the preset holds are in the editor too.
    await editor.getByLabel('Keep loaded after use').fill('60');
    await editor.getByLabel('cpu').check();
    await editor.getByLabel('Variant').selectOption({ index: 1 });
    const variant = await editor.getByLabel('Variant').inputValue();
    expect(variant).not.toBe('');
    await editor.getByRole('button', { name: 'Save preset' }).click();
    await expect
      .poll(preset, POLL)
      .toEqual({ temperature: 0.3, maxTokens: 64, keepAliveSeconds: 60, providers: ['cpu'], variant });
    await row.getByRole('button', { name: 'Preset' }).click();
    expect(await editor.getByLabel('Variant').inputValue()).toBe(variant);
    await editor.getByLabel('Temperature').fill('');
    await editor.getByLabel('Keep loaded after use').fill('');
    await editor.getByLabel('cpu').uncheck();
    await editor.getByLabel('Variant').selectOption('');
    await editor.getByRole('button', { name: 'Save preset' }).click();
    await expect.poll(preset, POLL).toEqual({ maxTokens: 64 });

    await row.getByRole('button', { name: 'Delete' }).click();
    expect(await row.count()).toBe(1);
    // A copied import is Lodge's own: the confirmation says its files go too.
    const confirm = page.getByRole('group', { name: `Delete ${id}` });
    expect(await confirm.getByTestId('delete-consequence').textContent()).toMatch(/and its files/);
    await confirm.getByRole('button', { name: 'Confirm delete' }).click();
    await expect.poll(() => row.count(), POLL).toBe(0);
    expect(await page.locator('main').getByRole('status').textContent()).toContain('deleted with its files');
    await page.close();
  });
});
