import type { Db } from './connection';

/** A remote engine as stored: its name, normalized base URL and key (which never leaves the core). */
export interface StoredRemoteEngine {
  readonly name: string;
  readonly baseUrl: string;
  readonly apiKey: string | null;
  readonly addedAt: string;
}

interface RemoteEngineRow {
  name: string;
  base_url: string;
  api_key: string | null;
  added_at: string;
}

/** The `remote_engines` table: the OpenAI-compatible endpoints the user added, by name. */
export class RemoteEngineRepository {
  readonly #all;
  readonly #upsert;
  readonly #delete;

  constructor(db: Db) {
    this.#all = db.prepare<[], RemoteEngineRow>('SELECT * FROM remote_engines ORDER BY name');
    this.#upsert = db.prepare<[string, string, string | null, string]>(
      `INSERT INTO remote_engines (name, base_url, api_key, added_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url, api_key = excluded.api_key`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM remote_engines WHERE name = ?');
  }

  /** Every engine, by name. */
  list(): StoredRemoteEngine[] {
    return this.#all.all().map((row) => ({
      name: row.name,
      baseUrl: row.base_url,
      apiKey: row.api_key,
      addedAt: row.added_at,
    }));
  }

  /** Adds an engine, or replaces the URL and key of the one with that name. */
  save(engine: StoredRemoteEngine): void {
    this.#upsert.run(engine.name, engine.baseUrl, engine.apiKey, engine.addedAt);
  }

  /** Removes an engine; false when there was none by that name. */
  remove(name: string): boolean {
    return this.#delete.run(name).changes > 0;
  }
}
