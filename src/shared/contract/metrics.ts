import { z } from 'zod';

/** The machine's load, as both a sample and a stored minute give it. */
const LoadFields = {
  cpuPercent: z.number(),
  memoryUsedBytes: z.number(),
  memoryTotalBytes: z.number(),
  /** The first GPU's utilization and memory use, in percent; null without a GPU the driver reports. */
  gpuPercent: z.number().nullable(),
  gpuMemoryPercent: z.number().nullable(),
};

/** What was served: API requests that ended (and failed), and inferences that finished. */
const ServedFields = {
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  inferences: z.number().int().nonnegative(),
  /** The inferences' mean decode speed and time to first token. */
  decodeTokensPerSecond: z.number().nullable(),
  timeToFirstTokenMs: z.number().nullable(),
  completionTokens: z.number().int().nonnegative(),
};

/**
 * One interval of the Monitor's history, as the core measured it: the machine's load at the
 * interval's end, and what was served during it. A figure nothing measured (no GPU, no request, no
 * generation in the interval) is null, never zero.
 */
export const MetricsSampleSchema = z.object({
  /** When the interval ended. */
  time: z.iso.datetime(),
  intervalMs: z.number().nonnegative(),
  ...LoadFields,
  ...ServedFields,
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
});

/** Parsed form of {@link MetricsSampleSchema}. */
export type MetricsSample = z.infer<typeof MetricsSampleSchema>;

/** One minute of the history as kept in the database, so that a restart keeps the last hour. */
export const MetricsMinuteSchema = z.object({
  /** When the minute starts. */
  time: z.iso.datetime(),
  /** How many samples the minute's means are over. */
  samples: z.number().int().positive(),
  ...LoadFields,
  ...ServedFields,
  latencyMeanMs: z.number().nullable(),
  latencyMaxMs: z.number().nullable(),
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
