import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RevisionFile, RevisionRepository, RevisionRow } from '../db/revision-repository';
import { LodgeError } from '../errors';
import { shortRevision, SHORT_REVISION } from './revision-id';

/** A revision's files, as the hub or a checksum names them: what two revisions may share. */
export interface FileIdentity {
  readonly bytes: number;
  readonly sha256: string | null;
  readonly gitOid: string | null;
}

/** The hidden folder of models/ that holds the revisions besides each model's first. */
export const REVISIONS_FOLDER = '.revisions';

/**
 * The kept versions of every model, in memory and written through to `model_revisions`: which
 * revisions a model has, which is active, which are pinned, where each one's folder is, and which
 * file of which revision already holds given bytes. What is on disk is the catalog's business.
 */
export class ModelRevisions {
  #rows = new Map<string, RevisionRow[]>();

  constructor(
    private readonly repository: RevisionRepository,
    private readonly modelsDir: string,
  ) {}

  /** Reads every revision from the table again. */
  load(): void {
    const rows = new Map<string, RevisionRow[]>();
    for (const row of this.repository.all()) rows.set(row.modelId, [...(rows.get(row.modelId) ?? []), row]);
    this.#rows = rows;
  }

  /** A model's revisions, oldest first. */
  of(modelId: string): readonly RevisionRow[] {
    return this.#rows.get(modelId) ?? [];
  }

  /** The revision a bare name runs, if the model has revisions yet. */
  active(modelId: string): RevisionRow | undefined {
    return this.of(modelId).find((row) => row.active);
  }

  /** Where a new revision of `modelId` goes: `models/.revisions/<owner>/<name>/<revision>`. */
  folderFor(modelId: string, revision: string): string {
    return join(this.modelsDir, REVISIONS_FOLDER, ...modelId.split('/'), revision);
  }

  /**
   * The revision `requested` names: the whole revision, or at least its first 7 characters. A
   * prefix that names none, or several, is a 404 that names it and lists what there is.
   */
  find(modelId: string, requested: string): RevisionRow {
    const wanted = requested.trim().toLowerCase();
    const rows = this.of(modelId);
    const listed = () =>
      rows.length === 0
        ? 'It has no revisions yet.'
        : `Its revisions: ${rows.map((row) => shortRevision(row.revision)).join(', ')}.`;
    if (!/^[0-9a-f]+$/.test(wanted) || wanted.length < SHORT_REVISION)
      throw new LodgeError(
        'model_not_found',
        `'${requested}' is not a revision of ${modelId}: give its commit, or at least its first ${SHORT_REVISION} characters. ${listed()}`,
        { param: 'model' },
      );
    const matches = rows.filter((row) => row.revision.startsWith(wanted));
    const [match] = matches;
    if (match === undefined)
      throw new LodgeError('model_not_found', `${modelId} has no revision '${requested}'. ${listed()}`, {
        param: 'model',
      });
    if (matches.length > 1)
      throw new LodgeError(
        'model_not_found',
        `'${requested}' matches several revisions of ${modelId}; give more of its characters. ${listed()}`,
        { param: 'model' },
      );
    return match;
  }

  /** Records a revision; an active one becomes the model's only active one. */
  save(row: RevisionRow): void {
    this.repository.save(row);
    const others = this.of(row.modelId).filter((other) => other.revision !== row.revision);
    this.#rows.set(row.modelId, [
      ...others.map((other) => (row.active ? { ...other, active: false } : other)),
      row,
    ]);
  }

  /** Makes `revision` the active one of its model. */
  activate(modelId: string, revision: string): void {
    this.repository.activate(modelId, revision);
    this.#rows.set(
      modelId,
      this.of(modelId).map((row) => ({ ...row, active: row.revision === revision })),
    );
  }

  /** Pins or unpins a revision: a pinned one is never deleted by a cleanup. */
  pin(modelId: string, revision: string, pinned: boolean): void {
    this.repository.pin(modelId, revision, pinned);
    this.#rows.set(
      modelId,
      this.of(modelId).map((row) => (row.revision === revision ? { ...row, pinned } : row)),
    );
  }

  /** Forgets one revision (its folder is the caller's). */
  delete(modelId: string, revision: string): void {
    this.repository.delete(modelId, revision);
    this.#rows.set(
      modelId,
      this.of(modelId).filter((row) => row.revision !== revision),
    );
  }

  /** Forgets every revision of a model. */
  deleteModel(modelId: string): void {
    this.repository.deleteModel(modelId);
    this.#rows.delete(modelId);
  }

  /**
   * A file already on disk with the same bytes as `file` (the same SHA-256, or the same git blob
   * id, and size) in a revision of `modelId`: a new revision links to it instead of fetching or
   * copying those bytes again. Only the model's own revisions: another model is another download,
   * whose files the user may expect to be its own.
   */
  sharedFile(modelId: string, file: FileIdentity): string | null {
    const same = (candidate: RevisionFile) =>
      candidate.bytes === file.bytes &&
      ((file.sha256 !== null && candidate.sha256 === file.sha256) ||
        (file.gitOid !== null && candidate.gitOid === file.gitOid));
    const rows = this.of(modelId);
    for (const row of rows) {
      // A folder registered in place is the user's: its files may change under a link to them.
      if (row.source.kind === 'import' && row.source.inPlace) continue;
      for (const candidate of row.files) {
        if (!same(candidate)) continue;
        const path = join(row.location, candidate.path);
        if (existsSync(path) && statSync(path).size === file.bytes) return path;
      }
    }
    return null;
  }
}
