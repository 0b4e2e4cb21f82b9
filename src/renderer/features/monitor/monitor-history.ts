import type { MetricsHistory } from '../../../shared/contract/metrics';

type Series = (number | null)[];

/** The Monitor's charts as columns: seconds since the epoch, then one series per line. */
export interface HistoryColumns {
  readonly system: [number[], Series, Series];
  readonly gpu: [number[], Series, Series];
  readonly inference: [number[], Series, Series];
  readonly requests: [number[], Series, Series, Series];
}

const percentOf = (used: number, total: number) =>
  total > 0 ? Math.round((used / total) * 1000) / 10 : null;

/**
 * The charts' columns from the core's history, oldest first: the per-minute aggregates of earlier
 * runs where this run's samples do not reach back, then the samples. A minute's request count is
 * given per sample interval, as the samples count them; it has a mean and a maximum latency, not
 * percentiles, so its latency points are gaps.
 */
export function historyColumns(history: MetricsHistory): HistoryColumns {
  const firstSample = history.samples[0] ? Date.parse(history.samples[0].time) : Infinity;
  const points = [
    ...history.minutes
      .filter((minute) => Date.parse(minute.time) + 60_000 <= firstSample)
      .map((minute) => ({
        time: (Date.parse(minute.time) + 60_000) / 1000,
        cpu: minute.cpuPercent,
        memory: percentOf(minute.memoryUsedBytes, minute.memoryTotalBytes),
        gpu: minute.gpuPercent,
        gpuMemory: minute.gpuMemoryPercent,
        speed: minute.decodeTokensPerSecond,
        ttft: minute.timeToFirstTokenMs,
        requests: Math.round((minute.requests / minute.samples) * 10) / 10,
        p50: null,
        p95: null,
      })),
    ...history.samples.map((sample) => ({
      time: Date.parse(sample.time) / 1000,
      cpu: sample.cpuPercent,
      memory: percentOf(sample.memoryUsedBytes, sample.memoryTotalBytes),
      gpu: sample.gpuPercent,
      gpuMemory: sample.gpuMemoryPercent,
      speed: sample.decodeTokensPerSecond,
      ttft: sample.timeToFirstTokenMs,
      requests: sample.requests,
      p50: sample.latencyP50Ms,
      p95: sample.latencyP95Ms,
    })),
  ];
  const withGpu = points.filter((point) => point.gpu !== null || point.gpuMemory !== null);
  const withInference = points.filter((point) => point.speed !== null || point.ttft !== null);
  return {
    system: [points.map((p) => p.time), points.map((p) => p.cpu), points.map((p) => p.memory)],
    gpu: [withGpu.map((p) => p.time), withGpu.map((p) => p.gpu), withGpu.map((p) => p.gpuMemory)],
    inference: [
      withInference.map((p) => p.time),
      withInference.map((p) => p.speed),
      withInference.map((p) => p.ttft),
    ],
    requests: [
      points.map((p) => p.time),
      points.map((p) => p.requests),
      points.map((p) => p.p50),
      points.map((p) => p.p95),
    ],
  };
}

/** `earlier`'s points that come before `live`'s first, then `live`'s: history under what arrived since. */
export function prepend<T extends [number[], ...Series[]]>(earlier: T, live: T): T {
  const start = live[0][0] ?? Infinity;
  const count = earlier[0].findIndex((time) => time >= start);
  const kept = count === -1 ? earlier[0].length : count;
  return earlier.map((column, index) => [...column.slice(0, kept), ...(live[index] ?? [])]) as T;
}

/** The ISO time `seconds` ago, as `GET /app/metrics/history?since=` takes it. */
export function secondsAgo(seconds: number): string {
  return new Date(Date.now() - seconds * 1000).toISOString();
}
