import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFixture, TINY_LM } from '../../fixtures/models';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process';
import { tempDir } from '../../helpers/temp-dir';

/** Resolves with the first line of the server's output that matches, once it is printed. */
function lineMatching(server: ServeProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = server
        .output()
        .split('\n')
        .find((line) => pattern.test(line));
      if (found === undefined) return false;
      server.child.stdout?.off('data', onData);
      server.child.off('exit', onExit);
      resolve(found);
      return true;
    };
    // NOTE: the helper appends a line to output() on readline's 'line', after this 'data' event.
    const onData = () => setImmediate(check);
    const onExit = () => reject(new Error(`lodge serve exited; it printed:\n${server.output()}`));
    if (check()) return;
    server.child.stdout?.on('data', onData);
    server.child.once('exit', onExit);
  });
}

describe("the server's terminal: one line per request", () => {
  const dir = tempDir();
  let server: ServeProcess;
  beforeAll(async () => {
    installFixture(TINY_LM, join(dir.path, 'models'), 'test/tiny-lm');
    server = await startServeProcess(['--port', '0', '--data-dir', dir.path]);
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    dir.remove();
  });

  it('prints method, path, status, time, model and tokens of a chat completion', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
    const completion = await openai.chat.completions.create({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hello there!' }],
      max_tokens: 5,
      temperature: 0,
    });
    const prompt = completion.usage?.prompt_tokens;
    const line = await lineMatching(server, /POST \/v1\/chat\/completions/);
    expect(line).toMatch(
      new RegExp(
        `^\\d{4}/\\d\\d/\\d\\d - \\d\\d:\\d\\d:\\d\\d \\| 200 \\| +[\\d.]+m?s \\| POST /v1/chat/completions \\| test/tiny-lm \\| ${prompt} → 5 tokens$`,
      ),
    );
  });

  it('prints a streamed Ollama chat once it ended, with its counts', async () => {
    const ollama = new Ollama({ host: server.url });
    const parts = await ollama.chat({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Hi' }],
      options: { temperature: 0, num_predict: 3 },
      stream: true,
    });
    let last;
    for await (const part of parts) last = part;
    const line = await lineMatching(server, /POST \/api\/chat/);
    expect(line).toMatch(
      new RegExp(
        `\\| 200 \\| .* \\| POST /api/chat \\| test/tiny-lm \\| ${last?.prompt_eval_count} → 3 tokens$`,
      ),
    );
  });

  it('prints a refused request with its status and no model figures', async () => {
    const response = await fetch(`${server.url}/api/show`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test/nothing' }),
    });
    expect(response.status).toBe(404);
    expect(await lineMatching(server, /POST \/api\/show/)).toMatch(
      /\| 404 \| +[\d.]+m?s \| POST \/api\/show$/,
    );
  });
});
