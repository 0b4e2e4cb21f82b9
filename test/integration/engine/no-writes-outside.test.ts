import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';
import { TINY_LM } from '../../fixtures/models';

// onnxruntime's Linux build carries Microsoft's telemetry client: left on, every runner writes
// /tmp/mat-debug-<pid>.log and a device id and event database under $XDG_CACHE_HOME. The core
// must turn it off for its runners whatever the environment says.
describe('a runner writes nothing outside the data directory', () => {
  const cache = tempDir();
  let core: TestCore;
  const saved = { telemetry: process.env.ORT_DISABLE_TELEMETRY, cache: process.env.XDG_CACHE_HOME };
  beforeAll(async () => {
    delete process.env.ORT_DISABLE_TELEMETRY;
    process.env.XDG_CACHE_HOME = cache.path;
    core = await startTestCore({ models: { 'test/tiny-lm': TINY_LM } });
  });
  afterAll(async () => {
    await core.dispose();
    if (saved.telemetry === undefined) delete process.env.ORT_DISABLE_TELEMETRY;
    else process.env.ORT_DISABLE_TELEMETRY = saved.telemetry;
    if (saved.cache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved.cache;
    cache.remove();
  });

  it('leaves no telemetry log in /tmp and no device id in the cache folder', async () => {
    const response = await fetch(`${core.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test/tiny-lm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 2,
      }),
    });
    expect(response.status).toBe(200);
    const runners = (await (await fetch(`${core.url}/app/runners`)).json()) as { models: { pid: number }[] };
    const pid = runners.models[0]?.pid;
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/tmp/mat-debug-${pid}.log`)).toBe(false);
    expect(readdirSync(cache.path)).toEqual([]);
  });
});
