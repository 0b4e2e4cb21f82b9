import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM, WIDE_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';

const SCREENSHOTS = join(import.meta.dirname, '../../test-results');

describe('the Chat view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    installFixture(WIDE_LM, join(home.path, 'models'), 'test/wide-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    // Short answers from the tiny model; the wide one writes until stopped.
    await fetch(`${server.url}/app/models/test/tiny-lm`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ preset: { maxTokens: 12 } }),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  const answers = () => page.locator('article[aria-label="Assistant"]');

  it('streams an answer with its stats, regenerates it, and edits and resends a question', async () => {
    await page.goto(`${server.url}/#/chat`);
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByLabel('Model').selectOption('test/tiny-lm');
    await page.getByLabel('Message').fill('Hello there!');
    await page.getByLabel('Message').press('Enter');
    await expect.poll(() => page.getByTestId('message-stats').count(), { timeout: 15_000 }).toBe(1);
    const stats = (await page.getByTestId('message-stats').textContent()) ?? '';
    expect(stats, stats).toContain('12 tokens');
    expect(stats, stats).toMatch(/[\d.]+ tok\/s/);
    expect(stats, stats).toMatch(/first token\s+\d+\s+ms/);
    expect((await answers().first().textContent())?.trim().length).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => page.getByTestId('message-stats').count(), { timeout: 15_000 }).toBe(1);
    expect(await answers().count()).toBe(1);

    await page.locator('article[aria-label="You"]').getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Edit message').fill('How are you today?');
    await page.getByRole('button', { name: 'Send again' }).click();
    await expect
      .poll(() => page.locator('article[aria-label="You"]').textContent(), { timeout: 15_000 })
      .toContain('How are you today?');
    await expect.poll(() => page.getByTestId('message-stats').count(), { timeout: 15_000 }).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'chat.png') });
  });

  it('stops an answer mid-stream with Esc and keeps what arrived', async () => {
    await page.getByLabel('Model').selectOption('test/wide-lm');
    await page.getByLabel('Message').fill('Tell me a long story.');
    await page.getByLabel('Message').press('Enter');
    await expect
      .poll(async () => ((await answers().last().textContent()) ?? '').replace('…', '').trim().length, {
        timeout: 15_000,
      })
      .toBeGreaterThan(5);
    await page.keyboard.press('Escape');
    await expect
      .poll(() => page.getByTestId('message-stats').last().textContent(), { timeout: 15_000 })
      .toContain('stopped');
    expect((await answers().last().textContent())?.trim().length).toBeGreaterThan(5);
  });

  it('compares two models side by side on one prompt', async () => {
    await page.goto(`${server.url}/#/chat`);
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByLabel('Model 1').selectOption('test/tiny-lm');
    await page.getByLabel('Model 2').selectOption('test/tiny-lm');
    await page.getByLabel('Prompt to compare').fill('The quick brown fox');
    await page.getByRole('button', { name: 'Compare', exact: true }).last().click();
    for (const side of [0, 1]) {
      await expect
        .poll(() => page.getByTestId(`compare-${side}`).locator('.stats').textContent(), { timeout: 15_000 })
        .toMatch(/12 tokens/);
    }
    await page.getByRole('button', { name: 'Compare' }).first().click();
  });

  it('finds the conversation again after a reload', async () => {
    const questions = await page.locator('article[aria-label="You"]').allTextContents();
    await page.reload();
    await expect
      .poll(() => page.locator('article[aria-label="You"]').allTextContents(), { timeout: 15_000 })
      .toEqual(questions);
    expect(await page.locator('aside[aria-label="Conversations"] li').count()).toBe(1);
    // Titled after its first question when it was first saved.
    expect(await page.locator('aside[aria-label="Conversations"] li').textContent()).toContain(
      'Hello there!',
    );
  });
});
