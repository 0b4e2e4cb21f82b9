import type { ModelFile, ModelPreset, ModelSource } from '../../../shared/contract/library';
import type { ModelRepository, ModelRow } from '../db/model-repository';
import { LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import type { FolderInfo, KeptModelState, ModelRecord } from './model-record';

/**
 * A record from what the folder holds and what the library keeps; the preset folds into the
 * sampling defaults.
 */
export function joinRecord(info: FolderInfo, kept: Omit<KeptModelState, 'parameterCount'>): ModelRecord {
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

/** The row the `models` table keeps for a record. */
function rowOf(record: ModelRecord): ModelRow {
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
  return {
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
  };
}

/**
 * The library's records in memory, written through to the `models` table: lookups, additions,
 * the user's changes (alias, tags, preset) with their rules, and deletions. What is on disk is the
 * catalog's and the importer's business, not the store's.
 */
export class ModelStore {
  #models = new Map<string, ModelRecord>();
  /** Ids whose stored row does not read back (newer Lodge, hand-edited), with why: never overwritten. */
  #unreadable = new Map<string, string>();

  constructor(
    private readonly repository: ModelRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * The rows the table holds. A row that does not read back valid is logged, left out, and kept
   * as unreadable: nothing may write that id until a Lodge that reads it does.
   */
  rows(): ModelRow[] {
    const { rows, invalid } = this.repository.load();
    this.#unreadable = new Map(invalid.map(({ id, reason }) => [id, reason]));
    for (const { id, reason } of invalid)
      this.logger.warn({ model: id, reason }, `left the stored row of ${id} untouched: ${reason}`);
    return rows;
  }

  /** The models whose stored row this Lodge cannot read, with why. */
  unreadable(): { id: string; reason: string }[] {
    return [...this.#unreadable].map(([id, reason]) => ({ id, reason }));
  }

  /** The error for an id whose row cannot be read, or null when it can (or does not exist). */
  unreadableError(id: string): LodgeError | null {
    const reason = this.#unreadable.get(id);
    if (reason === undefined) return null;
    return new LodgeError(
      'conflict',
      `The library's record of ${id} cannot be read by this Lodge: ${reason}. Lodge left it and its folder untouched; update Lodge to use it.`,
      { param: 'model' },
    );
  }

  /** Replaces every record at once (after a reconcile with the disk). */
  replaceAll(records: ReadonlyMap<string, ModelRecord>): void {
    this.#models = new Map(records);
  }

  /** The models that can run (present on disk). */
  list(): ModelRecord[] {
    return [...this.#models.values()].filter((model) => model.status === 'ready');
  }

  /** Every model the store knows, missing ones included. */
  entries(): ModelRecord[] {
    return [...this.#models.values()];
  }

  /** A model by its exact id, if the store has it. */
  find(id: string): ModelRecord | undefined {
    return this.#models.get(id);
  }

  /** A model by its exact id, missing or not. */
  get(id: string): ModelRecord {
    const record = this.#models.get(id);
    const unreadable = record ? null : this.unreadableError(id);
    if (unreadable) throw unreadable;
    if (!record)
      throw new LodgeError('model_not_found', `The model '${id}' does not exist.`, { param: 'model' });
    return record;
  }

  /** Writes a record to the table and keeps it; a row this Lodge cannot read is never replaced. */
  save(record: ModelRecord): void {
    const unreadable = this.unreadableError(record.id);
    if (unreadable) throw unreadable;
    this.repository.save(rowOf(record));
    this.#models.set(record.id, record);
  }

  /** Writes a record to the table only (a reconcile keeps its own map until it is done). */
  persist(record: ModelRecord): void {
    const unreadable = this.unreadableError(record.id);
    if (unreadable) throw unreadable;
    this.repository.save(rowOf(record));
  }

  /** Adds a model that is ready now, with nothing kept about it yet but `extra`. */
  add(
    info: FolderInfo,
    source: ModelSource,
    files: readonly ModelFile[],
    extra: { preset?: ModelPreset; tags?: readonly string[] } = {},
  ): ModelRecord {
    const record = joinRecord(info, {
      source,
      status: 'ready',
      files,
      alias: null,
      tags: extra.tags ?? [],
      preset: extra.preset ?? {},
      addedAt: new Date().toISOString(),
      lastUsedAt: null,
    });
    this.save(record);
    return record;
  }

  /** Changes a model's alias, tags or preset: an alias must be free, a preset's variant must exist. */
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
    const next = joinRecord(record, {
      ...record,
      ...(patch.alias !== undefined ? { alias: patch.alias } : {}),
      ...(patch.tags !== undefined ? { tags: [...patch.tags] } : {}),
      ...(patch.preset !== undefined ? { preset: patch.preset } : {}),
    });
    this.save(next);
    return next;
  }

  /** Records that a model was just used (a revision's use, `owner/name@abc…`, counts for its model). */
  touch(requested: string): void {
    const id = requested.split('@')[0] ?? requested;
    const at = new Date().toISOString();
    this.repository.touch(id, at);
    const record = this.#models.get(id);
    if (record) this.#models.set(id, { ...record, lastUsedAt: at });
  }

  /** Forgets a model (its row and its record; its files are the caller's). */
  delete(id: string): void {
    this.repository.delete(id);
    this.#models.delete(id);
  }
}
