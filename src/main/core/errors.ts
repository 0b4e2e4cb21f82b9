import type { ErrorCode } from '../../shared/errors';

/**
 * The one error type Lodge's services throw for anything a user or client can cause or needs to
 * know about. Its `code` is stable; its `message` says what happened and what to do. Each API
 * family turns it into its own wire shape (see `api/<family>/errors.ts`).
 */
export class LodgeError extends Error {
  override readonly name = 'LodgeError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { readonly param?: string; readonly retryAfterSeconds?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** True for a {@link LodgeError}, whichever copy of the module made it. */
export function isLodgeError(value: unknown): value is LodgeError {
  return (
    value instanceof LodgeError || (value instanceof Error && value.name === 'LodgeError' && 'code' in value)
  );
}
