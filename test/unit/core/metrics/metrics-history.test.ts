import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../../src/shared/contract/system';
import { openDatabase } from '../../../../src/main/core/db/connection';
import { MetricsHistoryRepository } from '../../../../src/main/core/db/metrics-history-repository';
import { migrate } from '../../../../src/main/core/db/migrate';
import { migrations } from '../../../../src/main/core/db/migrations';
import { GpuStats } from '../../../../src/main/core/metrics/gpu-stats';
import { InferenceLog, type InferenceRecord } from '../../../../src/main/core/metrics/inference-log';
import { HISTORY_WINDOW_MS, MetricsHistory } from '../../../../src/main/core/metrics/metrics-history';
import { SystemStats } from '../../../../src/main/core/metrics/system-stats';
import { tempDir } from '../../../helpers/temp-dir';

const request = (status: number, durationMs: number): Omit<RequestRecord, 'id'> => ({
  time: new Date().toISOString(),
  method: 'POST',
  path: '/v1/chat/completions',
  status,
  durationMs,
  family: 'openai',
  requestId: 'req',
  outcome: status >= 400 ? 'error' : 'ok',
  errorCode: null,
  model: null,
  promptTokens: null,
  completionTokens: null,
});

const inference = (decode: number, ttft: number, tokens: number): InferenceRecord => ({
  time: new Date().toISOString(),
  model: 'test/tiny-lm',
  task: 'text-generation',
  promptTokens: 5,
  cachedTokens: 0,
  completionTokens: tokens,
  queueWaitMs: 0,
  timeToFirstTokenMs: ttft,
  decodeTokensPerSecond: decode,
  totalMs: 10,
  outcome: 'stop',
});

describe('the Monitor history: a ring of samples and the minutes in SQLite', () => {
  const dir = tempDir();
  const db = openDatabase(join(dir.path, 'lodge.db'));
  migrate(db, migrations);
  afterAll(() => {
    db.close();
    dir.remove();
  });
  // A minute boundary, so which minute each tick lands in is known.
  const start = Date.UTC(2026, 11, 2, 1, 0, 0);
  let now = start;
  const historyOn = (log: InferenceLog) =>
    new MetricsHistory({
      system: new SystemStats(),
      // No such tool: the sampler reports no GPU, as on a machine without an NVIDIA driver.
      gpu: new GpuStats('lodge-test-no-nvidia-smi'),
      inferences: log,
      repository: new MetricsHistoryRepository(db),
      now: () => now,
    });

  it('samples each interval with what it served, and null where nothing was measured', async () => {
    const log = new InferenceLog();
    const history = historyOn(log);
    now = start + 2000;
    history.observeRequest(request(200, 10));
    history.observeRequest(request(200, 30));
    history.observeRequest(request(401, 1));
    log.record(inference(40, 100, 8));
    log.record(inference(60, 300, 12));
    await history.tick();
    now = start + 4000;
    await history.tick();

    const { samples, minutes } = history.history();
    expect(samples).toHaveLength(2);
    expect(samples[0]).toMatchObject({
      time: new Date(start + 2000).toISOString(),
      intervalMs: 2000,
      requests: 3,
      errors: 1,
      latencyP50Ms: 10,
      latencyP95Ms: 30,
      inferences: 2,
      decodeTokensPerSecond: 50,
      timeToFirstTokenMs: 200,
      completionTokens: 20,
      gpuPercent: null,
      gpuMemoryPercent: null,
    });
    expect(samples[0]?.memoryTotalBytes).toBeGreaterThan(0);
    expect(samples[1]).toMatchObject({
      requests: 0,
      errors: 0,
      latencyP50Ms: null,
      inferences: 0,
      decodeTokensPerSecond: null,
      timeToFirstTokenMs: null,
    });
    // The minute under way is not written yet.
    expect(minutes).toEqual([]);

    // A tick in the next minute writes the one before; dispose writes the one under way.
    now = start + 61_000;
    history.observeRequest(request(200, 5));
    await history.tick();
    expect(history.history().minutes).toMatchObject([
      {
        time: new Date(start).toISOString(),
        samples: 2,
        requests: 3,
        errors: 1,
        latencyMeanMs: 13.67,
        latencyMaxMs: 30,
        inferences: 2,
        decodeTokensPerSecond: 50,
        timeToFirstTokenMs: 200,
        completionTokens: 20,
        gpuPercent: null,
      },
    ]);
    now = start + 62_000;
    await history.dispose();
  });

  it('opens, after a restart, with the minutes the previous run kept, a minute split by it merged', async () => {
    const log = new InferenceLog();
    const history = historyOn(log);
    expect(history.history().samples).toEqual([]);
    now = start + 65_000;
    history.observeRequest(request(500, 100));
    await history.dispose();

    const minutes = historyOn(new InferenceLog()).history().minutes;
    expect(minutes.map((minute) => minute.time)).toEqual([
      new Date(start).toISOString(),
      new Date(start + 60_000).toISOString(),
    ]);
    // The first run's last minute (a sample at 61 s and one at 62 s, one request) and this run's (one, a 500).
    expect(minutes[1]).toMatchObject({ samples: 3, requests: 2, errors: 1, latencyMaxMs: 100 });
  });

  it('keeps only the last hour, in memory and in the table', async () => {
    const history = historyOn(new InferenceLog());
    now = start + HISTORY_WINDOW_MS + 90_000;
    await history.tick();
    now += 60_000;
    await history.tick();
    const { samples, minutes } = history.history();
    expect(samples).toHaveLength(2);
    expect(minutes.map((minute) => minute.time)).toEqual([
      new Date(start + HISTORY_WINDOW_MS + 60_000).toISOString(),
    ]);
    // The rows older than the hour are gone from the table, not only left out of the answer.
    expect(
      db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM metrics_minutes').get()?.count,
    ).toBe(1);
    expect(history.history(new Date(now).toISOString()).samples).toEqual([]);
    await history.dispose();
  });
});
