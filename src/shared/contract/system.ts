import { z } from 'zod';
import { LOG_LEVELS } from './settings';

/** `GET /app/info`: what this Lodge is and where it keeps its data. */
export const AppInfoSchema = z.object({
  name: z.literal('Lodge'),
  version: z.string(),
  apiBase: z.string(),
  dataDir: z.string(),
  authRequired: z.boolean(),
  runtime: z.object({ node: z.string(), platform: z.string(), arch: z.string() }),
  startedAt: z.iso.datetime(),
});

/** Parsed form of {@link AppInfoSchema}. */
export type AppInfo = z.infer<typeof AppInfoSchema>;

/** One structured log line, as kept in the core's ring buffer. */
export const LogEntrySchema = z.object({
  seq: z.number().int(),
  time: z.iso.datetime(),
  level: z.enum(LOG_LEVELS),
  msg: z.string(),
  context: z.record(z.string(), z.unknown()),
});

/** Parsed form of {@link LogEntrySchema}. */
export type LogEntry = z.infer<typeof LogEntrySchema>;

/** `GET /app/logs` query: newest entries at or above a level, after a sequence number. */
export const LogQuerySchema = z.object({
  level: z.enum(LOG_LEVELS).default('info'),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** `GET /app/logs` reply, oldest first. */
export const LogListSchema = z.object({ entries: z.array(LogEntrySchema) });

/** The API families Lodge serves; each has its own error shape. */
export const API_FAMILIES = ['openai', 'anthropic', 'ollama', 'kserve', 'app'] as const;

/** One of {@link API_FAMILIES}. */
export type ApiFamily = (typeof API_FAMILIES)[number];

/**
 * How a request ended: `ok`; `error` (a 4xx/5xx answer, or an error sent inside a stream whose 200
 * was already out); `cancelled` (the client stopped an answer under way, as a Stop button does, and
 * its generation was cut off; or the generation was stopped before its end); `aborted` (the client
 * left before any answer was sent, while it waited for the model, say).
 */
export const REQUEST_OUTCOMES = ['ok', 'error', 'cancelled', 'aborted'] as const;

/** One of {@link REQUEST_OUTCOMES}. */
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/**
 * The status the log records for a request whose client left before any status was sent (the
 * "client closed request" of nginx).
 */
export const CLIENT_CLOSED_STATUS = 499;

/** One served HTTP request, as recorded in the request log. */
export const RequestRecordSchema = z.object({
  id: z.number().int(),
  time: z.iso.datetime(),
  method: z.string(),
  path: z.string(),
  /** The status sent; {@link CLIENT_CLOSED_STATUS} when the client left before one was. */
  status: z.number().int(),
  durationMs: z.number().nonnegative(),
  family: z.enum(API_FAMILIES),
  requestId: z.string(),
  outcome: z.enum(REQUEST_OUTCOMES),
  /** The error's stable code (`unauthorized`, `shutting_down`, …) when it ended in one. */
  errorCode: z.string().nullable(),
  /** The model as the client named it, when the request used one. */
  model: z.string().nullable(),
  promptTokens: z.number().int().nullable(),
  /** Tokens generated; for an aborted stream, those generated before the client left. */
  completionTokens: z.number().int().nullable(),
  /** For a model alias or a remote model: the target that served, then each that failed before it. */
  route: z.string().nullable().optional(),
});

/** Parsed form of {@link RequestRecordSchema}. */
export type RequestRecord = z.infer<typeof RequestRecordSchema>;

/** `GET /app/requests` query. */
export const RequestQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** `GET /app/requests` reply, newest first. */
export const RequestListSchema = z.object({ requests: z.array(RequestRecordSchema) });

/** `GET /app/requests/errors` query. */
export const RequestErrorQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(20),
});
