import type { ErrorCode } from '../../../shared/errors';
import type { LodgeError } from '../errors';

/** An error as one API family answers it: status, JSON body and any extra headers. */
export interface HttpErrorReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Turns a {@link LodgeError} into one family's wire shape. */
export type ErrorFormatter = (error: LodgeError) => HttpErrorReply;

/** The HTTP status each code gets unless a family says otherwise. */
export const DEFAULT_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  model_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  queue_full: 429,
  cancelled: 499,
  internal: 500,
  // The model as it stands cannot run (a corrupt file, an unreadable tokenizer, a shape Lodge
  // refuses): the request was understood, retrying will not help, and the server did not fail.
  model_load_failed: 422,
  runner_crashed: 500,
  not_implemented: 501,
  unavailable: 503,
  // A remote engine answered, but with something Lodge cannot use (a 5xx, a broken stream).
  upstream_failed: 502,
  shutting_down: 503,
  insufficient_storage: 507,
};

/** Headers every family adds for a code: how to authenticate, and when a retry can help. */
export function commonErrorHeaders(error: LodgeError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.code === 'unauthorized') headers['www-authenticate'] = 'Bearer';
  if (error.details.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.details.retryAfterSeconds);
  return headers;
}
