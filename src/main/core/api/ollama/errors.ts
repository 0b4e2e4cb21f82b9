import type { LodgeError } from '../../errors';
import { commonErrorHeaders, DEFAULT_STATUS, type HttpErrorReply } from '../http-error';

/** Ollama's error shape: `{"error": "message"}` (ollama-js reads `.error`). */
export function formatOllamaError(error: LodgeError): HttpErrorReply {
  return {
    status: DEFAULT_STATUS[error.code],
    headers: commonErrorHeaders(error),
    body: { error: error.message },
  };
}
