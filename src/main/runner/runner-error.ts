import type { ErrorCode } from '../../shared/errors';

/** An error a runner reports to the core with a stable code; the core turns it into a LodgeError. */
export class RunnerError extends Error {
  override readonly name = 'RunnerError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
