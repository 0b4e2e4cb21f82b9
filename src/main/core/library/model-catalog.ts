import { EventEmitter } from 'node:events';
import { existsSync, lstatSync, readdirSync, realpathSync, rmSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ModelFile, ModelPreset, ModelSource } from '../../../shared/contract/library';
import type { ModelRepository } from '../db/model-repository';
import { LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import { folderFiles, inspectModelFolder } from './model-folder';
import { validModelId } from './model-id';
import { ModelImporter, type ImportProgress } from './model-importer';
import type { ModelRecord } from './model-record';
import { resolveModel, type ResolvedModel } from './model-resolver';
import { joinRecord, ModelStore } from './model-store';

/** What the library tells listeners. */
export interface LibraryEvents {
  /** Models were added, removed, changed or went missing. */
  changed: [ids: string[]];
  /** Bytes hashed (and copied) so far for an import. */
  'import-progress': [progress: ImportProgress];
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

  constructor(
    private readonly modelsDir: string,
    repository: ModelRepository,
    private readonly logger: Logger,
  ) {
    super();
    this.#store = new ModelStore(repository, logger);
    this.#importer = new ModelImporter(modelsDir, (progress) => this.emit('import-progress', progress));
  }

  /** Reconciles the database with the disk. */
  refresh(): void {
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
      return resolveModel(this.#store.entries(), requested);
    } catch (error) {
      throw this.#store.unreadableError(requested.replace(/:[^/]*$/, '')) ?? error;
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
    const imported = await this.#importer.import(options, (id) => this.taken(id));
    return this.#added(this.#store.add(imported.info, imported.source, imported.files));
  }

  /** Adds a model whose verified folder was just moved into models/ (a finished download). */
  register(dir: string, id: string, source: ModelSource, files: readonly ModelFile[]): ModelRecord {
    return this.#added(this.#store.add(this.#importer.inspectOrExplain(dir, id), source, files));
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
    this.#added(
      this.#store.add(info, { kind: 'folder' }, source.files, { preset: source.preset, tags: source.tags }),
    );
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
    const size = (dir: string) =>
      existsSync(dir) ? folderFiles(dir).reduce((sum, file) => sum + file.bytes, 0) : 0;
    const stats = statfsSync(this.modelsDir);
    return {
      modelsBytes: size(this.modelsDir),
      cacheBytes: size(cacheDir),
      freeBytes: stats.bavail * stats.bsize,
      totalBytes: stats.blocks * stats.bsize,
    };
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
