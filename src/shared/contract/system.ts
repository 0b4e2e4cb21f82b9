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

/** One served HTTP request, as recorded in the request log. */
export const RequestRecordSchema = z.object({
  id: z.number().int(),
  time: z.iso.datetime(),
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
  durationMs: z.number().nonnegative(),
  family: z.enum(API_FAMILIES),
  requestId: z.string(),
});

/** Parsed form of {@link RequestRecordSchema}. */
export type RequestRecord = z.infer<typeof RequestRecordSchema>;

/** `GET /app/requests` query. */
export const RequestQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** `GET /app/requests` reply, newest first. */
export const RequestListSchema = z.object({ requests: z.array(RequestRecordSchema) });
