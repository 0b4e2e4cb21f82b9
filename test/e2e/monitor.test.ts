import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, POLL } from './ui-helpers';

const SCREENSHOTS = join(import.meta.dirname, '../../test-results');

describe('the Monitor view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  it('moves its charts while chats run, and unloads a running model', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/#/monitor`);
    const points = (title: string) =>
      page.getByTestId(`chart-${title}`).getAttribute('data-points').then(Number);
    await expect.poll(() => points('Machine'), { timeout: 10_000 }).toBeGreaterThan(0);
    // GPU figures where the machine reports a GPU; otherwise the reason, as the core gives it.
    const system = (await (await fetch(`${server.url}/app/system`)).json()) as {
      gpus: { name: string }[];
      gpuNote: string | null;
    };
    expect(system.gpus.length > 0).toBe(system.gpuNote === null);
    if (system.gpus[0]) {
      const title = `GPU: ${system.gpus[0].name}${system.gpus.length > 1 ? ` (+${system.gpus.length - 1})` : ''}`;
      await expect.poll(() => points(title), { timeout: 10_000 }).toBeGreaterThan(0);
    } else {
      await expect.poll(() => page.getByTestId('gpu-note').textContent(), POLL).toBe(system.gpuNote);
    }

    for (let round = 0; round < 3; round++) {
      await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'test/tiny-lm',
          messages: [{ role: 'user', content: `Hello ${round}` }],
          max_tokens: 30,
        }),
      });
    }
    await expect.poll(() => points('Decode speed'), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => points('Time to first token'), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => points('Requests'), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect
      .poll(() => page.getByTestId('running').textContent(), { timeout: 10_000 })
      .toContain('test/tiny-lm');
    await page.screenshot({ path: join(SCREENSHOTS, 'monitor-live.png') });

    await page.getByTestId('running').getByRole('button', { name: 'Unload' }).click();
    await expect.poll(() => page.getByText('No model is loaded.').count(), { timeout: 10_000 }).toBe(1);
    await page.close();
  });

  it('labels its time axes with clock times, gives each unit its own scale, and lists failed requests', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/#/monitor`);
    const chart = (title: string) => page.getByTestId(`chart-${title}`);
    // The time axis spans minutes: clock times such as "01:02" or "1:02 AM", never a date such as "8/27/29".
    for (const title of ['Requests', 'Machine']) {
      await expect.poll(() => chart(title).getAttribute('data-time-ticks'), POLL).toBeTruthy();
      const ticks = ((await chart(title).getAttribute('data-time-ticks')) ?? '').split(' | ');
      for (const tick of ticks)
        expect(tick, `a tick of ${title}`).toMatch(/^\d{1,2}:\d{2}(:\d{2})?(\s?[AP]M)?$/i);
    }
    // A count and milliseconds do not share one axis (one line would lie flat along the bottom).
    expect(await chart('Requests').getAttribute('data-scales')).toBe('count ms');
    expect(await chart('Machine').getAttribute('data-scales')).toBe('%');

    const refused = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no/such-model', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(refused.status).toBe(404);
    const errors = page.getByTestId('recent-errors');
    await expect.poll(() => errors.textContent(), POLL).toContain('POST /v1/chat/completions');
    expect(await errors.textContent()).toContain('404');
    await page.close();
  });
});

describe('the Monitor view, opened after work was done', () => {
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

  it('opens with the history the core kept, and lists the failed requests the core recorded', async () => {
    const chat = (model: string) =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 }),
      });
    expect((await chat('test/tiny-lm')).status).toBe(200);
    expect((await chat('no/such-history-model')).status).toBe(404);
    // More answered requests since than the Monitor would read of the whole log: the 404 is found
    // among the failed requests the core keeps, not in a window of the latest ones.
    for (let round = 0; round < 210; round++)
      expect((await fetch(`${server.url}/v1/models`)).status).toBe(200);
    // The core samples every interval: wait until its history holds the generation.
    type History = { samples: { inferences: number; requests: number }[] };
    const kept = async () => (await appJson<History>(server.url, '/app/metrics/history')).samples;
    await expect.poll(async () => (await kept()).some((sample) => sample.inferences > 0), POLL).toBe(true);

    // No generation runs while the page is open: its decode-speed points can only come from the history.
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const points = (title: string) =>
      page.getByTestId(`chart-${title}`).getAttribute('data-points').then(Number);
    await page.goto(`${server.url}/#/monitor`);
    await expect.poll(() => points('Decode speed'), POLL).toBeGreaterThan(0);
    expect(await points('Time to first token')).toBeGreaterThan(0);
    const errors = page.getByTestId('recent-errors');
    await expect.poll(() => errors.textContent(), POLL).toContain('404');
    expect(await errors.textContent()).toContain('POST /v1/chat/completions');

    // Leaving the view and coming back keeps the charts: they open from the history again.
    await page.click('nav a[data-view="library"]');
    await expect.poll(() => page.getByTestId('chart-Decode speed').count(), POLL).toBe(0);
    await page.click('nav a[data-view="monitor"]');
    await expect.poll(() => points('Decode speed'), POLL).toBeGreaterThan(0);
    await page.close();
  });
});
