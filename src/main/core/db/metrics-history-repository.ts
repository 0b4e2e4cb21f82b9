import type { MetricsMinute } from '../../../shared/contract/metrics';
import { isDiskFull } from '../disk-full';
import type { Db } from './connection';

/** One minute's sums and counts, as the sampler adds them up and the table keeps them. */
export interface MinuteTotals {
  /** ISO time the minute starts. */
  readonly minute: string;
  readonly samples: number;
  readonly cpuSum: number;
  readonly memoryUsedSum: number;
  readonly memoryTotal: number;
  readonly gpuSamples: number;
  readonly gpuSum: number;
  readonly gpuMemorySum: number;
  readonly requests: number;
  readonly errors: number;
  readonly latencySumMs: number;
  readonly latencyMaxMs: number | null;
  readonly inferences: number;
  readonly decodeCount: number;
  readonly decodeSum: number;
  readonly ttftCount: number;
  readonly ttftSumMs: number;
  readonly completionTokens: number;
}

interface MinuteRow {
  minute: string;
  samples: number;
  cpu_sum: number;
  memory_used_sum: number;
  memory_total: number;
  gpu_samples: number;
  gpu_sum: number;
  gpu_memory_sum: number;
  requests: number;
  errors: number;
  latency_sum_ms: number;
  latency_max_ms: number | null;
  inferences: number;
  decode_count: number;
  decode_sum: number;
  ttft_count: number;
  ttft_sum_ms: number;
  completion_tokens: number;
}

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * The `metrics_minutes` table: the Monitor's history a minute a row, so that a restart keeps the
 * last hour. Rows hold sums and counts; a minute written twice (a restart within it) is merged.
 */
export class MetricsHistoryRepository {
  readonly #upsert;
  readonly #since;
  readonly #prune;

  constructor(db: Db) {
    this.#upsert = db.prepare<MinuteRow>(
      `INSERT INTO metrics_minutes (minute, samples, cpu_sum, memory_used_sum, memory_total, gpu_samples,
         gpu_sum, gpu_memory_sum, requests, errors, latency_sum_ms, latency_max_ms, inferences,
         decode_count, decode_sum, ttft_count, ttft_sum_ms, completion_tokens)
       VALUES (@minute, @samples, @cpu_sum, @memory_used_sum, @memory_total, @gpu_samples, @gpu_sum,
         @gpu_memory_sum, @requests, @errors, @latency_sum_ms, @latency_max_ms, @inferences,
         @decode_count, @decode_sum, @ttft_count, @ttft_sum_ms, @completion_tokens)
       ON CONFLICT (minute) DO UPDATE SET
         samples = samples + excluded.samples,
         cpu_sum = cpu_sum + excluded.cpu_sum,
         memory_used_sum = memory_used_sum + excluded.memory_used_sum,
         memory_total = excluded.memory_total,
         gpu_samples = gpu_samples + excluded.gpu_samples,
         gpu_sum = gpu_sum + excluded.gpu_sum,
         gpu_memory_sum = gpu_memory_sum + excluded.gpu_memory_sum,
         requests = requests + excluded.requests,
         errors = errors + excluded.errors,
         latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
         latency_max_ms = MAX(COALESCE(latency_max_ms, excluded.latency_max_ms),
                              COALESCE(excluded.latency_max_ms, latency_max_ms)),
         inferences = inferences + excluded.inferences,
         decode_count = decode_count + excluded.decode_count,
         decode_sum = decode_sum + excluded.decode_sum,
         ttft_count = ttft_count + excluded.ttft_count,
         ttft_sum_ms = ttft_sum_ms + excluded.ttft_sum_ms,
         completion_tokens = completion_tokens + excluded.completion_tokens`,
    );
    this.#since = db.prepare<[string], MinuteRow>(
      'SELECT * FROM metrics_minutes WHERE minute >= ? ORDER BY minute',
    );
    this.#prune = db.prepare<[string]>('DELETE FROM metrics_minutes WHERE minute < ?');
  }

  /**
   * Adds a minute's totals (merged into the row when the minute is already there) and drops the
   * minutes before `keepFrom`. On a full disk the minute goes unrecorded rather than failing.
   */
  add(totals: MinuteTotals, keepFrom: string): void {
    try {
      this.#upsert.run({
        minute: totals.minute,
        samples: totals.samples,
        cpu_sum: totals.cpuSum,
        memory_used_sum: totals.memoryUsedSum,
        memory_total: totals.memoryTotal,
        gpu_samples: totals.gpuSamples,
        gpu_sum: totals.gpuSum,
        gpu_memory_sum: totals.gpuMemorySum,
        requests: totals.requests,
        errors: totals.errors,
        latency_sum_ms: totals.latencySumMs,
        latency_max_ms: totals.latencyMaxMs,
        inferences: totals.inferences,
        decode_count: totals.decodeCount,
        decode_sum: totals.decodeSum,
        ttft_count: totals.ttftCount,
        ttft_sum_ms: totals.ttftSumMs,
        completion_tokens: totals.completionTokens,
      });
      this.#prune.run(keepFrom);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
  }

  /** The minutes starting at or after `from` (an ISO time), oldest first, as means and counts. */
  since(from: string): MetricsMinute[] {
    return this.#since.all(from).map((row) => ({
      time: row.minute,
      samples: row.samples,
      cpuPercent: round(row.cpu_sum / row.samples),
      memoryUsedBytes: Math.round(row.memory_used_sum / row.samples),
      memoryTotalBytes: row.memory_total,
      gpuPercent: row.gpu_samples > 0 ? round(row.gpu_sum / row.gpu_samples) : null,
      gpuMemoryPercent: row.gpu_samples > 0 ? round(row.gpu_memory_sum / row.gpu_samples) : null,
      requests: row.requests,
      errors: row.errors,
      latencyMeanMs: row.requests > 0 ? round(row.latency_sum_ms / row.requests) : null,
      latencyMaxMs: row.latency_max_ms,
      inferences: row.inferences,
      decodeTokensPerSecond: row.decode_count > 0 ? round(row.decode_sum / row.decode_count) : null,
      timeToFirstTokenMs: row.ttft_count > 0 ? round(row.ttft_sum_ms / row.ttft_count) : null,
      completionTokens: row.completion_tokens,
    }));
  }
}
