import type { Logger } from '../logging/logger';
import { settlesWithin, type Clock } from './clock';
import type { Current } from './slot';

/** How long requests cut off at shutdown may take to stop before the runners are stopped anyway. */
const STOP_AFTER_ABORT_MS = 3000;

/**
 * Shutdown's grace for the requests still running (invariant 7): waits up to `graceMs` on `clock`
 * for them to be released, then aborts those left (their lease's signal) and waits briefly for
 * them to stop. `running` is read again after the grace, as requests finish meanwhile.
 */
export async function graceThenCut(
  running: () => Current[],
  graceMs: number,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  const finished = await settlesWithin(
    clock,
    Promise.all(running().map((current) => current.released)),
    graceMs,
  );
  if (finished) return;
  const cut = running();
  logger.warn({ requests: cut.length }, 'stopping requests still running after the grace period');
  for (const current of cut) current.controller.abort();
  await settlesWithin(clock, Promise.all(cut.map((current) => current.released)), STOP_AFTER_ABORT_MS);
}
