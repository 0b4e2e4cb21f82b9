import { LodgeError } from '../errors';
import type { ModelRecord, VariantName } from './model-record';
import { splitRevision } from './revision-id';

/** A model asked for by name, with the variant the name pinned (`owner/name:q4`), if any. */
export interface ResolvedModel {
  readonly record: ModelRecord;
  readonly variant: VariantName | null;
}

/** The record that runs a kept revision of a model (the model's own when it is the active one), or a 404. */
export type RevisionLookup = (record: ModelRecord, revision: string) => ModelRecord;

/**
 * Resolves a name a client gave against the library's `models`: an id (`owner/name`), optionally
 * with a variant tag (`owner/name:q4`) or `:latest`, an alias, or a bare name (`name`) when only
 * one owner has it; any of them may end in `@revision` (`owner/name:q4@abc1234`: a hub commit or
 * a content hash, whole or its first 7+ characters), which `revisionOf` looks up. Only ready
 * models resolve; a missing one says so, without its folder's path.
 */
export function resolveModel(
  models: readonly ModelRecord[],
  requested: string,
  revisionOf?: RevisionLookup,
): ResolvedModel {
  const split = splitRevision(requested.trim());
  const name = split.name;
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
  if (split.revision !== null) {
    if (revisionOf === undefined)
      throw new LodgeError('model_not_found', `${record.id} has no revision '${split.revision}'.`, {
        param: 'model',
      });
    record = revisionOf(record, split.revision);
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
