import type { LodgeError } from '../../errors';
import { commonErrorHeaders, DEFAULT_STATUS, type HttpErrorReply } from '../http-error';

// Failures that repeat on retry: the openai SDK would otherwise re-run them twice more (it retries
// 5xx answers unless they carry `x-should-retry: false`).
const DETERMINISTIC = new Set(['model_load_failed', 'runner_crashed', 'internal', 'not_implemented']);

/** OpenAI's error object: `{error: {message, type, param, code}}`, all four keys present. */
export function formatOpenAiError(error: LodgeError): HttpErrorReply {
  const status = DEFAULT_STATUS[error.code];
  const headers = commonErrorHeaders(error);
  if (DETERMINISTIC.has(error.code)) headers['x-should-retry'] = 'false';
  return {
    status,
    headers,
    body: {
      error: {
        message: error.message,
        type: openAiType(status),
        param: error.details.param ?? null,
        code: error.code,
      },
    },
  };
}

function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}
