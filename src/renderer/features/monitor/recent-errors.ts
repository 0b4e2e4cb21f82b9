import type { LogEntry, RequestRecord } from '../../../shared/contract/system';

/** One line of the Monitor's "Recent errors": a request answered with an error, or an error logged. */
export interface RecentError {
  readonly key: string;
  readonly time: string;
  /** The HTTP status of a failed request; null for a logged error. */
  readonly status: number | null;
  readonly text: string;
}

/**
 * What went wrong lately, newest first: the failed requests as `GET /app/requests/errors` lists them
 * (a 401 without a key, a 503 while a model could not load, a stream that ended in an error or that
 * its client left), and the core's error-level log entries, at most `limit` in all.
 */
export function recentErrors(
  failedRequests: readonly RequestRecord[],
  logs: readonly LogEntry[],
  limit: number,
): RecentError[] {
  const failed = failedRequests.map((request) => ({
    key: `request:${request.id}`,
    time: request.time,
    status: request.status,
    text: `${request.method} ${request.path}${request.errorCode ? ` · ${request.errorCode}` : ''}`,
  }));
  const logged = logs.map((entry) => ({
    key: `log:${entry.seq}`,
    time: entry.time,
    status: null,
    text: entry.msg,
  }));
  return [...failed, ...logged].sort((a, b) => Date.parse(b.time) - Date.parse(a.time)).slice(0, limit);
}
