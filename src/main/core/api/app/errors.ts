import type { AppErrorBody } from '../../../../shared/errors';
import type { LodgeError } from '../../errors';
import { commonErrorHeaders, DEFAULT_STATUS, type HttpErrorReply } from '../http-error';

/** The app API's error shape: `{error: {code, message}}` (see `src/shared/errors.ts`). */
export function formatAppError(error: LodgeError): HttpErrorReply {
  const body: AppErrorBody = { error: { code: error.code, message: error.message } };
  return { status: DEFAULT_STATUS[error.code], headers: commonErrorHeaders(error), body };
}
