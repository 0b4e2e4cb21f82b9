import { z } from 'zod';

/**
 * One interval of the Monitor's history, as the core measured it: the machine's load at the
 * interval's end, and what was served during it. A figure nothing measured (no GPU, no request, no
 * generation in the interval) is null, never zero.
 */
export const MetricsSampleSchema = z.object({
  /** When the interval ended. */
  time: z.iso.datetime(),
  intervalMs: z.number().nonnegative(),
  cpuPercent: z.number(),
  memoryUsedBytes: z.number(),
  memoryTotalBytes: z.number(),
  /** The first GPU's utilization and memory use, in percent; null without a GPU the driver reports. */
  gpuPercent: z.number().nullable(),
  gpuMemoryPercent: z.number().nullable(),
  /** API requests that ended in the interval (as the request log records them), and how many of them failed. */
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
  /** Inferences that finished in the interval, their mean decode speed and time to first token. */
  inferences: z.number().int().nonnegative(),
  decodeTokensPerSecond: z.number().nullable(),
  timeToFirstTokenMs: z.number().nullable(),
  completionTokens: z.number().int().nonnegative(),
});

/** Parsed form of {@link MetricsSampleSchema}. */
export type MetricsSample = z.infer<typeof MetricsSampleSchema>;

/** One minute of the history as kept in the database, so that a restart keeps the last hour. */
export const MetricsMinuteSchema = z.object({
  /** When the minute starts. */
  time: z.iso.datetime(),
  /** How many samples the minute's means are over. */
  samples: z.number().int().positive(),
  cpuPercent: z.number(),
  memoryUsedBytes: z.number(),
  memoryTotalBytes: z.number(),
  gpuPercent: z.number().nullable(),
  gpuMemoryPercent: z.number().nullable(),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  latencyMeanMs: z.number().nullable(),
  latencyMaxMs: z.number().nullable(),
  inferences: z.number().int().nonnegative(),
  decodeTokensPerSecond: z.number().nullable(),
  timeToFirstTokenMs: z.number().nullable(),
  completionTokens: z.number().int().nonnegative(),
});

/** Parsed form of {@link MetricsMinuteSchema}. */
export type MetricsMinute = z.infer<typeof MetricsMinuteSchema>;

/** `GET /app/metrics/history` query: only what came after `since` (the last hour at most). */
export const MetricsHistoryQuerySchema = z.object({ since: z.iso.datetime().optional() });

/**
 * `GET /app/metrics/history` reply, oldest first: the samples this core took (every `intervalMs`),
 * and the per-minute aggregates of the last hour, earlier runs of the core included.
 */
export const MetricsHistorySchema = z.object({
  windowSeconds: z.number().int().positive(),
  intervalMs: z.number().int().positive(),
  samples: z.array(MetricsSampleSchema),
  minutes: z.array(MetricsMinuteSchema),
});

/** Parsed form of {@link MetricsHistorySchema}. */
export type MetricsHistory = z.infer<typeof MetricsHistorySchema>;
