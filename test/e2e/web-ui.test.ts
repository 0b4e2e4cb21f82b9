import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { POLL } from './ui-helpers';

const SCREENSHOTS = join(import.meta.dirname, '../../test-results');
const VIEWS = [
  'discover',
  'library',
  'chat',
  'images',
  'transcribe',
  'server',
  'monitor',
  'settings',
] as const;

describe('the web UI served by the headless core', () => {
  const dir = tempDir();
  let server: ServeProcess;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = await startServeProcess(['--port', '0', '--data-dir', dir.path]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    dir.remove();
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`navigates every view (${scheme}) and shows the core connected`, async () => {
      const page = await browser.newPage({ colorScheme: scheme, viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      await page.goto(`${server.url}/`);
      await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected · v\d/);

      for (const view of VIEWS) {
        await page.click(`nav a[data-view="${view}"]`);
        await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe(view);
        await expect
          .poll(() => page.locator('nav a[aria-current="page"]').getAttribute('data-view'), POLL)
          .toBe(view);
        expect(await page.locator('main h1').textContent()).toBe(view[0]?.toUpperCase() + view.slice(1));
        await page.screenshot({ path: join(SCREENSHOTS, `${view}-${scheme}.png`) });
      }
      // The hash route survives a reload.
      await page.reload();
      await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe('settings');
      expect(problems).toEqual([]);
      await page.close();
    });
  }

  it('saves a setting from the Settings view into the core', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const settings = async () =>
      (await (await fetch(`${server.url}/app/settings`)).json()) as {
        values: {
          origins: string[];
          keepAliveSeconds: number;
          memoryBudgetMb: number | null;
          quantize: string;
        };
        sources: Record<string, string>;
      };
    /** Saves and waits for the form to say so: it clears its message and locks its fields meanwhile. */
    const save = async (expected = 'Saved.') => {
      await page.click('button[type="submit"]');
      await expect.poll(() => page.locator('main').getByRole('status').textContent(), POLL).toBe(expected);
      expect(await page.locator('fieldset.all').isDisabled()).toBe(false);
    };
    await page.goto(`${server.url}/#/settings`);
    await page.fill('#origins', 'http://localhost:5173');
    await save();
    const first = await settings();
    expect(first.values.origins).toEqual(['http://localhost:5173']);
    // Only the changed field is stored: the defaults the user never touched stay defaults.
    expect(Object.entries(first.sources).filter(([, source]) => source === 'settings')).toEqual([
      ['origins', 'settings'],
    ]);

    await page.getByLabel(/Keep loaded after use/).fill('-1');
    await save();
    expect((await settings()).values.keepAliveSeconds).toBe(-1);

    // A memory budget is saved as a number, and an emptied field means no budget.
    await page.getByLabel(/Memory budget/).fill('2048');
    await save();
    expect((await settings()).values.memoryBudgetMb).toBe(2048);
    await page.getByLabel(/Memory budget/).fill('');
    await save();
    expect((await settings()).values.memoryBudgetMb).toBe(null);
    await save('Nothing changed.');

    // Quantization at load is chosen from its modes.
    await page.getByLabel(/Quantize at load/).selectOption('q8');
    await save();
    expect((await settings()).values.quantize).toBe('q8');

    // A stored setting can go back to its default.
    await page.getByRole('button', { name: 'Reset keep loaded after use to its default' }).click();
    await expect.poll(async () => (await settings()).sources.keepAliveSeconds, POLL).toBe('default');
    await expect.poll(() => page.getByLabel(/Keep loaded after use/).inputValue(), POLL).not.toBe('-1');
    expect(await page.getByRole('button', { name: /Reset keep loaded after use/ }).count()).toBe(0);

    // The source tags sit on their field's name line, sized to their text.
    const tag = page.locator('div.field .badge').first();
    const box = await tag.boundingBox();
    const field = await page.locator('div.field').first().boundingBox();
    expect(box && field && box.width < field.width / 2).toBe(true);
    expect(box && box.height < 30).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'settings-saved.png'), fullPage: true });

    await page.selectOption('#theme', 'dark');
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.reload();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    expect(
      await page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()"),
    ).toBe('#111116');
    await page.close();
  });

  it('lists API requests live in the Server view', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/#/server`);
    await expect.poll(() => page.getByTestId('api-base').textContent(), POLL).toBe(server.url);
    await fetch(`${server.url}/api/tags-from-e2e`);
    await expect
      .poll(() => page.getByTestId('request-log').textContent(), { timeout: 10_000 })
      .toContain('/api/tags-from-e2e');
    await page.close();
  });

  it('opens the command palette with Ctrl+K and navigates from it', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/#/chat`);
    await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
    await page.keyboard.press('Control+k');
    await page.getByLabel('Command', { exact: true }).fill('monitor');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe('monitor');
    expect(await page.getByRole('dialog').count()).toBe(0);
    await page.close();
  });

  it('renders the API docs from /openapi.json', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/docs`);
    await expect
      .poll(() => page.locator('.opblock-summary-path').count(), { timeout: 15_000 })
      .toBeGreaterThan(10);
    expect(await page.locator('.opblock-summary-path').allTextContents()).toEqual(
      expect.arrayContaining(['/v1/chat/completions', '/api/chat', '/app/settings']),
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'api-docs.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('asks for the API key when the core requires one, and connects with it', async () => {
    const keyed = await startServeProcess([
      '--port',
      '0',
      '--data-dir',
      dir.path,
      '--api-key',
      'browser-key-0001',
    ]);
    try {
      const page = await browser.newPage();
      await page.goto(`${keyed.url}/`);
      await expect.poll(() => page.locator('main h1').textContent(), POLL).toBe('API key needed');
      await page.fill('#api-key', 'wrong-key-000');
      await page.click('button[type="submit"]');
      await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/not accepted/);
      await page.fill('#api-key', 'browser-key-0001');
      await page.click('button[type="submit"]');
      await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
      await page.close();
    } finally {
      await keyed.stop();
    }
  });
});
