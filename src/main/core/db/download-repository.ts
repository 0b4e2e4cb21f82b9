import type { Db } from './connection';

/** The state a download is in. */
export type DownloadStatus =
  'queued' | 'downloading' | 'paused' | 'verifying' | 'completed' | 'failed' | 'cancelled';

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
}

interface RawRow {
  id: string;
  repo: string;
  revision: string;
  variant: string;
  model_id: string;
  status: DownloadStatus;
  files: string;
  total_bytes: number;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** The `downloads` table: what is being fetched, so a download survives a restart of the app. */
export class DownloadRepository {
  readonly #all;
  readonly #save;

  constructor(db: Db) {
    this.#all = db.prepare<[], RawRow>('SELECT * FROM downloads ORDER BY created_at');
    this.#save = db.prepare<
      [string, string, string, string, string, string, string, number, string | null, string, string]
    >(
      `INSERT INTO downloads (id, repo, revision, variant, model_id, status, files, total_bytes, error, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at`,
    );
  }

  all(): DownloadRow[] {
    return this.#all.all().map((row) => ({
      id: row.id,
      repo: row.repo,
      revision: row.revision,
      variant: row.variant,
      modelId: row.model_id,
      status: row.status,
      files: JSON.parse(row.files) as DownloadFile[],
      totalBytes: row.total_bytes,
      error: row.error,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  save(row: DownloadRow): void {
    this.#save.run(
      row.id,
      row.repo,
      row.revision,
      row.variant,
      row.modelId,
      row.status,
      JSON.stringify(row.files),
      row.totalBytes,
      row.error,
      row.createdAt,
      row.updatedAt,
    );
  }
}
