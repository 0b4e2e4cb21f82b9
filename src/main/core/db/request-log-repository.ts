import type { ApiFamily, RequestOutcome, RequestRecord } from '../../../shared/contract/system';
import { isDiskFull } from '../disk-full';
import type { Db } from './connection';

interface RequestRow {
  id: number;
  time: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  family: ApiFamily;
  request_id: string;
  outcome: RequestOutcome;
  error_code: string | null;
  model: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  route: string | null;
}

/** How many requests the log keeps; older rows are pruned as new ones arrive. */
export const REQUEST_LOG_CAPACITY = 10_000;

/** The `request_log` table: every served API request, newest kept, for the Server view and the CLI. */
export class RequestLogRepository {
  readonly #insert;
  readonly #recent;
  readonly #failed;
  readonly #prune;
  #sincePrune = 0;

  constructor(db: Db) {
    this.#insert = db.prepare<
      [
        string,
        string,
        string,
        number,
        number,
        string,
        string,
        string,
        string | null,
        string | null,
        number | null,
        number | null,
        string | null,
      ]
    >(
      `INSERT INTO request_log (time, method, path, status, duration_ms, family, request_id,
         outcome, error_code, model, prompt_tokens, completion_tokens, route)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#recent = db.prepare<[number], RequestRow>('SELECT * FROM request_log ORDER BY id DESC LIMIT ?');
    this.#failed = db.prepare<[number], RequestRow>(
      `SELECT * FROM request_log WHERE status >= 400 OR outcome = 'error' ORDER BY id DESC LIMIT ?`,
    );
    this.#prune = db.prepare<[number]>(
      'DELETE FROM request_log WHERE id <= (SELECT MAX(id) FROM request_log) - ?',
    );
  }

  /**
   * Appends one request; every few hundred appends, trims the table to its capacity. On a full
   * disk the request goes unrecorded (the log already says the disk is full) rather than failing.
   */
  append(record: Omit<RequestRecord, 'id'>): void {
    try {
      this.#append(record);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
  }

  #append(record: Omit<RequestRecord, 'id'>): void {
    this.#insert.run(
      record.time,
      record.method,
      record.path,
      record.status,
      record.durationMs,
      record.family,
      record.requestId,
      record.outcome,
      record.errorCode,
      record.model,
      record.promptTokens,
      record.completionTokens,
      record.route ?? null,
    );
    if (++this.#sincePrune >= 500) {
      this.#sincePrune = 0;
      this.#prune.run(REQUEST_LOG_CAPACITY);
    }
  }

  /** The newest `limit` requests, newest first. */
  recent(limit: number): RequestRecord[] {
    return this.#recent.all(limit).map(toRecord);
  }

  /**
   * The newest `limit` requests that failed (a 4xx/5xx answer, 499 for a client that left before
   * one, or an error inside a stream), newest first. A stream its client stopped is no failure.
   */
  failed(limit: number): RequestRecord[] {
    return this.#failed.all(limit).map(toRecord);
  }
}

function toRecord(row: RequestRow): RequestRecord {
  return {
    id: row.id,
    time: row.time,
    method: row.method,
    path: row.path,
    status: row.status,
    durationMs: row.duration_ms,
    family: row.family,
    requestId: row.request_id,
    outcome: row.outcome,
    errorCode: row.error_code,
    model: row.model,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    route: row.route,
  };
}
