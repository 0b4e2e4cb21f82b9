import type { Db } from './connection';

/**
 * The `settings` table: one JSON value per key. Values are untyped here; the config layer
 * validates them against the shared schema, so a hand-edited or stale row cannot poison startup.
 */
export class SettingsRepository {
  readonly #all;
  readonly #upsert;
  readonly #delete;

  constructor(db: Db) {
    this.#all = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings');
    this.#upsert = db.prepare<[string, string]>(
      `INSERT INTO settings (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM settings WHERE key = ?');
  }

  /** Every stored setting, with rows whose JSON does not parse left out. */
  readAll(): Map<string, unknown> {
    const values = new Map<string, unknown>();
    for (const row of this.#all.all()) {
      try {
        values.set(row.key, JSON.parse(row.value));
      } catch {
        // A row that is not JSON is treated as absent; the config layer reports what it ignored.
        values.set(row.key, undefined);
      }
    }
    return values;
  }

  /** Stores `value` (JSON-encoded) under `key`, or removes the key when `value` is undefined. */
  write(key: string, value: unknown): void {
    if (value === undefined) this.#delete.run(key);
    else this.#upsert.run(key, JSON.stringify(value));
  }
}
