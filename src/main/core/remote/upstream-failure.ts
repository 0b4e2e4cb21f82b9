import { LodgeError } from '../errors';
import { upstreamErrorText } from './openai-translation';
import { UpstreamError } from './upstream-request';

/**
 * Runs an idempotent call, and once more when the first attempt could not reach the engine at all
 * (refused, reset before any answer): a restart or a dropped keep-alive connection costs nothing.
 */
export async function withRetry<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof UpstreamError) || error.kind !== 'unreachable' || signal?.aborted) throw error;
    return call();
  }
}

/** A failure to reach or read an engine, as the LodgeError every family answers with. */
export function upstreamFailure(engine: string, error: unknown): LodgeError {
  if (error instanceof LodgeError) return error;
  if (error instanceof UpstreamError) {
    if (error.kind === 'aborted') return new LodgeError('cancelled', 'The request was cancelled.');
    if (error.kind === 'refused')
      return new LodgeError(
        'upstream_failed',
        `The remote engine '${engine}' sent an answer Lodge refused: ${error.message}.`,
      );
    return new LodgeError('unavailable', `The remote engine '${engine}' is down: ${error.message}.`, {
      retryAfterSeconds: 5,
    });
  }
  return new LodgeError('upstream_failed', `The call to the remote engine '${engine}' failed.`);
}

/** A non-200 answer of an engine as a LodgeError: what it said, under the right code. */
export function statusError(engine: string, model: string, status: number, text: string): LodgeError {
  const said = upstreamErrorText(text);
  const tail = said === '' ? '' : `: ${said}`;
  if (status === 404)
    return new LodgeError('model_not_found', `The remote engine '${engine}' has no model '${model}'${tail}`, {
      param: 'model',
    });
  if (status === 400 || status === 422)
    return new LodgeError('invalid_request', `The remote engine '${engine}' refused the request${tail}`);
  if (status === 401 || status === 403)
    return new LodgeError(
      'upstream_failed',
      `The remote engine '${engine}' refused Lodge's key (HTTP ${status}); check the engine's API key in Settings${tail}`,
    );
  if (status === 429 || status === 503)
    return new LodgeError(
      'unavailable',
      `The remote engine '${engine}' is busy or unavailable (HTTP ${status})${tail}`,
      {
        retryAfterSeconds: 5,
      },
    );
  return new LodgeError('upstream_failed', `The remote engine '${engine}' answered HTTP ${status}${tail}`);
}
