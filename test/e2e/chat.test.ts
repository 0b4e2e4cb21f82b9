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
  it('keeps a long conversation light: the latest 40 messages, at the end, earlier ones on request', async () => {
    const created = await fetch(`${server.url}/app/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/tiny-lm', title: 'A long one' }),
    });
    const { id } = (await created.json()) as { id: string };
    const messages = Array.from({ length: 600 }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      model: index % 2 === 0 ? null : 'test/tiny-lm',
      stats: null,
      content:
        index % 2 === 0
          ? `question ${index}`
          : `answer ${index}\n\n\`\`\`python\nprint(${index})\n\`\`\`\n\n- a point\n- another`,
    }));
    const replaced = await fetch(`${server.url}/app/conversations/${id}/messages`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    expect(replaced.status).toBe(200);

    await page.reload();
    await page.getByRole('button', { name: 'A long one', exact: true }).click();
    const articles = page.getByTestId('messages').locator('article');
    await expect.poll(() => articles.last().textContent(), { timeout: 15_000 }).toContain('answer 599');
    expect(await articles.count()).toBe(40);
    expect(await articles.first().textContent()).toContain('question 560');
    // The list scrolls (not the page), and it opened at its end: the last answer and the composer on screen.
    const list = page.getByTestId('messages');
    const geometry = () =>
      list.evaluate((element) => ({
        overflow: element.scrollHeight - element.clientHeight,
        fromEnd: element.scrollHeight - element.scrollTop - element.clientHeight,
      }));
    await expect.poll(async () => (await geometry()).fromEnd).toBeLessThan(48);
    expect((await geometry()).overflow).toBeGreaterThan(2000);
    const bottom = async (box: { y: number; height: number } | null) => (box ? box.y + box.height : Infinity);
    expect(await bottom(await articles.last().boundingBox())).toBeLessThanOrEqual(860);
    expect(await bottom(await page.locator('form.composer').boundingBox())).toBeLessThanOrEqual(860);
    await page.screenshot({ path: join(SCREENSHOTS, 'chat-long.png') });

    // Earlier messages arrive above without moving what the reader is looking at.
    await page.getByTestId('earlier').scrollIntoViewIfNeeded();
    const anchor = articles.filter({ hasText: 'question 560' });
    const before = (await anchor.boundingBox())?.y;
    await page.getByTestId('earlier').click();
    await expect.poll(() => articles.count()).toBe(80);
    expect((await anchor.boundingBox())?.y).toBeCloseTo(before ?? -1, -1);
    expect(await articles.first().textContent()).toContain('question 520');
    expect(await page.getByTestId('earlier').textContent()).toContain('520 not shown');
  });
  it('applies the parameters panel to the conversation, and clearing a field falls back to the preset', async () => {
    await page.getByRole('button', { name: 'Parameters' }).click();
    const panel = page.getByRole('form', { name: 'Chat parameters' });
    await panel.getByLabel('Temperature').fill('0.5');
    await panel.getByLabel('Max tokens').fill('3');
    await panel.getByLabel('Seed').fill('7');
    await panel.getByLabel('Stop strings').fill('x, y');
    await panel.getByRole('button', { name: 'Apply' }).click();
    const id = await page.evaluate(`localStorage.getItem('lodge.chat.last')`);
    const params = async () =>
      ((await (await fetch(`${server.url}/app/conversations/${String(id)}`)).json()) as { params: unknown })
        .params;
    await expect.poll(params).toEqual({ temperature: 0.5, maxTokens: 3, seed: 7, stop: ['x', 'y'] });

    await panel.getByLabel('Temperature').fill('');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(params).toEqual({ maxTokens: 3, seed: 7, stop: ['x', 'y'] });
  });
});
