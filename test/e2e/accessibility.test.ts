import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { POLL } from './ui-helpers';

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

/** Controls that Chromium's accessibility tree lists without a name (an unlabelled input, an icon button). */
const UNNAMED =
  /^\s*- (button|textbox|searchbox|combobox|checkbox|radio|slider|spinbutton|link|switch)(\s*\[[^\]]*\])*:?\s*$/;

/**
 * WCAG 2 contrast of every visible text against the backgrounds behind it (composited up to the
 * first opaque one): under 4.5:1 for body text, or 3:1 for large text, is a failure. Disabled
 * controls are exempt, as WCAG allows. Runs in the page, so it is a string (no DOM types here).
 */
const CONTRAST_FAILURES = `(() => {
  const parse = (color) => {
    const match = /rgba?\\(([^)]+)\\)/.exec(color);
    if (!match) return null;
    const [r, g, b, a = 1] = match[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const over = (top, base) => ({
    r: top.r * top.a + base.r * (1 - top.a),
    g: top.g * top.a + base.g * (1 - top.a),
    b: top.b * top.a + base.b * (1 - top.a),
    a: 1,
  });
  const luminance = ({ r, g, b }) => {
    const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const backdrop = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const color = parse(getComputedStyle(node).backgroundColor);
      if (color && color.a > 0) layers.push(color);
      if (color && color.a >= 1) break;
    }
    return layers.reverse().reduce((base, layer) => over(layer, base), { r: 255, g: 255, b: 255, a: 1 });
  };
  const failures = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const element = walker.currentNode.parentElement;
    if (!text || !element || seen.has(element)) continue;
    seen.add(element);
    if (element.closest(':disabled, [aria-disabled="true"], [aria-hidden="true"]')) continue;
    const style = getComputedStyle(element);
    if (style.visibility !== 'visible' || element.getClientRects().length === 0) continue;
    const background = backdrop(element);
    const foreground = over(parse(style.color), background);
    const [light, dark] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5))
      failures.push(element.tagName.toLowerCase() + '.' + element.className + ' "' + text.slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return failures;
})()`;

describe('accessibility of every view, light and dark', () => {
  const home = tempDir();
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
  });

  const open = async (page: Page, view: string) => {
    await page.goto(`${server.url}/#/${view}`);
    await expect.poll(() => page.locator('main').getAttribute('data-current-view'), POLL).toBe(view);
    await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
  };

  for (const scheme of ['light', 'dark'] as const) {
    it(`names every control and keeps text readable (${scheme})`, async () => {
      const page = await browser.newPage({ colorScheme: scheme, viewport: { width: 1280, height: 900 } });
      for (const view of VIEWS) {
        await open(page, view);
        if (view === 'chat') await page.locator('aside[aria-label="Conversations"] > button').click();
        if (view === 'discover') await page.click('form[role="search"] button[type="submit"]');
        const tree = await page.locator('body').ariaSnapshot();
        const unnamed = tree.split('\n').filter((line) => UNNAMED.test(line));
        expect(unnamed, `unnamed controls in ${view}`).toEqual([]);
        expect(await page.evaluate(CONTRAST_FAILURES), `low contrast in ${view}`).toEqual([]);
      }
      await page.close();
    });
  }

  it('moves focus in reading order, with a visible focus ring, and nothing jumps the queue', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await open(page, 'settings');
    expect(await page.locator('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])').count()).toBe(0);
    const stops: string[] = [];
    for (let step = 0; step < 15; step++) {
      await page.keyboard.press('Tab');
      stops.push(
        await page.evaluate(`(() => {
          const active = document.activeElement;
          const all = [...document.querySelectorAll('*')];
          const outline = getComputedStyle(active).outlineStyle;
          return all.indexOf(active) + ':' + (outline !== 'none' || getComputedStyle(active).boxShadow !== 'none');
        })()`),
      );
    }
    const positions = stops.map((stop) => Number(stop.split(':')[0]));
    expect(positions.every((position, index) => index === 0 || position > (positions[index - 1] ?? 0))).toBe(
      true,
    );
    expect(stops.every((stop) => stop.endsWith(':true'))).toBe(true);
    await page.close();
  });
});

describe('the empty window: a fresh install with no model', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`says what to do next in the Library and the Chat, readably (${scheme})`, async () => {
      const page = await browser.newPage({ colorScheme: scheme, viewport: { width: 1280, height: 900 } });
      for (const view of ['library', 'chat'] as const) {
        await page.goto(`${server.url}/#/${view}`);
        await expect.poll(() => page.getByTestId('connection').textContent(), POLL).toMatch(/Connected/);
        const empty = page.getByRole('region', {
          name: view === 'library' ? 'No models yet' : 'No model to chat with',
        });
        await expect.poll(() => empty.count(), POLL).toBe(1);
        expect(await page.evaluate(CONTRAST_FAILURES), `low contrast in the empty ${view}`).toEqual([]);
        // The way out: Discover, one click away.
        await empty.getByRole('button', { name: 'Discover models' }).click();
        await expect
          .poll(() => page.locator('main').getAttribute('data-current-view'), POLL)
          .toBe('discover');
      }
      await page.close();
    });
  }
});
