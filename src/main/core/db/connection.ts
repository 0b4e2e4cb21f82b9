import Database from 'better-sqlite3';

/** An open better-sqlite3 connection. Only `core/db` names the driver; everything else takes this type. */
export type Db = Database.Database;

/**
 * Opens (creating if needed) the SQLite file with the settings every Lodge process relies on:
 * WAL so the CLI and a running server can share the file, foreign keys enforced, and a busy
 * timeout so a short write lock held by the other process waits instead of failing.
 */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
