import type { Migration } from './migrate';

/**
 * Lodge's schema history, oldest first. Append only: a shipped migration is never changed, since
 * users' databases already ran it.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'settings',
    sql: `
      CREATE TABLE settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,            -- JSON
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'request log',
    sql: `
      CREATE TABLE request_log (
        id          INTEGER PRIMARY KEY,
        time        TEXT NOT NULL,
        method      TEXT NOT NULL,
        path        TEXT NOT NULL,
        status      INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        family      TEXT NOT NULL,
        request_id  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX request_log_time ON request_log (time);
    `,
  },
];
