import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';

// A real small filesystem to fill: a tmpfs of its own (we run as root here and in CI).
const mountPoint = mkdtempSync(join(tmpdir(), 'lodge-full-'));
const mountError = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return null;
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    return `cannot mount a tmpfs to fill (needs root): ${(error as Error).message.split('\n')[0]}`;
  }
})();

/** Writes until the filesystem has no space left; returns the file that holds it. */
function fillDisk(dir: string): string {
  const file = join(dir, 'filler.bin');
  const fd = openSync(file, 'w');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

describe.skipIf(mountError !== null)(`a full disk${mountError ? ` (skipped: ${mountError})` : ''}`, () => {
  let core: TestCore;
  let conversationId: string;
  const json = { 'content-type': 'application/json' };
  const bigMessage = (content: string) =>
    JSON.stringify({ messages: [{ role: 'user', content, model: null, stats: null }] });

  beforeAll(async () => {
    core = await startTestCore({
      dataDir: mountPoint,
      models: { 'test/tiny-lm': TINY_LM },
      flags: { logLevel: 'info' },
    });
    // Loaded before the disk fills: loading writes the optimised graph to the cache.
    await core.lodge.engine.load('test/tiny-lm', -1);
    const created = await fetch(`${core.url}/app/conversations`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ model: 'test/tiny-lm', title: 'Before the disk filled' }),
    });
    expect(created.status).toBe(200);
    conversationId = ((await created.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await core?.dispose({ keepData: true });
    if (mountError === null) {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('answers 507 on writes, keeps serving reads and inference, and recovers when space comes back', async () => {
    const filler = fillDisk(mountPoint);

    // A write that needs space: a clear 507 in the app family's shape.
    const full = await fetch(`${core.url}/app/conversations/${conversationId}/messages`, {
      method: 'PUT',
      headers: json,
      body: bigMessage('x'.repeat(900_000)),
    });
    expect(full.status).toBe(507);
    expect(await full.json()).toEqual({
      error: { code: 'insufficient_storage', message: expect.stringMatching(/disk .* is full/) },
    });
    const settings = await fetch(`${core.url}/app/settings`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ maxQueue: 7, threads: 1, keepAliveSeconds: 120 }),
    });
    expect(settings.status).toBe(507);
    expect(((await settings.json()) as { error: { code: string } }).error.code).toBe('insufficient_storage');

    // A copy of a model cannot fit: it answers 507 in Ollama's shape and leaves no half a model.
    const copied = await fetch(`${core.url}/api/copy`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ source: 'test/tiny-lm', destination: 'test/copy-on-full' }),
    });
    expect(copied.status).toBe(507);
    expect(await copied.json()).toEqual({ error: expect.stringMatching(/disk .*full/) });
    expect(existsSync(join(mountPoint, 'models/test/copy-on-full'))).toBe(false);

    // What needs no space still works: health, reads, and a generation.
    expect((await fetch(`${core.url}/health`)).status).toBe(200);
    const list = await fetch(`${core.url}/app/conversations`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { conversations: { id: string }[] }).conversations).toEqual([
      expect.objectContaining({ id: conversationId, messageCount: 0 }),
    ]);
    const chat = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 3,
      }),
    });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(3);

    // Space comes back: the same write goes through, with nothing restarted.
    unlinkSync(filler);
    const saved = await fetch(`${core.url}/app/conversations/${conversationId}/messages`, {
      method: 'PUT',
      headers: json,
      body: bigMessage('x'.repeat(900_000)),
    });
    expect(saved.status).toBe(200);
    expect(((await saved.json()) as { messages: unknown[] }).messages).toHaveLength(1);
    const patched = await fetch(`${core.url}/app/settings`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ maxQueue: 7 }),
    });
    expect(patched.status).toBe(200);

    // The log file takes lines again (it retries at most once a second).
    const log = join(mountPoint, 'logs/lodge.log');
    let probe = 0;
    await expect
      .poll(
        () => {
          core.lodge.logger.info(`disk probe ${++probe}`);
          return existsSync(log) && /disk probe \d+/.test(readFileSync(log, 'utf8'));
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
  });
});
