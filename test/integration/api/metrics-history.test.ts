import { afterAll, describe, expect, it } from 'vitest';
import type { MetricsHistory } from '../../../src/shared/contract/metrics';
import { TINY_LM } from '../../fixtures/models';
import { startTestCore, type TestCore } from '../../helpers/core';
import { tempDir } from '../../helpers/temp-dir';

const history = async (core: TestCore, query = ''): Promise<MetricsHistory> => {
  const response = await fetch(`${core.url}/app/metrics/history${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as MetricsHistory;
};

const total = (rows: readonly { requests: number }[]) => rows.reduce((sum, row) => sum + row.requests, 0);

describe('the Monitor history over HTTP', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('serves the samples the core took, and keeps the last hour across a restart', async () => {
    const first = await startTestCore({ dataDir: dir.path, models: { 'test/tiny-lm': TINY_LM } });
    try {
      for (let index = 0; index < 2; index++) {
        const answer = await fetch(`${first.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'test/tiny-lm',
            messages: [{ role: 'user', content: 'Hello' }],
            max_tokens: 4,
          }),
        });
        expect(answer.status).toBe(200);
      }
      expect((await fetch(`${first.url}/api/show`, { method: 'POST', body: '{}' })).status).toBe(400);

      // The sampler closes an interval every two seconds; wait for the one holding these requests.
      await expect.poll(async () => total((await history(first)).samples), { timeout: 15_000 }).toBe(3);
      const { samples, intervalMs, windowSeconds } = await history(first);
      expect(intervalMs).toBeGreaterThan(0);
      expect(windowSeconds).toBe(3600);
      expect(samples.reduce((sum, sample) => sum + sample.errors, 0)).toBe(1);
      expect(samples.reduce((sum, sample) => sum + sample.inferences, 0)).toBe(2);
      expect(samples.reduce((sum, sample) => sum + sample.completionTokens, 0)).toBe(8);
      expect(
        samples.some((sample) => sample.decodeTokensPerSecond !== null && sample.decodeTokensPerSecond > 0),
      ).toBe(true);
      for (const sample of samples) {
        expect(sample.memoryUsedBytes).toBeGreaterThan(0);
        expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
      }
      const newest = samples.at(-1)?.time ?? '';
      expect((await history(first, `?since=${encodeURIComponent(newest)}`)).samples).toEqual([]);
    } finally {
      await first.dispose({ keepData: true });
    }

    const second = await startTestCore({ dataDir: dir.path });
    try {
      const { minutes } = await history(second);
      expect(total(minutes)).toBe(3);
      expect(minutes.reduce((sum, minute) => sum + minute.errors, 0)).toBe(1);
      expect(minutes.reduce((sum, minute) => sum + minute.inferences, 0)).toBe(2);
      expect(minutes.some((minute) => minute.decodeTokensPerSecond !== null)).toBe(true);
    } finally {
      await second.dispose({ keepData: true });
    }
  });

  it('refuses a since that is not a time, in the app error shape', async () => {
    const core = await startTestCore();
    try {
      const answer = await fetch(`${core.url}/app/metrics/history?since=yesterday`);
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({ error: { code: 'invalid_request' } });
    } finally {
      await core.dispose();
    }
  });
});
