import type { MetricsHistory as History, MetricsSample } from '../../../shared/contract/metrics';
import type { RequestRecord } from '../../../shared/contract/system';
import type { MetricsHistoryRepository, MinuteTotals } from '../db/metrics-history-repository';
import type { GpuReport } from './gpu-stats';
import type { InferenceLog, InferenceRecord } from './inference-log';
import type { SystemSample } from './system-stats';

/** How far back the Monitor's history reaches. */
export const HISTORY_WINDOW_MS = 60 * 60 * 1000;

/** How often the core samples, by default: as often as the Monitor draws. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 2000;

const MINUTE_MS = 60 * 1000;

/** Where the samples' figures come from. */
export interface MetricsSources {
  readonly system: { sample(): SystemSample };
  readonly gpu: { sample(): Promise<GpuReport> };
  readonly inferences: InferenceLog;
  readonly repository: MetricsHistoryRepository;
  readonly intervalMs?: number;
  /** The clock, in epoch milliseconds. */
  readonly now?: () => number;
}

/** What the current interval has seen so far. */
interface Interval {
  readonly startedAt: number;
  readonly latencies: number[];
  errors: number;
  readonly inferences: InferenceRecord[];
}

const round = (value: number) => Math.round(value * 100) / 100;

/** p-th percentile of `values` (nearest rank); null when there are none. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : round(values.reduce((sum, value) => sum + value, 0) / values.length);
}

const minuteOf = (time: number) => new Date(Math.floor(time / MINUTE_MS) * MINUTE_MS).toISOString();

/**
 * The Monitor's last hour, kept by the core so the view opens with it: every interval a sample of
 * the machine (CPU, memory, GPU where there is one) and of what was served (requests and their
 * latency, inferences, decode speed, time to first token) goes into a ring in memory, and each
 * minute's totals into SQLite, so that a restart keeps the hour. Only measured figures go in.
 */
