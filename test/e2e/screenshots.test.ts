import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../fixtures/fake-hub';
import { fixturePath, installFixture, TINY_EMBEDDER, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, POLL } from './ui-helpers';

/** Where the pictures go: test-results, or the folder in LODGE_SCREENSHOTS (docs/screenshots for the README). */
const OUT = resolve(process.env.LODGE_SCREENSHOTS ?? join(import.meta.dirname, '../../test-results/views'));
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

/** The relative luminance of the page's background, as WCAG defines it (0 black … 1 white). */
const BACKGROUND_LUMINANCE = `(() => {
  const [r, g, b] = getComputedStyle(document.body.parentElement).backgroundColor.match(/[\\d.]+/g).map(Number);
  const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
})()`;

describe('every view, light and dark, as the README shows it', () => {
  const home = tempDir();
  let hub: FakeHub;
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    hub = await FakeHub.start([
      { id: 'onnx-community/tiny-chat', dir: fixturePath(TINY_LM), pipelineTag: 'text-generation' },
      { id: 'acme/tiny-chat-instruct', dir: fixturePath(TINY_LM), pipelineTag: 'text-generation' },
    ]);
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    installFixture(TINY_EMBEDDER, join(home.path, 'models'), 'test/tiny-embedder');
    server = await startServeProcess(['--port', '0'], {
      HF_ENDPOINT: hub.url,
      LODGE_HUB_TRUSTED_ORIGINS: hub.cdnUrl,
      LODGE_HOME: home.path,
    });
    const { id } = await appJson<{ id: string }>(server.url, '/app/conversations', {
      method: 'POST',
      body: JSON.stringify({ model: 'test/tiny-lm', title: 'Sorting a list in Python' }),
    });
    await appJson(server.url, `/app/conversations/${id}/messages`, {
      method: 'PUT',
      body: JSON.stringify({
        messages: [
          { role: 'user', content: 'How do I sort a list of names in Python?', model: null, stats: null },
          {
            role: 'assistant',
            content:
              'Use `sorted()` for a new list, or `.sort()` to sort in place:\n\n```python\nnames = ["Ada", "grace", "Linus"]\nprint(sorted(names, key=str.lower))\n```\n\nPass `reverse=True` for descending order.',
            model: 'test/tiny-lm',
            stats: {
              promptTokens: 24,
              completionTokens: 61,
              tokensPerSecond: 48.2,
              timeToFirstTokenMs: 92,
              finishReason: 'stop',
            },
          },
        ],
      }),
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await hub?.close();
    home.remove();
  });

  const open = async (page: Page, view: string) => {
    await page.goto(`${server.url}/#/${view}`);
    await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe(view);
    await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
    if (view === 'library')
      await expect.poll(() => page.getByTestId('library').locator('tbody tr').count(), POLL).toBe(2);
    if (view === 'chat') {
      await page.getByRole('button', { name: 'Sorting a list in Python', exact: true }).click();
      await expect.poll(() => page.locator('article').count(), POLL).toBe(2);
    }
    if (view === 'monitor') {
      // Some work to show: three answers and one refused request, while the view watches.
      const points = (title: string) =>
        page.getByTestId(`chart-${title}`).getAttribute('data-points').then(Number);
      await expect.poll(() => points('Machine'), POLL).toBeGreaterThan(0);
      for (const model of ['test/tiny-lm', 'test/tiny-lm', 'test/tiny-lm', 'no/such-model'])
        await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 24 }),
        });
      await expect.poll(() => points('Decode speed'), POLL).toBeGreaterThanOrEqual(3);
      await expect.poll(() => page.getByTestId('recent-errors').count(), POLL).toBe(1);
    }
    if (view === 'discover') {
      await page.click('form[role="search"] button[type="submit"]');
      await page.getByRole('button', { name: /onnx-community\/tiny-chat/ }).click();
      await expect.poll(() => page.getByTestId('variants').count(), POLL).toBe(1);
    }
  };

  for (const scheme of ['light', 'dark'] as const) {
    it(`draws each view with its icon and the ${scheme} colours`, async () => {
      const page = await browser.newPage({ colorScheme: scheme, viewport: { width: 1280, height: 800 } });
      for (const view of VIEWS) {
        await open(page, view);
        // The navigation and the view's header carry the same Lucide icon.
        const navIcon = page.locator(`nav a[data-view="${view}"] svg.lucide`);
        await expect.poll(() => navIcon.count(), POLL).toBe(1);
        const name = (await navIcon.getAttribute('class'))
          ?.split(/\s+/)
          .find((token) => token.startsWith('lucide-') && token !== 'lucide-icon');
        expect(name, `the ${view} link's icon`).toBeDefined();
        expect(await page.locator(`main svg.${name}`).count(), `the ${view} header's icon`).toBeGreaterThan(
          0,
        );
        const luminance = (await page.evaluate(BACKGROUND_LUMINANCE)) as number;
        if (scheme === 'dark') expect(luminance).toBeLessThan(0.05);
        else expect(luminance).toBeGreaterThan(0.85);
        await page.screenshot({ path: join(OUT, `${view}-${scheme}.png`) });
      }
      await page.close();
    });
  }
});
