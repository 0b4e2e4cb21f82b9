import type { Db } from './connection';

/** One schema change. Versions are consecutive from 1; a released migration is never edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** What {@link migrate} did. */
export interface MigrationResult {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

/**
 * Brings the database to the newest schema. The version lives in `PRAGMA user_version`; all pending
 * migrations run in one transaction, so a failure leaves the file exactly as it was. A database
 * written by a newer Lodge is refused rather than guessed at.
 */
export function migrate(db: Db, migrations: readonly Migration[]): MigrationResult {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`Migration list is out of order at ${migration.name}: expected version ${index + 1}.`);
    }
  });
  const latest = migrations.length;
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > latest) {
    throw new Error(
      `The database is at schema version ${from}, newer than this Lodge knows (${latest}). ` +
        'Update Lodge, or point it at another data directory.',
    );
  }
  const pending = migrations.slice(from);
  if (pending.length === 0) return { from, to: from, applied: [] };
  const apply = db.transaction(() => {
    for (const migration of pending) {
      try {
        db.exec(migration.sql);
      } catch (cause) {
        throw new Error(`Migration ${migration.version} (${migration.name}) failed: ${String(cause)}`, {
          cause,
        });
      }
    }
    // NOTE: user_version cannot be a bound parameter; `latest` is an integer we computed.
    db.pragma(`user_version = ${latest}`);
  });
  apply.immediate();
  return { from, to: latest, applied: pending.map((migration) => migration.name) };
}
