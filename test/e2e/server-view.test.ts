import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { POLL } from './ui-helpers';

/** Runs a snippet exactly as a user would paste it into a shell. */
const paste = (code: string) => execFileSync('bash', ['-c', code], { encoding: 'utf8', timeout: 30_000 });

describe('the Server view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    await fetch(`${server.url}/app/models/test/tiny-lm`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ preset: { maxTokens: 8 } }),
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home.remove();
  });

  it('gives curl snippets that answer as pasted, with and without an API key', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/#/server`);
    const openAi = page.getByTestId('snippet-sh').first();
    await expect.poll(() => openAi.textContent(), { timeout: 10_000 }).toContain('"model":"test/tiny-lm"');
    const reply = JSON.parse(paste((await openAi.textContent()) ?? '')) as {
      choices: { message: { content: string } }[];
    };
    expect(reply.choices[0]?.message.content.length).toBeGreaterThan(0);
    const ollama = JSON.parse(paste((await page.getByTestId('snippet-sh').nth(1).textContent()) ?? '')) as {
      done: boolean;
    };
    expect(ollama.done).toBe(true);
    const keyless = (await openAi.textContent()) ?? '';

    await page.getByRole('button', { name: 'Generate an API key' }).click();
    await expect
      .poll(() => page.getByTestId('api-key').textContent(), { timeout: 10_000 })
      .toMatch(/^lodge-[0-9a-f]{48}$/);
    // The UI keeps working with the key it set; the snippets carry it; the old snippet is refused.
    await expect
      .poll(() => page.getByTestId('connection').textContent(), { timeout: 10_000 })
      .toMatch(/Connected/);
    await expect.poll(() => openAi.textContent(), POLL).toContain('Authorization: Bearer lodge-');
    const keyed = JSON.parse(paste((await openAi.textContent()) ?? '')) as { choices: unknown[] };
    expect(keyed.choices).toHaveLength(1);
    expect(JSON.parse(paste(keyless))).toMatchObject({ error: { code: 'unauthorized' } });

    await page.getByRole('button', { name: 'Remove' }).click();
    await expect
      .poll(() => page.getByRole('button', { name: 'Generate an API key' }).count(), { timeout: 10_000 })
      .toBe(1);
    expect(JSON.parse(paste(keyless))).toHaveProperty('choices');
    await page.close();
  });
});
