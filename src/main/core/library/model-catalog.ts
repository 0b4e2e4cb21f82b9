import { EventEmitter } from 'node:events';
import { existsSync, lstatSync, readdirSync, realpathSync, rmSync, statfsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ModelPreset, ModelSource } from '../../../shared/contract/library';
import type { ModelRepository } from '../db/model-repository';
import type { RevisionRow } from '../db/revision-repository';
import { LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import { folderFiles, inspectModelFolder } from './model-folder';
import { validModelId } from './model-id';
import { ModelImporter, type ImportProgress } from './model-importer';
import type { FolderInfo, ModelRecord } from './model-record';
import { resolveModel, type ResolvedModel } from './model-resolver';
import { ModelRevisions, type FileIdentity } from './model-revisions';
import { joinRecord, ModelStore } from './model-store';
import { revisionRecordId, shortRevision } from './revision-id';
import {
  modelFile,
  presetFor,
  revisionFile,
  revisionOf,
  revisionRecord,
  type IncomingFile,
} from './revision-record';
import { uniqueBytes } from './shared-files';

/** What the library tells listeners. */
export interface LibraryEvents {
  /** Models were added, removed, changed or went missing. */
  changed: [ids: string[]];
  /** Bytes hashed (and copied) so far for an import. */
  'import-progress': [progress: ImportProgress];
  /** A model's active revision changed: what runs it now is stale. */
  activated: [id: string];
}

/** What a rescan changed in the library, by model id. */
export interface LibraryChanges {
  readonly added: string[];
  readonly missing: string[];
  readonly restored: string[];
}

/**
 * The model library: SQLite rows (source, checksums, alias, tags, preset, times) joined with what
 * each folder holds on disk. `models/<owner>/<name>/` is the model `owner/name`; folders
 * registered in place live wherever the user keeps them. At startup and on refresh it reconciles
 * the two: folders dropped in by hand are added, models whose files vanished are marked missing,
 * never silently dropped. It composes three parts: the store (records and their rows), the
 * resolver (names, aliases and variant tags) and the importer (files into models/), and tells
 * listeners what changed.
 */
export class ModelCatalog extends EventEmitter<LibraryEvents> {
  readonly #store: ModelStore;
  readonly #importer: ModelImporter;
  readonly #revisions: ModelRevisions;
  /** Records of non-active revisions, made on first use, by `id@revision`. */
  #revisionRecords = new Map<string, ModelRecord>();

  constructor(
    private readonly modelsDir: string,
    repository: ModelRepository,
    private readonly logger: Logger,
  ) {
    super();
    this.#store = new ModelStore(repository, logger);
    this.#importer = new ModelImporter(modelsDir, (progress) => this.emit('import-progress', progress));
    this.#revisions = new ModelRevisions(repository.revisions, modelsDir);
  }

  /** Reconciles the database with the disk. */
  refresh(): void {
    this.#revisions.load();
    this.#revisionRecords.clear();
    const found = new Map<string, ModelRecord>();
    for (const row of this.#store.rows()) {
      const result = existsSync(row.location)
        ? inspectModelFolder(row.location, row.id)
        : { reason: 'has no folder any more' };
      const record =
        'record' in result
          ? joinRecord(result.record, { ...row, status: 'ready' })
          : joinRecord(row.info, { ...row, status: 'missing' });
      if ('reason' in result && row.status === 'ready')
        this.logger.warn(
          { model: row.id, reason: result.reason },
          `${row.id} is missing: it ${result.reason}`,
        );
      this.#store.persist(record);
      found.set(row.id, record);
    }
    for (const [id, dir] of this.#folders()) {
      // A folder whose row cannot be read keeps that row (alias, tags, preset, source, checksums).
      if (found.has(id) || this.#store.unreadableError(id) !== null) continue;
      const result = inspectModelFolder(dir, id);
      if ('reason' in result) {
        this.logger.warn({ model: id, reason: result.reason }, `skipped models/${id}: it ${result.reason}`);
        continue;
      }
      const record = joinRecord(result.record, {
        source: { kind: 'folder' },
        status: 'ready',
        files: folderFiles(dir).map((file) => ({ ...file, sha256: null })),
        alias: null,
        tags: [],
        preset: {},
        addedAt: new Date().toISOString(),
        lastUsedAt: null,
      });
      this.#store.persist(record);
      found.set(id, record);
      this.logger.info({ model: id }, `added ${id}, found in the models folder`);
    }
    this.#store.replaceAll(found);
    for (const record of found.values()) this.#adopt(record);
    this.logger.info({ count: found.size }, 'model library reconciled');
    this.emit('changed', [...found.keys()]);
  }

  /**
   * Reconciles the database with the disk, as {@link refresh} does, and says what that changed. No
   * model is dropped by it: one whose files vanished is marked missing.
   */
  rescan(): LibraryChanges {
    const statuses = () => new Map(this.#store.entries().map((record) => [record.id, record.status]));
    const before = statuses();
    this.refresh();
    const after = statuses();
    const changes: LibraryChanges = { added: [], missing: [], restored: [] };
    for (const [id, status] of after) {
      const was = before.get(id);
      if (was === undefined) changes.added.push(id);
      else if (was === 'ready' && status === 'missing') changes.missing.push(id);
      else if (was === 'missing' && status === 'ready') changes.restored.push(id);
    }
    return changes;
  }

  /** The models that can run (present on disk). */
  list(): ModelRecord[] {
    return this.#store.list();
  }

  /** Every model the library knows, missing ones included. */
  entries(): ModelRecord[] {
    return this.#store.entries();
  }

  /** The models whose stored record this Lodge cannot read (a newer Lodge's, or hand-edited), with why. */
  unreadable(): { id: string; reason: string }[] {
    return this.#store.unreadable();
  }

  /** A model by its exact id, missing or not. */
  get(id: string): ModelRecord {
    return this.#store.get(id);
  }

  /**
   * Resolves a name a client gave: an id (`owner/name`), optionally with a variant tag
   * (`owner/name:q4`) or `:latest`, an alias, or a bare name (`name`) when only one owner has it.
   */
  resolve(requested: string): ResolvedModel {
    try {
      return resolveModel(this.#store.entries(), requested, (record, revision) =>
        this.#revisionRecord(record, revision),
      );
    } catch (error) {
      throw this.#store.unreadableError(requested.replace(/@.*$/, '').replace(/:[^/]*$/, '')) ?? error;
    }
  }

  /**
   * Imports a model folder or `.onnx` file from this machine: validated first (with the reason when
   * Lodge cannot run it), then copied into models/ or registered where it is, every file hashed.
   */
  async import(options: {
    path: string;
    mode: 'copy' | 'in-place';
    id?: string | undefined;
  }): Promise<ModelRecord> {
    const again = this.#reimportable(options);
    if (again !== null) {
      const imported = await this.#importer.importRevision(options, again.id, {
        exists: (revision) => this.#revisions.of(again.id).some((row) => row.revision === revision),
        folderFor: (revision) => this.#revisions.folderFor(again.id, revision),
        sharedFile: (file) => this.#revisions.sharedFile(again.id, file),
      });
      if (imported.info === null) return this.activate(again.id, imported.revision);
      return this.#installRevision(again.id, imported.dir, imported.source, imported.files, null);
    }
    const imported = await this.#importer.import(options, (id) => this.taken(id));
    return this.#register(imported.info, imported.source, imported.files, null);
  }

  /** Adds a model whose verified folder was just moved into models/ (a finished download). */
  register(
    dir: string,
    id: string,
    source: ModelSource,
    files: readonly IncomingFile[],
    committedAt: string | null = null,
  ): ModelRecord {
    return this.#register(this.#importer.inspectOrExplain(dir, id), source, files, committedAt);
  }

  /**
   * Adds a verified folder, already in its revision's place ({@link revisionFolder}), as a new
   * revision of the model `id`, and makes it the active one; the revisions it had stay.
   */
  addRevision(
    id: string,
    dir: string,
    source: ModelSource,
    files: readonly IncomingFile[],
    committedAt: string | null,
  ): ModelRecord {
    return this.#installRevision(id, dir, source, files, committedAt);
  }

  /** Where a new revision of `id` is put: `models/.revisions/<owner>/<name>/<revision>`. */
  revisionFolder(id: string, revision: string): string {
    return this.#revisions.folderFor(id, revision);
  }

  /** Whether the model `id` keeps `revision` (the whole revision). */
  hasRevision(id: string, revision: string): boolean {
    return this.#revisions.of(id).some((row) => row.revision === revision);
  }

  /** A file already in the library with the same bytes as `file`, for a new revision to link to. */
  sharedFile(id: string, file: FileIdentity): string | null {
    return this.#revisions.sharedFile(id, file);
  }

  /** A model's revisions, oldest first (none yet while its files are still being checksummed). */
  revisions(id: string): readonly RevisionRow[] {
    this.#store.get(id);
    return this.#revisions.of(id);
  }

  /** The bytes a model's revisions take on disk together: a file they share counts once. */
  revisionBytes(id: string): number {
    return uniqueBytes(
      this.revisions(id).flatMap((row) => row.files.map((file) => join(row.location, file.path))),
    );
  }

  /** The revision `requested` names (the whole revision or its first 7+ characters), or a 404. */
  findRevision(id: string, requested: string): RevisionRow {
    this.#store.get(id);
    return this.#revisions.find(id, requested);
  }

  /** Makes a kept revision the one the model's bare name runs; a loaded one goes stale ('activated'). */
  activate(id: string, requested: string): ModelRecord {
    const row = this.findRevision(id, requested);
    const current = this.#store.get(id);
    if (row.active) return current;
    const info = this.#importer.inspectOrExplain(row.location, id);
    const next = joinRecord(info, {
      ...current,
      status: 'ready',
      source: row.source,
      files: row.files.map(modelFile),
      preset: presetFor(current.preset, info),
    });
    this.#store.save(next);
    this.#revisions.activate(id, row.revision);
    this.#revisionRecords.clear();
    this.logger.info(
      { model: id, revision: row.revision },
      `${id} now runs revision ${shortRevision(row.revision)}`,
    );
    this.emit('activated', id);
    return this.#added(next);
  }

  /** Pins a revision (no cleanup deletes it) or unpins it. */
  pin(id: string, requested: string, pinned: boolean): RevisionRow {
    const row = this.findRevision(id, requested);
    this.#revisions.pin(id, row.revision, pinned);
    this.emit('changed', [id]);
    return { ...row, pinned };
  }

  /**
   * Deletes one revision and its folder (bytes other revisions link to stay theirs). The active
   * revision is refused: activate another first, or delete the model. A pinned one is refused
   * until it is unpinned. Unloading a loaded one first is the caller's.
   */
  removeRevision(id: string, requested: string): RevisionRow {
    const row = this.findRevision(id, requested);
    const short = shortRevision(row.revision);
    if (row.active)
      throw new LodgeError(
        'conflict',
        `Revision ${short} is the one ${id} runs; activate another revision first, or delete the model.`,
        { param: 'revision' },
      );
    if (row.pinned)
      throw new LodgeError('conflict', `Revision ${short} of ${id} is pinned; unpin it first.`, {
        param: 'revision',
      });
    this.#removeFolder(row);
    this.#revisions.delete(id, row.revision);
    this.#revisionRecords.clear();
    this.logger.info({ model: id, revision: row.revision }, `deleted revision ${short} of ${id}`);
    this.emit('changed', [id]);
    return row;
  }

  /** The cleanup: deletes every revision of `id` that is neither active nor pinned. */
  prune(id: string): RevisionRow[] {
    const doomed = this.revisions(id).filter((row) => !row.active && !row.pinned);
    for (const row of doomed) this.removeRevision(id, row.revision);
    return doomed;
  }

  /** Changes a model's alias, tags or preset. */
  update(
    id: string,
    patch: {
      alias?: string | null | undefined;
      tags?: readonly string[] | undefined;
      preset?: ModelPreset | undefined;
    },
  ): ModelRecord {
    return this.#added(this.#store.update(id, patch));
  }

  /** Records that a model was just used. */
  touch(id: string): void {
    this.#store.touch(id);
  }

  /**
   * Deletes a model. Files go only when they lie inside models/ (reached without leaving it through a
   * symlink); a model registered in place loses its row, and its files stay where the user keeps them.
   */
  remove(id: string): { filesRemoved: boolean } {
    const record = this.#store.get(id);
    const inPlace = record.source.kind === 'import' && record.source.inPlace;
    let filesRemoved = false;
    if (!inPlace && existsSync(record.dir)) {
      const dir = this.#importer.inside(record.dir);
      rmSync(dir, { recursive: true, force: true });
      const ownerDir = dirname(dir);
      if (ownerDir !== realpathSync(this.modelsDir) && readdirSync(ownerDir).length === 0)
        rmSync(ownerDir, { recursive: true, force: true });
      filesRemoved = true;
    }
    for (const row of this.#revisions.of(id)) if (row.location !== record.dir) this.#removeFolder(row);
    this.#revisions.deleteModel(id);
    this.#revisionRecords.clear();
    this.#store.delete(id);
    this.emit('changed', [id]);
    return { filesRemoved };
  }

  /**
   * Whether a new model may not take `id`: one exists by that id in any letter case (on macOS and
   * Windows both would be one folder, and deleting one would delete the other), readable or not.
   */
  taken(id: string): boolean {
    const wanted = id.toLowerCase();
    return (
      this.#store.entries().some((model) => model.id.toLowerCase() === wanted) ||
      this.#store.unreadable().some((row) => row.id.toLowerCase() === wanted)
    );
  }

  /** Copies a model's folder to a new id (Ollama's copy). */
  copy(sourceId: string, destination: string): string {
    const source = this.resolve(sourceId).record;
    const id = validModelId(destination);
    if (this.taken(id))
      throw new LodgeError('conflict', `A model named ${id} already exists.`, { param: 'destination' });
    const info = this.#importer.copy(source.dir, id);
    const copied = this.#store.add(info, { kind: 'folder' }, source.files, {
      preset: source.preset,
      tags: source.tags,
    });
    this.#adopt(copied);
    this.#added(copied);
    return id;
  }

  /** Computes the checksums still missing (models found in the folder), in the background. */
  async hashMissing(signal: AbortSignal): Promise<void> {
    for (const record of this.list()) {
      if (signal.aborted) return;
      if (record.files.every((file) => file.sha256 !== null)) continue;
      try {
        const files = await this.#importer.hashFiles(record.id, record.dir, record.files, undefined, signal);
        if (signal.aborted) return;
        const current = this.#store.find(record.id);
        if (!current) continue;
        this.#store.save({ ...current, files });
        this.#adopt({ ...current, files });
      } catch (error) {
        if (signal.aborted) return;
        this.logger.warn({ model: record.id, err: error }, `could not checksum ${record.id}`);
      }
    }
  }

  /** What the models folder and the cache take, and what the disk has left. */
  diskUsage(cacheDir: string): {
    modelsBytes: number;
    cacheBytes: number;
    freeBytes: number;
    totalBytes: number;
  } {
    // Revisions share files by hard links: each file's bytes count once.
    const size = (dir: string) =>
      existsSync(dir) ? uniqueBytes(folderFiles(dir).map((file) => join(dir, file.path))) : 0;
    const stats = statfsSync(this.modelsDir);
    return {
      modelsBytes: size(this.modelsDir),
      cacheBytes: size(cacheDir),
      freeBytes: stats.bavail * stats.bsize,
      totalBytes: stats.blocks * stats.bsize,
    };
  }

  /** Adds a new model with its first revision. */
  #register(
    info: FolderInfo,
    source: ModelSource,
    files: readonly IncomingFile[],
    committedAt: string | null,
  ): ModelRecord {
    const record = this.#store.add(info, source, files.map(modelFile));
    this.#adopt(record, files, committedAt);
    return this.#added(record);
  }

  /** Records a verified folder as the new active revision of the existing model `id`. */
  #installRevision(
    id: string,
    dir: string,
    source: ModelSource,
    files: readonly IncomingFile[],
    committedAt: string | null,
  ): ModelRecord {
    const revision = revisionOf(source, files);
    if (revision === null) throw new Error(`a new revision of ${id} came without its checksums`);
    // Refused before it is recorded: a folder Lodge cannot run never becomes a revision.
    this.#importer.inspectOrExplain(dir, id);
    const previous = this.#revisions.active(id);
    this.#revisions.save({
      modelId: id,
      revision,
      location: dir,
      source,
      files: files.map(revisionFile),
      bytes: files.reduce((sum, file) => sum + file.bytes, 0),
      pinned: false,
      active: false,
      addedAt: new Date().toISOString(),
      committedAt,
    });
    const record = this.activate(id, revision);
    this.logger.info(
      { model: id, revision },
      `new revision ${shortRevision(revision)} of ${id} kept beside ${previous ? shortRevision(previous.revision) : 'nothing'}`,
    );
    return record;
  }

  /**
   * Gives a model that has no revision yet its first: its current files, as its hub commit or
   * their content hash (none while a checksum is still unknown; {@link hashMissing} comes back).
   * This is how a library from before revisions, and a folder dropped into models/, get theirs.
   */
  #adopt(
    record: ModelRecord,
    files: readonly IncomingFile[] = record.files,
    committedAt: string | null = null,
  ): void {
    const kept = this.#revisions.of(record.id);
    if (kept.length > 0) {
      // The model's folder is the active revision's; a switch cut off between its two writes is finished here.
      const current = kept.find((row) => row.location === record.dir);
      if (current !== undefined && !current.active) this.#revisions.activate(record.id, current.revision);
      return;
    }
    const revision = revisionOf(record.source, files);
    if (revision === null) return;
    this.#revisions.save({
      modelId: record.id,
      revision,
      location: record.dir,
      source: record.source,
      files: files.map(revisionFile),
      bytes: files.reduce((sum, file) => sum + file.bytes, 0),
      pinned: false,
      active: true,
      addedAt: record.addedAt,
      committedAt,
    });
  }

  /** A record that runs a kept revision: the active one's record, else one built from its folder. */
  #revisionRecord(record: ModelRecord, requested: string): ModelRecord {
    const row = this.#revisions.find(record.id, requested);
    if (row.active) return record;
    const id = revisionRecordId(record.id, row.revision);
    const made = this.#revisionRecords.get(id) ?? revisionRecord(record, row);
    this.#revisionRecords.set(id, made);
    return made;
  }

  /** Deletes a revision's folder when it lies inside models/ (never a folder registered in place). */
  #removeFolder(row: RevisionRow): void {
    if ((row.source.kind === 'import' && row.source.inPlace) || !existsSync(row.location)) return;
    const dir = this.#importer.inside(row.location);
    rmSync(dir, { recursive: true, force: true });
    // Folders it leaves empty go with it, up to models/ itself (models/.revisions/<owner>/<name>, models/<owner>).
    const root = realpathSync(this.modelsDir);
    for (let parent = dirname(dir); parent !== root && parent.startsWith(root); parent = dirname(parent)) {
      if (!existsSync(parent) || readdirSync(parent).length > 0) break;
      rmSync(parent, { recursive: true, force: true });
    }
  }

  /** The model the import would add a revision to: `id` taken by a model that was imported as a copy. */
  #reimportable(options: {
    path: string;
    mode: 'copy' | 'in-place';
    id?: string | undefined;
  }): ModelRecord | null {
    if (options.mode !== 'copy') return null;
    let id: string;
    try {
      id = validModelId(
        options.id ?? basename(options.path.replace(/\/+$/, '')).replace(/\.onnx$/, ''),
        'id',
      );
    } catch {
      return null;
    }
    const existing = this.#store.find(id);
    return existing?.source.kind === 'import' && !existing.source.inPlace ? existing : null;
  }

  #added(record: ModelRecord): ModelRecord {
    this.emit('changed', [record.id]);
    return record;
  }

  /** The `owner/name` folders of models/; a symlink there could lead anywhere, so none is taken. */
  #folders(): Map<string, string> {
    const folders = new Map<string, string>();
    if (!existsSync(this.modelsDir)) return folders;
    for (const owner of readdirSync(this.modelsDir).sort()) {
      const ownerDir = join(this.modelsDir, owner);
      if (owner.startsWith('.') || !lstatSync(ownerDir).isDirectory()) continue;
      for (const name of readdirSync(ownerDir).sort()) {
        const dir = join(ownerDir, name);
        if (name.startsWith('.')) continue;
        if (lstatSync(dir).isDirectory()) folders.set(`${owner}/${name}`, dir);
        else if (lstatSync(dir).isSymbolicLink())
          this.logger.warn({ model: `${owner}/${name}` }, `skipped models/${owner}/${name}: it is a symlink`);
      }
    }
    return folders;
  }
}
