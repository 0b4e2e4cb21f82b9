import { z } from 'zod';
import type { Db } from './connection';
import { JsonColumnError, readJsonColumn, writeJsonColumn } from './json-column';

/** The states a download goes through. */
export const DOWNLOAD_STATUSES = [
  'queued',
  'downloading',
  'paused',
  'verifying',
  'completed',
  'failed',
  'cancelled',
] as const;

/** The state a download is in. */
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number];

/** One file of a download, with the checksum it must match. */
export interface DownloadFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string | null;
  readonly gitOid: string | null;
}

/** One row of the `downloads` table. */
export interface DownloadRow {
  readonly id: string;
  readonly repo: string;
  readonly revision: string;
  readonly variant: string;
  readonly modelId: string;
  readonly status: DownloadStatus;
  readonly files: readonly DownloadFile[];
  readonly totalBytes: number;
  readonly error: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the hub says the commit was made, if it said. */
  readonly committedAt?: string | null;
}

/** The `files` column, as it is checked on read. */
const FilesSchema = z.array(
  z.object({
    path: z.string(),
    size: z.number(),
    sha256: z.string().nullable(),
    gitOid: z.string().nullable(),
  }),
);

/** A row that could not be read back, and why. */
export interface InvalidDownloadRow {
  readonly id: string;
  readonly reason: string;
}

interface RawRow {
  id: string;
  repo: string;
  revision: string;
  variant: string;
  model_id: string;
  /** The table's CHECK constraint keeps it one of {@link DOWNLOAD_STATUSES}. */
  status: DownloadStatus;
  files: string;
  total_bytes: number;
  error: string | null;
  created_at: string;
  updated_at: string;
  committed_at: string | null;
}

/** The `downloads` table: what is being fetched, so a download survives a restart of the app. */
export class DownloadRepository {
  readonly #all;
  readonly #save;

  constructor(db: Db) {
    this.#all = db.prepare<[], RawRow>('SELECT * FROM downloads ORDER BY created_at');
    this.#save = db.prepare<
      [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        number,
        string | null,
        string,
        string,
        string | null,
      ]
    >(
      `INSERT INTO downloads (id, repo, revision, variant, model_id, status, files, total_bytes, error, created_at, updated_at, committed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at`,
    );
  }

  /** Every row that reads back valid, and those that do not (with why). */
  load(): { rows: DownloadRow[]; invalid: InvalidDownloadRow[] } {
    const rows: DownloadRow[] = [];
    const invalid: InvalidDownloadRow[] = [];
    for (const row of this.#all.all()) {
      try {
        rows.push({
          id: row.id,
          repo: row.repo,
          revision: row.revision,
          variant: row.variant,
          modelId: row.model_id,
          status: row.status,
          files: readJsonColumn('files', FilesSchema, row.files),
          totalBytes: row.total_bytes,
          error: row.error,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
          ...(row.committed_at !== null ? { committedAt: row.committed_at } : {}),
        });
      } catch (error) {
        if (!(error instanceof JsonColumnError)) throw error;
        invalid.push({ id: row.id, reason: error.message });
      }
    }
    return { rows, invalid };
  }

  /** Every row that reads back valid. */
  all(): DownloadRow[] {
    return this.load().rows;
  }

  /** Inserts a download, or updates its state. */
  save(row: DownloadRow): void {
    this.#save.run(
      row.id,
      row.repo,
      row.revision,
      row.variant,
      row.modelId,
      row.status,
      writeJsonColumn(row.files),
      row.totalBytes,
      row.error,
      row.createdAt,
      row.updatedAt,
      row.committedAt ?? null,
    );
  }
}
