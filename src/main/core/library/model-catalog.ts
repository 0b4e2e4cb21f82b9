import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ModelFile, ModelPreset, ModelSource } from '../../../shared/contract/library';
import type { KeptModelState, ModelRepository } from '../db/model-repository';
import { LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import {
  folderFiles,
  inspectModelFolder,
  VARIANTS,
  type FolderInfo,
  type ModelRecord,
  type ModelVariant,
  type VariantName,
} from './model-folder';

/** A model asked for by name, with the variant the name pinned (`owner/name:q4`), if any. */
export interface ResolvedModel {
  readonly record: ModelRecord;
  readonly variant: VariantName | null;
}

/** What the library tells listeners. */
export interface LibraryEvents {
  /** Models were added, removed, changed or went missing. */
  changed: [ids: string[]];
  /** Bytes hashed (and copied) so far for an import. */
  'import-progress': [progress: { id: string; doneBytes: number; totalBytes: number }];
}

/** Variant preference on CPU: int8/int4 first (fast, small), fp16 last (x86 CPUs lack fp16 kernels). */
const CPU_ORDER: readonly VariantName[] = [
  'q4',
  'quantized',
  'int8',
  'uint8',
  'q8',
  'fp32',
  'bnb4',
  'fp16',
  'q4f16',
  'bf16',
];

/** A model id a client may create: `owner/name`, letters, digits, `.`, `_`, `-`; no `..`. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Checks an id given by a client before any path is built from it (Ollama's CVE-2024-37032 lesson). */
export function validModelId(name: string, param = 'destination'): string {
  const id = (name.includes('/') ? name : `local/${name}`).replace(/:latest$/, '');
  if (
    !ID_PATTERN.test(id) ||
    id.split('/').some((part) => part === '.' || part === '..' || part.includes('..'))
  ) {
    throw new LodgeError(
      'invalid_request',
      `"${name}" is not a valid model name: use owner/name with letters, digits, ".", "_" and "-".`,
      { param },
    );
  }
  return id;
}

/** The variant to load: the one asked for, else the preset's, else the best for the CPU. */
export function chooseVariant(record: ModelRecord, wanted: VariantName | null): ModelVariant {
  const pick = (name: string | undefined) => record.variants.find((variant) => variant.name === name);
  const chosen = pick(wanted ?? undefined) ?? pick(record.preset.variant);
  if (chosen) return chosen;
  for (const name of CPU_ORDER) {
    const variant = pick(name);
    if (variant) return variant;
  }
  return record.variants[0] as ModelVariant;
}

/** The SHA-256 of a file, streamed; `onBytes` hears of each chunk. */
export async function sha256File(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/**
 * The model library: SQLite rows (source, checksums, alias, tags, preset, times) joined with what
 * each folder holds on disk. `models/<owner>/<name>/` is the model `owner/name` (DESIGN.md);
 * folders registered in place live wherever the user keeps them. At startup and on refresh it
 * reconciles the two: folders dropped in by hand are added, models whose files vanished are
 * marked missing, never silently dropped.
 */
export class ModelCatalog extends EventEmitter<LibraryEvents> {
  #models = new Map<string, ModelRecord>();

  constructor(
    private readonly modelsDir: string,
    private readonly repository: ModelRepository,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Reconciles the database with the disk. */
  refresh(): void {
    const rows = new Map(this.repository.all().map((row) => [row.id, row]));
    const found = new Map<string, ModelRecord>();
    for (const row of rows.values()) {
      const result = existsSync(row.location)
        ? inspectModelFolder(row.location, row.id)
        : { reason: 'has no folder any more' };
      const record =
        'record' in result
          ? this.#combine(result.record, { ...row, status: 'ready' })
          : this.#combine(row.info as FolderInfo, { ...row, status: 'missing' });
      if ('reason' in result && row.status === 'ready')
        this.logger.warn(
          { model: row.id, reason: result.reason },
          `${row.id} is missing: it ${result.reason}`,
        );
      this.#persist(record);
      found.set(row.id, record);
    }
    for (const [id, dir] of this.#folders()) {
      if (found.has(id)) continue;
      const result = inspectModelFolder(dir, id);
      if ('reason' in result) {
        this.logger.warn({ model: id, reason: result.reason }, `skipped models/${id}: it ${result.reason}`);
        continue;
      }
      const record = this.#combine(result.record, {
        source: { kind: 'folder' },
        status: 'ready',
        files: folderFiles(dir).map((file) => ({ ...file, sha256: null })),
        alias: null,
        tags: [],
        preset: {},
        addedAt: new Date().toISOString(),
        lastUsedAt: null,
      });
      this.#persist(record);
      found.set(id, record);
      this.logger.info({ model: id }, `added ${id}, found in the models folder`);
    }
    this.#models = found;
    this.logger.info({ count: found.size }, 'model library reconciled');
    this.emit('changed', [...found.keys()]);
  }

  /** The models that can run (present on disk). */
  list(): ModelRecord[] {
    return [...this.#models.values()].filter((model) => model.status === 'ready');
  }

  /** Every model the library knows, missing ones included. */
  entries(): ModelRecord[] {
    return [...this.#models.values()];
  }

  /** A model by its exact id, missing or not. */
  get(id: string): ModelRecord {
    const record = this.#models.get(id);
    if (!record)
      throw new LodgeError('model_not_found', `The model '${id}' does not exist.`, { param: 'model' });
    return record;
  }

  /**
   * Resolves a name a client gave: an id (`owner/name`), optionally with a variant tag
   * (`owner/name:q4`) or `:latest`, an alias, or a bare name (`name`) when only one owner has it.
   */
  resolve(requested: string): ResolvedModel {
    const name = requested.trim();
    const colon = name.lastIndexOf(':');
    const base = colon > 0 ? name.slice(0, colon) : name;
    const tag = colon > 0 ? name.slice(colon + 1).toLowerCase() : null;
    const ready = this.list();
    let record = ready.find((model) => model.id === base) ?? ready.find((model) => model.alias === base);
    if (!record && !base.includes('/')) {
      const matches = ready.filter((model) => model.id.split('/')[1]?.toLowerCase() === base.toLowerCase());
      if (matches.length === 1) record = matches[0];
    }
    if (!record) {
      const missing = this.#models.get(base);
      if (missing) {
        throw new LodgeError(
          'model_not_found',
          `The files of '${base}' are missing from ${missing.dir}. Restore them, or delete the model.`,
          { param: 'model' },
        );
      }
      const available = ready.map((model) => model.id);
      throw new LodgeError(
        'model_not_found',
        `The model '${requested}' does not exist. ${available.length > 0 ? `Available: ${available.join(', ')}.` : 'No models are installed yet.'}`,
        { param: 'model' },
      );
    }
    if (tag === null || tag === 'latest') return { record, variant: null };
    if (
      !(VARIANTS as readonly string[]).includes(tag) ||
      !record.variants.some((variant) => variant.name === tag)
    ) {
      throw new LodgeError(
        'model_not_found',
        `${record.id} has no variant '${tag}'. Its variants: ${record.variants.map((variant) => variant.name).join(', ')}.`,
        {
          param: 'model',
        },
      );
    }
    return { record, variant: tag as VariantName };
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
    if (!isAbsolute(options.path))
      throw new LodgeError('invalid_request', 'The path to import must be absolute.', { param: 'path' });
    const source = resolve(options.path);
    if (!existsSync(source))
      throw new LodgeError('invalid_request', `Nothing exists at ${source}.`, { param: 'path' });
    const single = statSync(source).isFile();
    if (single && !source.endsWith('.onnx'))
      throw new LodgeError('invalid_request', 'A single file to import must be an .onnx model.', {
        param: 'path',
      });
    const id = validModelId(options.id ?? basename(source).replace(/\.onnx$/, ''), 'id');
    if (this.#models.has(id))
      throw new LodgeError('conflict', `A model named ${id} already exists; choose another id.`, {
        param: 'id',
      });

    const folder = single ? dirname(source) : source;
    if (options.mode === 'in-place') {
      if (single && readdirSync(folder).filter((name) => name.endsWith('.onnx')).length !== 1) {
        throw new LodgeError(
          'invalid_request',
          `${folder} holds other .onnx files; import this file as a copy instead.`,
          { param: 'mode' },
        );
      }
      const inspected = this.#inspectOrExplain(folder, id);
      const files = await this.#hashFiles(id, folder, folderFiles(folder));
      return this.#add(inspected, { kind: 'import', path: source, inPlace: true }, files);
    }

    // Copy: validate the source first, copy into a hidden folder beside the target, then rename.
    if (!single) this.#inspectOrExplain(source, id);
    const target = join(this.modelsDir, ...id.split('/'));
    if (existsSync(target))
      throw new LodgeError('conflict', `models/${id} already exists on disk.`, { param: 'id' });
    const staging = join(this.modelsDir, `.importing-${id.replace('/', '--')}-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    try {
      const list = single ? [{ path: basename(source), bytes: statSync(source).size }] : folderFiles(source);
      const files = await this.#hashFiles(id, single ? folder : source, list, staging);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(staging, target);
      return this.#add(
        this.#inspectOrExplain(target, id),
        { kind: 'import', path: source, inPlace: false },
        files,
      );
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new LodgeError(
          'unavailable',
          'The disk is full: the import was undone. Free some space and try again.',
        );
      }
      throw error;
    }
  }

  /** Adds a model whose verified folder was just moved into models/ (a finished download). */
  register(dir: string, id: string, source: ModelSource, files: readonly ModelFile[]): ModelRecord {
    return this.#add(this.#inspectOrExplain(dir, id), source, files);
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
    const record = this.get(id);
    if (
      patch.alias &&
      [...this.#models.values()].some(
        (model) => model.id !== id && (model.alias === patch.alias || model.id === patch.alias),
      )
    ) {
      throw new LodgeError('conflict', `The alias ${patch.alias} is already taken.`, { param: 'alias' });
    }
    if (patch.preset?.variant && !record.variants.some((variant) => variant.name === patch.preset?.variant)) {
      throw new LodgeError('invalid_request', `${id} has no variant ${patch.preset.variant}.`, {
        param: 'preset.variant',
      });
    }
    const next = this.#combine(record, {
      ...record,
      ...(patch.alias !== undefined ? { alias: patch.alias } : {}),
      ...(patch.tags !== undefined ? { tags: [...patch.tags] } : {}),
      ...(patch.preset !== undefined ? { preset: patch.preset } : {}),
    });
    this.#persist(next);
    this.#models.set(id, next);
    this.emit('changed', [id]);
    return next;
  }

  /** Records that a model was just used. */
  touch(id: string): void {
    const at = new Date().toISOString();
    this.repository.touch(id, at);
    const record = this.#models.get(id);
    if (record) this.#models.set(id, { ...record, lastUsedAt: at });
  }

  /**
   * Deletes a model. Files go only when they lie inside models/ (reached without leaving it through a
   * symlink); a model registered in place loses its row, and its files stay where the user keeps them.
   */
  remove(id: string): { filesRemoved: boolean } {
    const record = this.get(id);
    const inPlace = record.source.kind === 'import' && record.source.inPlace;
    let filesRemoved = false;
    if (!inPlace && existsSync(record.dir)) {
      const dir = this.#inside(record.dir);
      rmSync(dir, { recursive: true, force: true });
      const ownerDir = dirname(dir);
      if (ownerDir !== realpathSync(this.modelsDir) && readdirSync(ownerDir).length === 0)
        rmSync(ownerDir, { recursive: true, force: true });
      filesRemoved = true;
    }
    this.repository.delete(id);
    this.#models.delete(id);
    this.emit('changed', [id]);
    return { filesRemoved };
  }

  /** Copies a model's folder to a new id (Ollama's copy). */
  copy(sourceId: string, destination: string): string {
    const source = this.resolve(sourceId).record;
    const id = validModelId(destination);
    if (this.#models.has(id))
      throw new LodgeError('conflict', `A model named ${id} already exists.`, { param: 'destination' });
    const target = join(this.modelsDir, ...id.split('/'));
    if (existsSync(target))
      throw new LodgeError('conflict', `models/${id} already exists on disk.`, { param: 'destination' });
    this.#copyTree(source.dir, target);
    const inspected = this.#inspectOrExplain(target, id);
    this.#add(inspected, { kind: 'folder' }, source.files, { preset: source.preset, tags: source.tags });
    return id;
  }

  /** Computes the checksums still missing (models found in the folder), in the background. */
  async hashMissing(signal: AbortSignal): Promise<void> {
    for (const record of this.list()) {
      if (signal.aborted) return;
      if (record.files.every((file) => file.sha256 !== null)) continue;
      try {
        const files = await this.#hashFiles(record.id, record.dir, record.files, undefined, signal);
        if (signal.aborted) return;
        const current = this.#models.get(record.id);
        if (!current) continue;
        const next = { ...current, files };
        this.#persist(next);
        this.#models.set(record.id, next);
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

  #folders(): Map<string, string> {
    const folders = new Map<string, string>();
    if (!existsSync(this.modelsDir)) return folders;
    for (const owner of readdirSync(this.modelsDir).sort()) {
      const ownerDir = join(this.modelsDir, owner);
      if (owner.startsWith('.') || !statSync(ownerDir).isDirectory()) continue;
      for (const name of readdirSync(ownerDir).sort()) {
        const dir = join(ownerDir, name);
        if (!name.startsWith('.') && statSync(dir).isDirectory()) folders.set(`${owner}/${name}`, dir);
      }
    }
    return folders;
  }

  #inspectOrExplain(dir: string, id: string): FolderInfo {
    const result = inspectModelFolder(dir, id);
    if ('reason' in result)
      throw new LodgeError('invalid_request', `Lodge cannot run this: the folder ${result.reason}.`, {
        param: 'path',
      });
    return result.record;
  }

  /** Hashes `files` under `from` (copying each to `to` as it goes, when given), reporting progress. */
  async #hashFiles(
    id: string,
    from: string,
    files: readonly { path: string; bytes: number }[],
    to?: string,
    signal?: AbortSignal,
  ): Promise<ModelFile[]> {
    const totalBytes = files.reduce((sum, file) => sum + file.bytes, 0);
    let doneBytes = 0;
    let reported = 0;
    const hashed: ModelFile[] = [];
    for (const file of files) {
      if (signal?.aborted) throw new LodgeError('cancelled', 'Checksumming was stopped.');
      const source = join(from, file.path);
      const sha256 = await sha256File(source, (bytes) => {
        doneBytes += bytes;
        if (doneBytes - reported >= 8 * 1024 * 1024 || doneBytes === totalBytes) {
          reported = doneBytes;
          this.emit('import-progress', { id, doneBytes, totalBytes });
        }
      });
      if (to !== undefined) {
        mkdirSync(dirname(join(to, file.path)), { recursive: true });
        await copyFile(source, join(to, file.path));
      }
      hashed.push({ path: file.path, bytes: file.bytes, sha256 });
    }
    return hashed;
  }

  #add(
    info: FolderInfo,
    source: ModelSource,
    files: readonly ModelFile[],
    extra: { preset?: ModelPreset; tags?: readonly string[] } = {},
  ): ModelRecord {
    const record = this.#combine(info, {
      source,
      status: 'ready',
      files,
      alias: null,
      tags: extra.tags ?? [],
      preset: extra.preset ?? {},
      addedAt: new Date().toISOString(),
      lastUsedAt: null,
    });
    this.#persist(record);
    this.#models.set(record.id, record);
    this.emit('changed', [record.id]);
    return record;
  }

  /** A record from what the folder holds and what the library keeps; the preset folds into the sampling defaults. */
  #combine(info: FolderInfo, kept: Omit<KeptModelState, 'parameterCount'>): ModelRecord {
    const { temperature, topP, topK, minP, repetitionPenalty } = kept.preset;
    const fromPreset = Object.fromEntries(
      Object.entries({ temperature, topP, topK, minP, repetitionPenalty }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    const folder: FolderInfo = {
      id: info.id,
      dir: info.dir,
      format: info.format,
      task: info.task,
      architecture: info.architecture,
      variants: info.variants,
      contextLength: info.contextLength,
      hasChatTemplate: info.hasChatTemplate,
      generationDefaults: info.generationDefaults,
      chatTemplate: info.chatTemplate,
      modifiedAt: info.modifiedAt,
      signature: info.signature,
    };
    return {
      ...folder,
      samplingDefaults: { ...info.generationDefaults, ...fromPreset },
      source: kept.source,
      status: kept.status,
      parameterCount: info.signature?.parameterCount ?? null,
      files: kept.files,
      alias: kept.alias,
      tags: kept.tags,
      preset: kept.preset,
      addedAt: kept.addedAt,
      lastUsedAt: kept.lastUsedAt,
    };
  }

  #persist(record: ModelRecord): void {
    const {
      source,
      status,
      parameterCount,
      files,
      alias,
      tags,
      preset,
      addedAt,
      lastUsedAt,
      samplingDefaults: _merged,
      ...info
    } = record;
    this.repository.save({
      id: record.id,
      location: record.dir,
      source,
      status,
      info,
      parameterCount,
      files,
      alias,
      tags,
      preset,
      addedAt,
      lastUsedAt,
    });
  }

  /** Copies the regular files of a folder inside models/, file by file: no symlink is followed out. */
  #copyTree(from: string, to: string): void {
    this.#inside(from);
    for (const file of folderFiles(from)) {
      const target = join(to, file.path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(from, file.path), target);
    }
  }

  /** `path` if it lies inside the models directory (symlinks resolved), else an error. */
  #inside(path: string): string {
    const root = realpathSync(this.modelsDir);
    const real = realpathSync(path);
    const rel = relative(root, real);
    if (
      rel === '' ||
      rel.startsWith(`..${sep}`) ||
      rel === '..' ||
      isAbsolute(rel) ||
      lstatSync(path).isSymbolicLink()
    ) {
      throw new LodgeError(
        'forbidden',
        'That model lies outside the models folder; Lodge will not touch it.',
      );
    }
    return real;
  }
}
