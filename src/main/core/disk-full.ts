import { LodgeError } from './errors';

// What a full disk looks like from Node (ENOSPC, EDQUOT for a quota) and from SQLite (SQLITE_FULL,
// also when the WAL cannot grow).
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether `error` (or what caused it) says there is no space left to write. */
export function isDiskFull(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = 'code' in cause ? cause.code : undefined;
    if (typeof code === 'string' && DISK_FULL_CODES.has(code)) return true;
    cause = cause.cause;
  }
  return false;
}

/** The one error every write that ran out of space answers with (507 in every API family). */
export function diskFullError(cause: unknown): LodgeError {
  return new LodgeError(
    'insufficient_storage',
    'The disk that holds the data directory is full, so this change was not saved. Free some space and retry; Lodge carries on by itself.',
    {},
    { cause },
  );
}
