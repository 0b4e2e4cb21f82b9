import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TENSOR_MODEL, TINY_LM } from '../fixtures/models';
import { launchChromium } from '../helpers/browser';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process';
import { tempDir } from '../helpers/temp-dir';
import { freshPage, POLL } from './ui-helpers';

/** Runs a snippet exactly as a user would paste it into a shell. */
const paste = (code: string) => execFileSync('bash', ['-c', code], { encoding: 'utf8', timeout: 30_000 });
/** Runs a JavaScript snippet as pasted into an ES module, with the SDKs this repository installs. */
const runJs = (code: string) =>
  execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: join(import.meta.dirname, '../..'),
  });

describe('the Server view', () => {
  const home = tempDir();
  let server: ServeProcess;
  let browser: Browser;
  beforeAll(async () => {
    installFixture(TINY_LM, join(home.path, 'models'), 'test/tiny-lm');
    installFixture(TENSOR_MODEL, join(home.path, 'models'), 'test/tensors');
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
    const family = (name: string) =>
      page.getByRole('group', { name: 'API family' }).getByRole('button', { name, exact: true }).click();
    const snippet = (id: string) => page.getByTestId(`snippet-${id}-sh`);
    const pasted = async <T>(id: string) => JSON.parse(paste((await snippet(id).textContent()) ?? '')) as T;
    const openAi = snippet('openai-chat');
    await expect.poll(() => openAi.textContent(), { timeout: 10_000 }).toContain('"model":"test/tiny-lm"');
    const reply = JSON.parse(paste((await openAi.textContent()) ?? '')) as {
      choices: { message: { content: string } }[];
    };
    expect(reply.choices[0]?.message.content.length).toBeGreaterThan(0);
    const keyless = (await openAi.textContent()) ?? '';

    // Every family has its curl, Python and JavaScript; the curl commands answer as pasted.
    for (const name of ['OpenAI Responses', 'Anthropic Messages', 'Ollama', 'KServe v2']) {
      await family(name);
      for (const language of ['sh', 'python', 'js'])
        expect(await page.locator(`[data-testid$="-${language}"]`).count(), `${name} ${language}`).toBe(1);
    }
    await family('OpenAI Responses');
    // The model's preset caps answers at 8 tokens: the response is cut short ("incomplete"), and it is one.
    expect(await pasted<{ object: string; output: unknown[] }>('responses')).toMatchObject({
      object: 'response',
      output: [{ type: 'message' }],
    });
    await family('Anthropic Messages');
    const message = await pasted<{ type: string; content: { type: string }[] }>('anthropic');
    expect(message).toMatchObject({ type: 'message', content: [{ type: 'text' }] });
    await family('Ollama');
    expect((await pasted<{ done: boolean }>('ollama')).done).toBe(true);
    await family('KServe v2');
    expect(await pasted<{ name: string; inputs: unknown[] }>('kserve')).toMatchObject({
      name: 'test/tensors',
    });

    // What to type into Claude Code and Codex names this server and its model.
    expect(await page.getByTestId('agent-claude-code').textContent()).toBe(
      `ANTHROPIC_BASE_URL=${server.url} ANTHROPIC_AUTH_TOKEN=lodge ANTHROPIC_MODEL=test/tiny-lm claude`,
    );
    const codex = (await page.getByTestId('agent-codex').textContent()) ?? '';
    expect(codex).toContain('model_provider = "lodge"');
    expect(codex).toContain(`[model_providers.lodge]`);
    expect(codex).toContain(`base_url = "${server.url}/v1"`);
    expect(codex).toContain('wire_api = "responses"');

    await page.getByRole('button', { name: 'Generate an API key' }).click();
    await expect
      .poll(() => page.getByTestId('api-key').textContent(), { timeout: 10_000 })
      .toMatch(/^lodge-[0-9a-f]{48}$/);
    const key = (await page.getByTestId('api-key').textContent()) ?? '';
    // The UI keeps working with the key it set; the snippets carry it; the old snippet is refused.
    await expect
      .poll(() => page.getByTestId('connection').textContent(), { timeout: 10_000 })
      .toMatch(/Connected/);
    await family('OpenAI Chat Completions');
    await expect.poll(() => openAi.textContent(), POLL).toContain('Authorization: Bearer lodge-');
    const keyed = JSON.parse(paste((await openAi.textContent()) ?? '')) as { choices: unknown[] };
    expect(keyed.choices).toHaveLength(1);
    expect(JSON.parse(paste(keyless))).toMatchObject({ error: { code: 'unauthorized' } });
    // Anthropic's clients send the key as x-api-key.
    await family('Anthropic Messages');
    expect(await snippet('anthropic').textContent()).toContain(`x-api-key: ${key}`);
    expect((await pasted<{ type: string }>('anthropic')).type).toBe('message');
    expect(await page.getByTestId('agent-claude-code').textContent()).toContain(
      `ANTHROPIC_AUTH_TOKEN=${key}`,
    );

    // A browser that has not seen the key is told where to find it.
    const stranger = await freshPage(browser);
    await stranger.page.goto(`${server.url}/`);
    await expect.poll(() => stranger.page.locator('main h1').textContent(), POLL).toBe('API key needed');
    const sources = (await stranger.page.getByTestId('key-sources').textContent()) ?? '';
    expect(sources).toContain('Server view');
    expect(sources).toContain('lodge key --show');
    expect(sources).toContain('LODGE_API_KEY');
    await stranger.close();

    await page.getByRole('button', { name: 'Remove' }).click();
    await expect
      .poll(() => page.getByRole('button', { name: 'Generate an API key' }).count(), { timeout: 10_000 })
      .toBe(1);
    expect(JSON.parse(paste(keyless))).toHaveProperty('choices');
    await page.close();
  });
  it('gives JavaScript snippets that run as pasted with each family’s official client', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/#/server`);
    await expect
      .poll(() => page.getByTestId('snippet-openai-chat-js').textContent(), POLL)
      .toContain("model: 'test/tiny-lm'");
    for (const [name, id] of [
      ['OpenAI Chat Completions', 'openai-chat'],
      ['OpenAI Responses', 'responses'],
      ['Anthropic Messages', 'anthropic'],
      ['Ollama', 'ollama'],
      ['KServe v2', 'kserve'],
    ] as const) {
      await page
        .getByRole('group', { name: 'API family' })
        .getByRole('button', { name, exact: true })
        .click();
      const code = (await page.getByTestId(`snippet-${id}-js`).textContent()) ?? '';
      // A wrong field in a snippet prints "undefined"; a refused call throws (a non-zero exit).
      expect(runJs(code).trim(), name).not.toMatch(/^undefined$/);
    }
    // The KServe snippets send zeros in the tensor model's input shapes (its FP16 input as bytes)
    // and print what came back: every output, FP16 included. Python's needs only its standard library.
    const kserve = runJs((await page.getByTestId('snippet-kserve-js').textContent()) ?? '');
    expect(kserve).toContain("name: 'half_out'");
    const python = execFileSync(
      'python3',
      ['-c', (await page.getByTestId('snippet-kserve-python').textContent()) ?? ''],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(python).toContain("'name': 'half_out'");
    await page.screenshot({
      path: join(import.meta.dirname, '../../test-results/server-snippets.png'),
      fullPage: true,
    });
    await page.close();
  });
});
