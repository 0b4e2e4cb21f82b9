import { cpSync, existsSync, lstatSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import {
  inspectModelFolder,
  VARIANTS,
  type ModelRecord,
  type ModelVariant,
  type VariantName,
} from './model-folder';

/** A model asked for by name, with the variant the name pinned (`owner/name:q4`), if any. */
export interface ResolvedModel {
  readonly record: ModelRecord;
  readonly variant: VariantName | null;
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
];

/**
 * The models under `models/`, found by DESIGN.md's rule: `models/<owner>/<name>/` is the model
 * `owner/name`. Folders that are not models are reported with the reason, never guessed at.
 */
export class ModelCatalog {
  #models = new Map<string, ModelRecord>();

  constructor(
    private readonly modelsDir: string,
    private readonly logger: Logger,
  ) {}

  /** Rescans the models folder. */
  refresh(): void {
    const found = new Map<string, ModelRecord>();
    if (existsSync(this.modelsDir)) {
      for (const owner of readdirSync(this.modelsDir).sort()) {
        const ownerDir = join(this.modelsDir, owner);
        if (owner.startsWith('.') || !statSync(ownerDir).isDirectory()) continue;
        for (const name of readdirSync(ownerDir).sort()) {
          const dir = join(ownerDir, name);
          if (name.startsWith('.') || !statSync(dir).isDirectory()) continue;
          const id = `${owner}/${name}`;
          const result = inspectModelFolder(dir, id);
          if ('record' in result) found.set(id, result.record);
          else
            this.logger.warn(
              { model: id, reason: result.reason },
              `skipped models/${id}: it ${result.reason}`,
            );
        }
      }
    }
    this.#models = found;
    this.logger.info({ count: found.size }, 'model catalog scanned');
  }

  /**
   * Deletes a model's folder. Only ever a folder inside the models directory, reached without
   * following a symlink out of it; an empty owner folder goes too.
   */
  remove(id: string): void {
    const record = this.#models.get(id);
    if (!record)
      throw new LodgeError('model_not_found', `The model '${id}' does not exist.`, { param: 'model' });
    const dir = this.#inside(record.dir);
    rmSync(dir, { recursive: true, force: true });
    const ownerDir = join(dir, '..');
    if (readdirSync(ownerDir).length === 0) rmSync(ownerDir, { recursive: true, force: true });
    this.refresh();
  }

  /** Copies a model's folder to a new id (Ollama's copy). */
  copy(sourceId: string, destination: string): string {
    const source = this.resolve(sourceId).record;
    const id = validModelId(destination);
    if (this.#models.has(id))
      throw new LodgeError('conflict', `A model named ${id} already exists.`, { param: 'destination' });
    const target = join(this.modelsDir, ...id.split('/'));
    this.#inside(source.dir);
    cpSync(source.dir, target, { recursive: true, errorOnExist: true, verbatimSymlinks: true });
    this.refresh();
    return id;
  }

  /** `path` if it lies inside the models directory (symlinks resolved), else an error. */
  #inside(path: string): string {
    const root = realpathSync(this.modelsDir);
    const real = realpathSync(path);
    const rel = relative(root, real);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || lstatSync(path).isSymbolicLink()) {
      throw new LodgeError(
        'forbidden',
        'That model lies outside the models folder; Lodge will not touch it.',
      );
    }
    return real;
  }

  /** Every model, by id. */
  list(): ModelRecord[] {
    return [...this.#models.values()];
  }

  /**
   * Resolves a name a client gave: an id (`owner/name`), optionally with a variant tag
   * (`owner/name:q4`) or `:latest`, or a bare name (`name`) when only one owner has it.
   */
  resolve(requested: string): ResolvedModel {
    const name = requested.trim();
    const colon = name.lastIndexOf(':');
    const base = colon > 0 ? name.slice(0, colon) : name;
    const tag = colon > 0 ? name.slice(colon + 1).toLowerCase() : null;
    let record = this.#models.get(base);
    if (!record && !base.includes('/')) {
      const matches = this.list().filter(
        (model) => model.id.split('/')[1]?.toLowerCase() === base.toLowerCase(),
      );
      if (matches.length === 1) record = matches[0];
    }
    if (!record) {
      const available = this.list().map((model) => model.id);
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
        { param: 'model' },
      );
    }
    return { record, variant: tag as VariantName };
  }
}

/** A model id a client may create: `owner/name`, letters, digits, `.`, `_`, `-`; no `..`. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Checks an id given by a client before any path is built from it (Ollama's CVE-2024-37032 lesson). */
export function validModelId(name: string): string {
  const id = (name.includes('/') ? name : `local/${name}`).replace(/:latest$/, '');
  if (
    !ID_PATTERN.test(id) ||
    id.split('/').some((part) => part === '.' || part === '..' || part.includes('..'))
  ) {
    throw new LodgeError(
      'invalid_request',
      `"${name}" is not a valid model name: use owner/name with letters, digits, ".", "_" and "-".`,
      {
        param: 'destination',
      },
    );
  }
  return id;
}

/** The variant to load: the one asked for, else the best for the CPU. */
export function chooseVariant(record: ModelRecord, wanted: VariantName | null): ModelVariant {
  const pick = (name: VariantName) => record.variants.find((variant) => variant.name === name);
  if (wanted !== null) {
    const exact = pick(wanted);
    if (exact) return exact;
  }
  for (const name of CPU_ORDER) {
    const variant = pick(name);
    if (variant) return variant;
  }
  return record.variants[0] as ModelVariant;
}
