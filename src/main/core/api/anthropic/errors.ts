import type { ErrorCode } from '../../../../shared/errors';
import type { LodgeError } from '../../errors';
import { commonErrorHeaders, DEFAULT_STATUS, type HttpErrorReply } from '../http-error';

/** The `error.type` values of Anthropic's API. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

// Failures that repeat on retry: the Anthropic SDK honours x-should-retry as the openai SDK does.
const DETERMINISTIC = new Set<ErrorCode>([
  'model_load_failed',
  'runner_crashed',
  'internal',
  'not_implemented',
]);

/** Anthropic's error object, `{type: "error", error: {type, message}}`, as a body or an SSE payload. */
export function anthropicErrorBody(error: LodgeError): {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
} {
  return { type: 'error', error: { type: anthropicType(error.code), message: error.message } };
}

/** Errors under `/v1/messages`, with Anthropic's statuses (the SDK picks its error class by status). */
export function formatAnthropicError(error: LodgeError): HttpErrorReply {
  const headers = commonErrorHeaders(error);
  if (DETERMINISTIC.has(error.code)) headers['x-should-retry'] = 'false';
  return { status: DEFAULT_STATUS[error.code], headers, body: anthropicErrorBody(error) };
}

function anthropicType(code: ErrorCode): AnthropicErrorType {
  switch (code) {
    case 'unauthorized':
      return 'authentication_error';
    case 'forbidden':
      return 'permission_error';
    case 'not_found':
    case 'model_not_found':
      return 'not_found_error';
    case 'payload_too_large':
      return 'request_too_large';
    case 'queue_full':
      return 'rate_limit_error';
    case 'unavailable':
    case 'shutting_down':
      return 'overloaded_error';
  }
  return DEFAULT_STATUS[code] >= 500 ? 'api_error' : 'invalid_request_error';
}