export class MetricsHistory {
  readonly intervalMs: number;
  readonly #sources: MetricsSources;
  readonly #now: () => number;
  readonly #samples: MetricsSample[] = [];
  readonly #unsubscribe: () => void;
  #interval: Interval;
  #minute: MinuteTotals | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    this.intervalMs = sources.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.#now = sources.now ?? Date.now;
    this.#interval = this.#fresh();
    this.#unsubscribe = sources.inferences.subscribe((record) => this.#interval.inferences.push(record));
  }

  /** Starts sampling every interval; the timer does not keep the process alive. */
  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  /** Counts a request the request log recorded; a failure as the request log's failures count it. */
  observeRequest(record: Omit<RequestRecord, 'id'>): void {
    this.#interval.latencies.push(record.durationMs);
    if (record.status >= 400 || record.outcome === 'error') this.#interval.errors += 1;
  }

  /**
   * Closes the current interval now: samples the machine, adds the sample to the ring and to its
   * minute, and writes the minute before it once this one has begun. The timer calls it; a tick
   * still running makes another call wait for it rather than sample twice at once.
   */
  tick(): Promise<void> {
    this.#ticking ??= this.#sample().finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }

  /** The samples and stored minutes of the last hour after `since` (an ISO time), oldest first. */
  history(since?: string): History {
    const from = Math.max(this.#now() - HISTORY_WINDOW_MS, since === undefined ? 0 : Date.parse(since));
    const after = (time: string) => Date.parse(time) > from;
    return {
      windowSeconds: HISTORY_WINDOW_MS / 1000,
      intervalMs: this.intervalMs,
      samples: this.#samples.filter((sample) => after(sample.time)),
      minutes: this.#sources.repository.since(minuteOf(from)),
    };
  }

  /**
   * Stops sampling, closes the interval under way (its GPU figures null: not asked) and writes its
   * minute, so a restart keeps it.
   */
  async dispose(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unsubscribe();
    await this.#ticking;
    // NOTE: the GPU is not asked at shutdown: nvidia-smi may take seconds, and shutdown should not.
    await this.#sample(false);
    this.#flush();
  }

  async #sample(askGpu = true): Promise<void> {
    // The interval is closed before the GPU is asked, so what ends meanwhile goes to the next one.
    const interval = this.#interval;
    this.#interval = this.#fresh();
    const system = this.#sources.system.sample();
    const { gpus } = askGpu ? await this.#sources.gpu.sample() : { gpus: [] };
    const end = this.#now();
    const gpu = gpus[0];
    const gpuMemoryPercent =
      gpu?.memoryUsedBytes != null && gpu.memoryTotalBytes
        ? round((gpu.memoryUsedBytes / gpu.memoryTotalBytes) * 100)
        : null;
    const decode = interval.inferences.flatMap((record) =>
      record.decodeTokensPerSecond === null ? [] : [record.decodeTokensPerSecond],
    );
    const ttft = interval.inferences.flatMap((record) =>
      record.timeToFirstTokenMs === null ? [] : [record.timeToFirstTokenMs],
    );
    const sample: MetricsSample = {
      time: new Date(end).toISOString(),
      intervalMs: Math.max(0, end - interval.startedAt),
      cpuPercent: system.cpuPercent,
      memoryUsedBytes: system.memoryUsedBytes,
      memoryTotalBytes: system.memoryTotalBytes,
      gpuPercent: gpu?.utilizationPercent ?? null,
      gpuMemoryPercent,
      requests: interval.latencies.length,
      errors: interval.errors,
      latencyP50Ms: percentile(interval.latencies, 50),
      latencyP95Ms: percentile(interval.latencies, 95),
      inferences: interval.inferences.length,
      decodeTokensPerSecond: mean(decode),
      timeToFirstTokenMs: mean(ttft),
      completionTokens: interval.inferences.reduce((sum, record) => sum + record.completionTokens, 0),
    };
    this.#samples.push(sample);
    const cutoff = end - HISTORY_WINDOW_MS;
    for (
      let oldest = this.#samples[0];
      oldest && Date.parse(oldest.time) <= cutoff;
      oldest = this.#samples[0]
    )
      this.#samples.shift();
    this.#addToMinute(sample, end, interval, decode, ttft);
  }

  #addToMinute(
    sample: MetricsSample,
    end: number,
    interval: Interval,
    decode: readonly number[],
    ttft: readonly number[],
  ): void {
    const minute = minuteOf(end);
    if (this.#minute !== null && this.#minute.minute !== minute) this.#flush();
    const totals = this.#minute ?? emptyMinute(minute);
    const hasGpu = sample.gpuPercent !== null;
    const latencyMax = interval.latencies.length > 0 ? Math.max(...interval.latencies) : null;
    this.#minute = {
      minute,
      samples: totals.samples + 1,
      cpuSum: totals.cpuSum + sample.cpuPercent,
      memoryUsedSum: totals.memoryUsedSum + sample.memoryUsedBytes,
      memoryTotal: sample.memoryTotalBytes,
      gpuSamples: totals.gpuSamples + (hasGpu ? 1 : 0),
      gpuSum: totals.gpuSum + (sample.gpuPercent ?? 0),
      gpuMemorySum: totals.gpuMemorySum + (hasGpu ? (sample.gpuMemoryPercent ?? 0) : 0),
      requests: totals.requests + sample.requests,
      errors: totals.errors + sample.errors,
      latencySumMs: totals.latencySumMs + interval.latencies.reduce((sum, value) => sum + value, 0),
      latencyMaxMs:
        latencyMax === null ? totals.latencyMaxMs : Math.max(latencyMax, totals.latencyMaxMs ?? latencyMax),
      inferences: totals.inferences + sample.inferences,
      decodeCount: totals.decodeCount + decode.length,
      decodeSum: totals.decodeSum + decode.reduce((sum, value) => sum + value, 0),
      ttftCount: totals.ttftCount + ttft.length,
      ttftSumMs: totals.ttftSumMs + ttft.reduce((sum, value) => sum + value, 0),
      completionTokens: totals.completionTokens + sample.completionTokens,
    };
  }

  #flush(): void {
    if (this.#minute === null) return;
    this.#sources.repository.add(this.#minute, minuteOf(this.#now() - HISTORY_WINDOW_MS));
    this.#minute = null;
  }

  #fresh(): Interval {
    return { startedAt: this.#now(), latencies: [], errors: 0, inferences: [] };
  }
}

function emptyMinute(minute: string): MinuteTotals {
  return {
    minute,
    samples: 0,
    cpuSum: 0,
    memoryUsedSum: 0,
    memoryTotal: 0,
    gpuSamples: 0,
    gpuSum: 0,
    gpuMemorySum: 0,
    requests: 0,
    errors: 0,
    latencySumMs: 0,
    latencyMaxMs: null,
    inferences: 0,
    decodeCount: 0,
    decodeSum: 0,
    ttftCount: 0,
    ttftSumMs: 0,
    completionTokens: 0,
  };
}
