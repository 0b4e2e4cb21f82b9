import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
