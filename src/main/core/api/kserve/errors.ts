import type { ErrorCode } from '../../../../shared/errors';
import type { LodgeError } from '../../errors';
import { commonErrorHeaders, DEFAULT_STATUS, type HttpErrorReply } from '../http-error';

// Triton's HTTP status mapping: invalid and unknown 400, not found 404, unsupported 501,
// unavailable 503, internal 500; tritonclient reads `body.error` for any non-200 status.
const TRITON_STATUS: Partial<Record<ErrorCode, number>> = {
  cancelled: 400,
  conflict: 400,
  queue_full: 503,
};

/** KServe v2 / Triton error shape: `{"error": "message"}`. */
export function formatKserveError(error: LodgeError): HttpErrorReply {
  const status = TRITON_STATUS[error.code] ?? DEFAULT_STATUS[error.code];
  return { status, headers: commonErrorHeaders(error), body: { error: error.message } };
}
