import { z } from 'zod';
import { MODEL_COLUMNS, type FolderInfo, type KeptModelState } from '../library/model-record';
import type { Db } from './connection';

export type { KeptModelState } from '../library/model-record';

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

/** The version of the JSON each column holds; a value is stored as `{ version, value }`. */
export const MODEL_COLUMN_VERSION = 1;

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

/** Thrown while reading a row; carries which column failed. */
class ColumnError extends Error {}

/**
 * A JSON column's value, checked against its schema. Values written before columns had a version
 * (version 0: the bare value) read as they are; a version this code does not know is refused.
 */
function column<T>(name: keyof typeof MODEL_COLUMNS, schema: z.ZodType<T>, text: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ColumnError(`its ${name} column is not JSON`);
  }
  const envelope = z.object({ version: z.number().int(), value: z.unknown() }).strict().safeParse(parsed);
  if (envelope.success && envelope.data.version !== MODEL_COLUMN_VERSION)
    throw new ColumnError(`its ${name} column has version ${envelope.data.version}, unknown to this Lodge`);
  const checked = schema.safeParse(envelope.success ? envelope.data.value : parsed);
  if (!checked.success)
    throw new ColumnError(
      `its ${name} column does not hold what it should (${checked.error.issues[0]?.message ?? 'invalid'})`,
    );
  return checked.data;
}

function stored(value: unknown): string {
  return JSON.stringify({ version: MODEL_COLUMN_VERSION, value });
}

function parse(row: RawRow): ModelRow {
  return {
    id: row.id,
    location: row.location,
    source: column('source', MODEL_COLUMNS.source, row.source),
    status: row.status === 'missing' ? 'missing' : 'ready',
    info: column('info', MODEL_COLUMNS.info, row.info),
    parameterCount: row.parameter_count,
    files: column('files', MODEL_COLUMNS.files, row.files),
    alias: row.alias,
    tags: column('tags', MODEL_COLUMNS.tags, row.tags),
    preset: column('preset', MODEL_COLUMNS.preset, row.preset),
    addedAt: row.added_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The `models` table. Values are validated by the library before they get here, and again on read. */
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

  /** Every row that reads back valid, and the ids of those that do not (with why). */
  load(): { rows: ModelRow[]; invalid: InvalidModelRow[] } {
    const rows: ModelRow[] = [];
    const invalid: InvalidModelRow[] = [];
    for (const raw of this.#all.all()) {
      try {
        rows.push(parse(raw));
      } catch (error) {
        if (!(error instanceof ColumnError)) throw error;
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
      stored(row.source),
      row.status,
      stored(row.info),
      row.parameterCount,
      stored(row.files),
      row.alias,
      stored(row.tags),
      stored(row.preset),
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
