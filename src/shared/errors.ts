import { z } from 'zod';

/**
 * Stable error codes shared by every part of Lodge. Each API family maps a code to its own
 * HTTP status and body shape in one place; clients may branch on the code, never on the message.
 */
export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'model_not_found',
  'model_load_failed',
  'runner_crashed',
  'queue_full',
  'payload_too_large',
  'conflict',
  'cancelled',
  'unavailable',
  'upstream_failed',
  'shutting_down',
  'insufficient_storage',
  'not_implemented',
  'internal',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The body of every error answered by the app's own API (`/app/*`, `/health`, `/openapi.json`). */
export const AppErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
  }),
});

/** Parsed form of {@link AppErrorBodySchema}. */
export type AppErrorBody = z.infer<typeof AppErrorBodySchema>;
