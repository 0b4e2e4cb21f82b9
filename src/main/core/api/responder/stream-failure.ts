import type { FastifyBaseLogger } from 'fastify';
import { isLodgeError } from '../../errors';

/**
 * Logs why a streamed generation ended in an error, at the level it deserves: a client that left
 * (`cancelled`) is routine (debug), a stream cut by shutdown (`shutting_down`) is expected (info),
 * both without a stack; anything else is a warning with the error in full.
 */
export function logStreamFailure(log: FastifyBaseLogger, error: unknown): void {
  if (isLodgeError(error) && error.code === 'cancelled') {
    log.debug({ code: error.code }, `generation stream cancelled: ${error.message}`);
  } else if (isLodgeError(error) && error.code === 'shutting_down') {
    log.info({ code: error.code }, `generation stream cut by shutdown: ${error.message}`);
  } else {
    log.warn({ err: error }, 'generation stream failed');
  }
}
