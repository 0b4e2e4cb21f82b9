import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { freshPage, POLL } from './ui-helpers';

const KEY = 'e2e-remote-key-81c2';

describe('remote engines in the window', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  let upstream: Server;
  let upstreamUrl = '';
  const keysSeen: string[] = [];
  beforeAll(async () => {
    // An OpenAI-compatible server reduced to its model list, which is all the Library shows.
    upstream = createServer((request, response) => {
      keysSeen.push(request.headers.authorization ?? '');
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
    const engines = page.getByRole('list', { name: 'Remote engines' });
    await expect.poll(() => engines.textContent(), POLL).toContain(`${upstreamUrl}/v1`);
    expect(await engines.textContent()).toContain('key set');
    expect(await engines.textContent()).toMatch(/Up, \d+ ms/);
    expect(keysSeen).toContain(`Bearer ${KEY}`);
    expect(await page.content()).not.toContain(KEY);

    await page.goto(`${server.url}/#/library`);
    const remote = page.getByRole('region', { name: 'Remote models' });
    await expect.poll(() => remote.textContent(), POLL).toContain('lab/qwen-remote');
    expect(await remote.textContent()).toMatch(/Up, \d+ ms/);
    await close();
  });
});
