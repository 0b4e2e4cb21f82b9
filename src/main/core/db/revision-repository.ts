import { z } from 'zod';
import { ModelSourceSchema, type ModelSource } from '../../../shared/contract/library';
import type { Db } from './connection';
import { JsonColumnError, readJsonColumn, writeJsonColumn } from './json-column';

/** One file of a revision: its checksum (SHA-256), and the git blob id when the hub gave one. */
export interface RevisionFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string | null;
  readonly gitOid: string | null;
}

/** One row of the `model_revisions` table: one kept version of a model, in its own folder. */
export interface RevisionRow {
  readonly modelId: string;
  /** The hub's commit (40 hex digits), or for a folder the SHA-256 of its file list (64). */
  readonly revision: string;
  readonly location: string;
  readonly source: ModelSource;
  readonly files: readonly RevisionFile[];
  readonly bytes: number;
  readonly pinned: boolean;
  readonly active: boolean;
  readonly addedAt: string;
  /** When the hub says the commit was made, if it said. */
  readonly committedAt: string | null;
}

const FilesSchema = z.array(
  z.object({
    path: z.string(),
    bytes: z.number(),
    sha256: z.string().nullable(),
    gitOid: z.string().nullable(),
  }),
);

interface RawRow {
  model_id: string;
  revision: string;
  location: string;
  source: string;
  files: string;
  bytes: number;
  pinned: number;
  active: number;
  added_at: string;
  committed_at: string | null;
}

/** The `model_revisions` table: every kept version of every model, one marked active per model. */
export class RevisionRepository {
  readonly #all;
  readonly #upsert;
  readonly #activate;
  readonly #pin;
  readonly #delete;
  readonly #deleteModel;

  constructor(private readonly db: Db) {
    this.#all = db.prepare<[], RawRow>('SELECT * FROM model_revisions ORDER BY model_id, added_at, revision');
    this.#upsert = db.prepare<
      [string, string, string, string, string, number, number, number, string, string | null]
    >(
      `INSERT INTO model_revisions (model_id, revision, location, source, files, bytes, pinned, active, added_at, committed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model_id, revision) DO UPDATE SET location = excluded.location, source = excluded.source,
         files = excluded.files, bytes = excluded.bytes, pinned = excluded.pinned, active = excluded.active,
         committed_at = excluded.committed_at`,
    );
    this.#activate = db.prepare<[string, string]>(
      'UPDATE model_revisions SET active = (revision = ?) WHERE model_id = ?',
    );
    this.#pin = db.prepare<[number, string, string]>(
      'UPDATE model_revisions SET pinned = ? WHERE model_id = ? AND revision = ?',
    );
    this.#delete = db.prepare<[string, string]>(
      'DELETE FROM model_revisions WHERE model_id = ? AND revision = ?',
    );
    this.#deleteModel = db.prepare<[string]>('DELETE FROM model_revisions WHERE model_id = ?');
  }

  /** Every row that reads back valid, oldest first within each model; unreadable ones are left out. */
  all(): RevisionRow[] {
    const rows: RevisionRow[] = [];
    for (const raw of this.#all.all()) {
      try {
        rows.push({
          modelId: raw.model_id,
          revision: raw.revision,
          location: raw.location,
          source: readJsonColumn('source', ModelSourceSchema, raw.source),
          files: readJsonColumn('files', FilesSchema, raw.files),
          bytes: raw.bytes,
          pinned: raw.pinned === 1,
          active: raw.active === 1,
          addedAt: raw.added_at,
          committedAt: raw.committed_at,
        });
      } catch (error) {
        if (!(error instanceof JsonColumnError)) throw error;
      }
    }
    return rows;
  }

  /** Inserts or replaces a revision; when it is active, the model's other revisions stop being. */
  save(row: RevisionRow): void {
    this.db.transaction(() => {
      this.#upsert.run(
        row.modelId,
        row.revision,
        row.location,
        writeJsonColumn(row.source),
        writeJsonColumn(row.files),
        row.bytes,
        row.pinned ? 1 : 0,
        row.active ? 1 : 0,
        row.addedAt,
        row.committedAt,
      );
      if (row.active) this.#activate.run(row.revision, row.modelId);
    })();
  }

  /** Makes `revision` the model's active one (and no other). */
  activate(modelId: string, revision: string): void {
    this.#activate.run(revision, modelId);
  }

  /** Pins or unpins a revision. */
  pin(modelId: string, revision: string, pinned: boolean): void {
    this.#pin.run(pinned ? 1 : 0, modelId, revision);
  }

  /** Deletes one revision's row. */
  delete(modelId: string, revision: string): void {
    this.#delete.run(modelId, revision);
  }

  /** Deletes every revision row of a model. */
  deleteModel(modelId: string): void {
    this.#deleteModel.run(modelId);
  }
}
