import { isDiskFull } from '../disk-full';

/** What each system error code means to a user, in words that name no path and no address. */
const WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the server refused the connection',
  ECONNRESET: 'the connection was reset',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection broke',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the server cannot be reached from this network',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the server name does not resolve',
  EAI_AGAIN: 'the server name could not be resolved right now',
  UND_ERR_SOCKET: 'the connection broke',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  EACCES: 'Lodge is not allowed to write there',
  EPERM: 'Lodge is not allowed to write there',
  EROFS: 'the disk is read-only',
  ENOTDIR: 'a file stands where a folder should be',
  EEXIST: 'a file stands where a folder should be',
  EISDIR: 'a folder stands where a file should be',
  ENOENT: 'a file vanished while Lodge was using it',
  EMFILE: 'Lodge has too many files open',
  ENFILE: 'the system has too many files open',
  EIO: 'the disk reported an input/output error',
  SQLITE_READONLY: 'the database is read-only',
  SQLITE_BUSY: 'the database is busy',
  SQLITE_IOERR: 'the database could not be written',
  SQLITE_CANTOPEN: 'the database could not be opened',
};

/** The first `code` along an error's cause chain (fetch wraps the socket's error in its cause). */
function codeOf(error: unknown): string | null {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = 'code' in cause ? cause.code : undefined;
    if (typeof code === 'string' && code in WORDS) return code;
    cause = cause.cause;
  }
  return null;
}

/**
 * A short, user-facing reason for an error from the network or the file system: its code in words
 * (`the server refused the connection`), never its message, which carries absolute paths and
 * internal addresses. The full error belongs in the log.
 */
export function failureWords(error: unknown): string {
  if (isDiskFull(error)) return 'the disk is full';
  const code = codeOf(error);
  if (code !== null) return WORDS[code] ?? code;
  if (error instanceof Error && error.name === 'AbortError') return 'it was stopped';
  if (error instanceof Error && 'words' in error && typeof error.words === 'string') return error.words;
  return 'an unexpected error (the log has the details)';
}

/** A transfer error that is worth retrying (a 5xx, a short body), with words fit to show. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';

  constructor(readonly words: string) {
    super(words);
  }
}
