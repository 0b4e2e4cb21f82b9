import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { appJson, freshPage, POLL } from './ui-helpers';

const KEY = 'e2e-remote-key-81c2';

describe('remote engines in the window', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  let upstream: Server;
  let upstreamUrl = '';
  const keysSeen: string[] = [];
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    // An OpenAI-compatible server reduced to a model list and one streamed answer.
    upstream = createServer((request, response) => {
      keysSeen.push(request.headers.authorization ?? '');
      request.resume();
      if (request.method === 'POST' && request.url === '/v1/chat/completions') {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const words = ['Hello ', 'from ', 'the ', 'remote ', 'engine.'];
        for (const content of words)
          response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`);
        response.write(
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
        );
        response.write(
          `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 5 } })}\n\n`,
        );
        response.end('data: [DONE]\n\n');
        return;
      }
      response.writeHead(request.url === '/v1/models' ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', data: [{ id: 'qwen-remote', object: 'model' }] }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    server = await startServeProcess(['--port', '0'], { LODGE_HOME: home.path });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    home.remove();
  });

  it('adds an engine in Settings, and its models show in the Library with their health', async () => {
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/settings`);
    const form = page.getByRole('form', { name: 'Add an engine' });
    await form.getByLabel('Name').fill('lab');
    await form.getByLabel('Base URL').fill(upstreamUrl);
    await form.getByLabel('API key (optional)').fill(KEY);
    await form.getByRole('button', { name: 'Add and check' }).click();
    const lab = page.getByRole('list', { name: 'Remote engines' }).locator('li', { hasText: 'lab' });
    await expect.poll(() => lab.textContent(), POLL).toContain('key set');
    expect(await lab.textContent()).toContain(`${upstreamUrl}/v1`);
    expect(await lab.textContent()).toMatch(/Up, \d+ ms/);
    expect(keysSeen).toContain(`Bearer ${KEY}`);
    expect(await page.content()).not.toContain(KEY);

    await page.goto(`${server.url}/#/library`);
    const remote = page.getByRole('region', { name: 'Remote models' });
    await expect.poll(() => remote.textContent(), POLL).toContain('lab/qwen-remote');
    expect(await remote.textContent()).toMatch(/Up, \d+ ms/);
    await close();
  });

  it('compares a local model with a remote one in Chat', async () => {
    await appJson(server.url, '/app/engines', {
      method: 'POST',
      body: JSON.stringify({ name: 'far', baseUrl: upstreamUrl }),
    });
    const { page, close } = await freshPage(browser);
    await page.goto(`${server.url}/#/chat`);
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByLabel('Model 1').selectOption('test/tiny-lm');
    await page.getByLabel('Model 2').selectOption('far/qwen-remote');
    await page.getByLabel('Prompt to compare').fill('Say hello');
    await page.getByLabel('Prompt to compare').press('Enter');
    const remote = page.getByTestId('compare-1');
    await expect.poll(() => remote.locator('.stats').textContent(), POLL).toMatch(/5 tokens/);
    expect(await remote.locator('.answer').textContent()).toContain('Hello from the remote engine.');
    await expect
      .poll(() => page.getByTestId('compare-0').locator('.stats').textContent(), POLL)
      .toMatch(/\d+ tokens/);

    // Monitor says which target served the routed request.
    await page.goto(`${server.url}/#/monitor`);
    await expect
      .poll(() => page.getByTestId('routed-requests').textContent(), POLL)
      .toContain('served far/qwen-remote');
    await close();
  });
});
