import type { ModelFile, ModelPreset, ModelSource } from '../../../shared/contract/library';
import type { Db } from './connection';

/** What the library keeps about a model beyond its folder: origin, state, and the user's settings. */
export interface KeptModelState {
  readonly source: ModelSource;
  readonly status: 'ready' | 'missing';
  readonly parameterCount: number | null;
  readonly files: readonly ModelFile[];
  readonly alias: string | null;
  readonly tags: readonly string[];
  readonly preset: ModelPreset;
  readonly addedAt: string;
  readonly lastUsedAt: string | null;
}

/** One row of the `models` table, JSON columns parsed. */
export interface ModelRow extends KeptModelState {
  readonly id: string;
  readonly location: string;
  readonly info: unknown;
}

interface RawRow {
  id: string;
  location: string;
  source: string;
  status: 'ready' | 'missing';
  info: string;
  parameter_count: number | null;
  files: string;
  alias: string | null;
  tags: string;
  preset: string;
  added_at: string;
  last_used_at: string | null;
}

function parse(row: RawRow): ModelRow {
  return {
    id: row.id,
    location: row.location,
    source: JSON.parse(row.source) as ModelSource,
    status: row.status,
    info: JSON.parse(row.info) as unknown,
    parameterCount: row.parameter_count,
    files: JSON.parse(row.files) as ModelFile[],
    alias: row.alias,
    tags: JSON.parse(row.tags) as string[],
    preset: JSON.parse(row.preset) as ModelPreset,
    addedAt: row.added_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The `models` table. Values are validated by the library before they get here. */
export class ModelRepository {
  readonly #all;
  readonly #upsert;
  readonly #delete;
  readonly #touch;

  constructor(db: Db) {
    this.#all = db.prepare<[], RawRow>('SELECT * FROM models ORDER BY id');
    this.#upsert = db.prepare<
      [
        string,
        string,
        string,
        string,
        string,
        number | null,
        string,
        string | null,
        string,
        string,
        string,
        string | null,
      ]
    >(
      `INSERT INTO models (id, location, source, status, info, parameter_count, files, alias, tags, preset, added_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET location = excluded.location, source = excluded.source, status = excluded.status,
         info = excluded.info, parameter_count = excluded.parameter_count, files = excluded.files, alias = excluded.alias,
         tags = excluded.tags, preset = excluded.preset, last_used_at = excluded.last_used_at`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM models WHERE id = ?');
    this.#touch = db.prepare<[string, string]>('UPDATE models SET last_used_at = ? WHERE id = ?');
  }

  all(): ModelRow[] {
    return this.#all.all().map(parse);
  }

  save(row: ModelRow): void {
    this.#upsert.run(
      row.id,
      row.location,
      JSON.stringify(row.source),
      row.status,
      JSON.stringify(row.info),
      row.parameterCount,
      JSON.stringify(row.files),
      row.alias,
      JSON.stringify(row.tags),
      JSON.stringify(row.preset),
      row.addedAt,
      row.lastUsedAt,
    );
  }

  delete(id: string): void {
    this.#delete.run(id);
  }

  touch(id: string, at: string): void {
    this.#touch.run(at, id);
  }
}
