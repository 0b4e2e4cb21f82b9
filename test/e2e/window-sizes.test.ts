import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_EMBEDDER, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL } from './ui-helpers';

const SCREENSHOTS = join(import.meta.dirname, '../../test-results');
const WIDTHS = [800, 1280, 1920] as const;

/**
 * Every control on the page that cannot be reached: scrolled into view (by whatever scrolls it), it
 * must lie across the viewport's width and be what the pointer finds at its left, centre and
 * right, so that nothing clips or covers any part of it. Runs in the page, so it is a string.
 */
const UNREACHABLE = `(() => {
  const failures = [];
  const main = document.querySelector('main');
  if (main.scrollWidth > main.clientWidth + 1)
    failures.push('the view is ' + main.scrollWidth + ' px wide in a ' + main.clientWidth + ' px window: it scrolls sideways');
  const controls = document.querySelectorAll('button, a[href], input, select, textarea, summary');
  for (const control of controls) {
    if (control.closest('[aria-hidden="true"]')) continue;
    if (getComputedStyle(control).visibility !== 'visible' || control.getClientRects().length === 0) continue;
    control.scrollIntoView({ block: 'center', inline: 'center' });
    const box = control.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const name = control.tagName.toLowerCase() + ' "' + (control.textContent || control.getAttribute('aria-label') || control.getAttribute('name') || '').trim().slice(0, 30) + '"';
    if (box.left < -0.5 || box.right > innerWidth + 0.5) {
      failures.push(name + ' spans ' + Math.round(box.left) + '..' + Math.round(box.right) + ' of ' + innerWidth);
      continue;
    }
    const y = Math.min(Math.max(box.top + box.height / 2, 1), innerHeight - 1);
    for (const x of [box.left + 2, box.left + box.width / 2, box.right - 2]) {
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(hit === control || control.contains(hit) || (control.labels && [...control.labels].some((label) => label.contains(hit))))) {
        failures.push(name + ' is covered or clipped at x=' + Math.round(x) + ' by ' + (hit ? hit.tagName.toLowerCase() + '.' + hit.className : 'nothing'));
        break;
      }
    }
  }
  return failures;
})()`;

describe('every view works in a window from 800 px wide up', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    installFixture(TINY_EMBEDDER, join(home.path, 'models'), 'test/tiny-embedder-with-a-long-name');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    const { id } = await appJson<{ id: string }>(server.url, '/app/conversations', {
      method: 'POST',
      body: JSON.stringify({
        model: 'test/tiny-lm',
        title: 'A conversation with a rather long title indeed',
      }),
    });
    await appJson(server.url, `/app/conversations/${id}/messages`, {
      method: 'PUT',
      body: JSON.stringify({
        messages: [
          { role: 'user', content: 'A question', model: null, stats: null },
          {
            role: 'assistant',
            content:
              'An answer with code:\n\n```python\nprint("a rather long line of code that goes on and on and on")\n```',
            model: 'test/tiny-lm',
            stats: null,
          },
        ],
      }),
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  /** Each view in the state that shows the most controls. */
  const STATES: Record<string, (page: Page) => Promise<void>> = {
    discover: async (page) => {
      await page.click('form[role="search"] button[type="submit"]');
    },
    library: async (page) => {
      await expect.poll(() => page.getByTestId('library').locator('tbody tr').count(), POLL).toBe(2);
      const row = page.locator('[data-model="test/tiny-lm"]');
      await row.getByRole('button', { name: 'Preset' }).click();
      await row.getByRole('button', { name: 'Delete' }).click();
    },
    chat: async (page) => {
      await page.getByRole('button', { name: /^A conversation with a rather long title/ }).click();
      await expect.poll(() => page.locator('article').count(), POLL).toBe(2);
      await page.getByRole('button', { name: 'Parameters' }).click();
    },
    compare: async (page) => {
      await page.getByRole('button', { name: 'Compare' }).click();
      await expect.poll(() => page.getByLabel('Model 2').count(), POLL).toBe(1);
    },
    server: async () => undefined,
    monitor: async () => undefined,
    settings: async (page) => {
      await expect.poll(() => page.getByRole('button', { name: 'Save settings' }).count(), POLL).toBe(1);
    },
  };

  for (const width of WIDTHS) {
    it(`leaves no control cut off at ${width} px`, async () => {
      const { page, close } = await freshPage(browser, { width, height: 800 });
      try {
        const failures: string[] = [];
        for (const [state, prepare] of Object.entries(STATES)) {
          const view = state === 'compare' ? 'chat' : state;
          await page.goto(`${server.url}/#/${view}`);
          await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
          await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe(view);
          await prepare(page);
          await page.screenshot({ path: join(SCREENSHOTS, `${state}-${width}.png`) });
          const unreachable = (await page.evaluate(UNREACHABLE)) as string[];
          failures.push(...unreachable.map((failure) => `${state}: ${failure}`));
        }
        expect(failures).toEqual([]);
      } finally {
        await close();
      }
    });
  }
});
