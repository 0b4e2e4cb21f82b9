import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WIDE_LM, installFixture } from '../../fixtures/models';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process';
import { tempDir } from '../../helpers/temp-dir';

/** How one streamed request ended, as its client saw it. */
type Outcome =
  | { kind: 'complete' }
  | { kind: 'error'; status: number; code: string | null; message: string }
  | { kind: 'cut'; detail: string };

const STREAMS = 10;

async function openAiStream(url: string): Promise<Outcome> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      max_tokens: 3500,
      stream: true,
    }),
  });
  const text = await response.text().catch((error: Error) => `<cut: ${error.message}>`);
  if (response.status !== 200) {
    const body = JSON.parse(text) as { error: { code: string; message: string; type: string } };
    expect(body.error.type).toBe('api_error');
    return { kind: 'error', status: response.status, code: body.error.code, message: body.error.message };
  }
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice(6));
  if (data.at(-1) === '[DONE]') return { kind: 'complete' };
  const last = data.at(-1);
  if (last?.startsWith('{"error"')) {
    const { error } = JSON.parse(last) as { error: { code: string; message: string } };
    return { kind: 'error', status: 200, code: error.code, message: error.message };
  }
  return { kind: 'cut', detail: text.slice(-300) };
}

async function ollamaStream(url: string): Promise<Outcome> {
  const response = await fetch(`${url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'test/tiny-lm',
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      options: { num_predict: 3500 },
    }),
  });
  const text = await response.text().catch((error: Error) => `<cut: ${error.message}>`);
  if (response.status !== 200) {
    const body = JSON.parse(text) as { error: string };
    return { kind: 'error', status: response.status, code: null, message: body.error };
  }
  const last = text.trim().split('\n').at(-1) ?? '';
  const parsed = (() => {
    try {
      return JSON.parse(last) as { done?: boolean; error?: string };
    } catch {
      return null;
    }
  })();
  if (parsed?.done === true) return { kind: 'complete' };
  if (typeof parsed?.error === 'string')
    return { kind: 'error', status: 200, code: null, message: parsed.error };
  return { kind: 'cut', detail: text.slice(-300) };
}

describe('shutdown under load', () => {
  const dirs: { remove: () => void }[] = [];
  const servers: ServeProcess[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop('SIGKILL');
    for (const dir of dirs) dir.remove();
  });

  it('ends queued streams at once with a clean error, lets the running one finish or end cleanly, closes the database and exits 0', async () => {
    const home = tempDir();
    dirs.push(home);
    mkdirSync(join(home.path, 'models'), { recursive: true });
    // The wide vocabulary makes each token cost what a real model's does, so the running answer outlasts the test's polling.
    installFixture(WIDE_LM, join(home.path, 'models'), 'test/tiny-lm');
    // One generation at a time (no batching), so nine of the ten wait in the queue.
    const server = await startServeProcess(['--port', '0', '--data-dir', home.path], { LODGE_PARALLEL: '1' });
    servers.push(server);

    const outcomes = Array.from({ length: STREAMS }, (_, index) =>
      index % 2 === 0 ? openAiStream(server.url) : ollamaStream(server.url),
    );
    // One request runs (a runner serves one at a time); the other nine wait in its queue.
    await expect
      .poll(
        async () => {
          const { models } = (await (await fetch(`${server.url}/app/runners`)).json()) as {
            models: { busy: boolean; queueLength: number }[];
          };
          return models[0] ? models[0].busy && models[0].queueLength : null;
        },
        { timeout: 20_000 },
      )
      .toBe(STREAMS - 1);

    const exitCode = server.stop('SIGTERM');
    const results = await Promise.all(outcomes);
    expect(await exitCode).toBe(0);

    for (const result of results) expect(result.kind, JSON.stringify(result)).not.toBe('cut');
    const errors = results.filter((result) => result.kind === 'error');
    // The nine queued ones never started: each is refused at once, with the family's 503.
    expect(errors.length).toBeGreaterThanOrEqual(STREAMS - 1);
    for (const error of errors) {
      expect(error.message).toMatch(/shutting down/);
      if (error.status !== 200) expect(error.status).toBe(503);
      if (error.code !== null) expect(error.code).toBe('shutting_down');
    }
    expect(server.output()).not.toMatch(/took too long|SonicBoom|could not shut down|Unhandled/);

    // better-sqlite3 checkpoints and removes the WAL when the last connection closes cleanly.
    const wal = join(home.path, 'lodge.db-wal');
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    const db = new Database(join(home.path, 'lodge.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
