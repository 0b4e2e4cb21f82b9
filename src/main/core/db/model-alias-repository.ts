import { z } from 'zod';
import type { Db } from './connection';
import { JsonColumnError, readJsonColumn, writeJsonColumn } from './json-column';

/** A model alias as stored: its name and the model names it tries, in order. */
export interface StoredAlias {
  readonly name: string;
  readonly targets: readonly string[];
  readonly updatedAt: string;
}

interface AliasRow {
  name: string;
  targets: string;
  updated_at: string;
}

const TargetsSchema = z.array(z.string());

/** The `model_aliases` table: names that route to the first healthy of an ordered list of models. */
export class ModelAliasRepository {
  readonly #all;
  readonly #upsert;
  readonly #delete;

  constructor(db: Db) {
    this.#all = db.prepare<[], AliasRow>('SELECT * FROM model_aliases ORDER BY name');
    this.#upsert = db.prepare<[string, string, string]>(
      `INSERT INTO model_aliases (name, targets, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET targets = excluded.targets, updated_at = excluded.updated_at`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM model_aliases WHERE name = ?');
  }

  /** Every alias, by name; one whose targets column does not parse has none. */
  list(): StoredAlias[] {
    return this.#all.all().map((row) => ({
      name: row.name,
      targets: targetsOf(row.targets),
      updatedAt: row.updated_at,
    }));
  }

  /** Adds an alias or replaces its targets. */
  save(alias: StoredAlias): void {
    this.#upsert.run(alias.name, writeJsonColumn(alias.targets), alias.updatedAt);
  }

  /** Removes an alias; false when there was none by that name. */
  remove(name: string): boolean {
    return this.#delete.run(name).changes > 0;
  }
}

function targetsOf(text: string): string[] {
  try {
    return readJsonColumn('targets', TargetsSchema, text);
  } catch (error) {
    if (error instanceof JsonColumnError) return [];
    throw error;
  }
}
