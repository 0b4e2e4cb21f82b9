import { LodgeError } from '../errors';
import type { ModelRecord, VariantName } from './model-record';

/** A model asked for by name, with the variant the name pinned (`owner/name:q4`), if any. */
export interface ResolvedModel {
  readonly record: ModelRecord;
  readonly variant: VariantName | null;
}

/**
 * Resolves a name a client gave against the library's `models`: an id (`owner/name`), optionally
 * with a variant tag (`owner/name:q4`) or `:latest`, an alias, or a bare name (`name`) when only
 * one owner has it. Only ready models resolve; a missing one says so, without its folder's path.
 */
export function resolveModel(models: readonly ModelRecord[], requested: string): ResolvedModel {
  const name = requested.trim();
  const colon = name.lastIndexOf(':');
  const base = colon > 0 ? name.slice(0, colon) : name;
  const tag = colon > 0 ? name.slice(colon + 1).toLowerCase() : null;
  const ready = models.filter((model) => model.status === 'ready');
  let record = ready.find((model) => model.id === base) ?? ready.find((model) => model.alias === base);
  if (!record && !base.includes('/')) {
    const matches = ready.filter((model) => model.id.split('/')[1]?.toLowerCase() === base.toLowerCase());
    if (matches.length === 1) record = matches[0];
  }
  if (!record) {
    if (models.some((model) => model.id === base)) {
      throw new LodgeError(
        'model_not_found',
        `The files of '${base}' are missing from its folder. Restore them, or delete the model.`,
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
  const pinned = record.variants.find((variant) => variant.name === tag);
  if (pinned === undefined) {
    throw new LodgeError(
      'model_not_found',
      `${record.id} has no variant '${tag}'. Its variants: ${record.variants.map((variant) => variant.name).join(', ')}.`,
      { param: 'model' },
    );
  }
  return { record, variant: pinned.name };
}
