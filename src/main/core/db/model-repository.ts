import { MODEL_COLUMNS, type FolderInfo, type KeptModelState } from '../library/model-record';
import type { Db } from './connection';
import { JsonColumnError, readJsonColumn, writeJsonColumn } from './json-column';
import { RevisionRepository } from './revision-repository';

/** One row of the `models` table, JSON columns parsed and checked. */
export interface ModelRow extends KeptModelState {
  readonly id: string;
  readonly location: string;
  readonly info: FolderInfo;
}

/** A row that could not be read back, and why (its JSON was edited by hand, or is from a newer Lodge). */
export interface InvalidModelRow {
  readonly id: string;
  readonly reason: string;
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
    source: readJsonColumn('source', MODEL_COLUMNS.source, row.source),
    status: row.status === 'missing' ? 'missing' : 'ready',
    info: readJsonColumn('info', MODEL_COLUMNS.info, row.info),
    parameterCount: row.parameter_count,
    files: readJsonColumn('files', MODEL_COLUMNS.files, row.files),
    alias: row.alias,
    tags: readJsonColumn('tags', MODEL_COLUMNS.tags, row.tags),
    preset: readJsonColumn('preset', MODEL_COLUMNS.preset, row.preset),
    addedAt: row.added_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The `models` table. Values are validated by the library before they get here, and again on read. */
export class ModelRepository {
  /** The kept versions of the models (`model_revisions`), on the same connection. */
  readonly revisions: RevisionRepository;
  readonly #all;
  readonly #upsert;
  readonly #delete;
  readonly #touch;

  constructor(db: Db) {
    this.revisions = new RevisionRepository(db);
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

  /** Every row that reads back valid, and the ids of those that do not (with why). */
  load(): { rows: ModelRow[]; invalid: InvalidModelRow[] } {
    const rows: ModelRow[] = [];
    const invalid: InvalidModelRow[] = [];
    for (const raw of this.#all.all()) {
      try {
        rows.push(parse(raw));
      } catch (error) {
        if (!(error instanceof JsonColumnError)) throw error;
        invalid.push({ id: raw.id, reason: error.message });
      }
    }
    return { rows, invalid };
  }

  /** Every row that reads back valid. */
  all(): ModelRow[] {
    return this.load().rows;
  }

  /** Inserts or replaces a model's row, each JSON column with its version. */
  save(row: ModelRow): void {
    this.#upsert.run(
      row.id,
      row.location,
      writeJsonColumn(row.source),
      row.status,
      writeJsonColumn(row.info),
      row.parameterCount,
      writeJsonColumn(row.files),
      row.alias,
      writeJsonColumn(row.tags),
      writeJsonColumn(row.preset),
      row.addedAt,
      row.lastUsedAt,
    );
  }

  /** Deletes a model's row. */
  delete(id: string): void {
    this.#delete.run(id);
  }

  /** Records when a model was last used. */
  touch(id: string, at: string): void {
    this.#touch.run(at, id);
  }
}
