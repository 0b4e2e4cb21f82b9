import type { ModelSummary } from '../../shared/contract/models';
import { CliError, type CoreClient } from './client';

/** A library model a name on the command line means, with the variant tag it named (`:q4`), if any. */
export interface ResolvedName {
  readonly model: ModelSummary;
  readonly variant: string | null;
  /** How to name it to the server: the id, with the variant when one was given. */
  readonly name: string;
}

/**
 * Finds the model `requested` names, by the rules the server resolves a request's `model` with:
 * an id (`owner/name`), an alias, or a bare name (`name`) when only one owner has it, each with an
 * optional `:variant` (`:latest` means none) and `@revision`. Every `lodge` verb that takes a model
 * goes through here, so `lodge rm tiny` finds the model `lodge run tiny` chats with.
 */
export function matchModel(models: readonly ModelSummary[], requested: string): ResolvedName {
  // `@revision` is the server's to look up: it knows the revisions, and their variants.
  const at = requested.indexOf('@');
  const revision = at >= 0 ? requested.slice(at + 1).trim() : null;
  const text = (at >= 0 ? requested.slice(0, at) : requested).trim();
  const colon = text.lastIndexOf(':');
  const base = colon > 0 ? text.slice(0, colon) : text;
  const tag = colon > 0 ? text.slice(colon + 1).toLowerCase() : null;
  let model = models.find((entry) => entry.id === base) ?? models.find((entry) => entry.alias === base);
  if (!model && !base.includes('/')) {
    const matches = models.filter((entry) => entry.id.split('/')[1]?.toLowerCase() === base.toLowerCase());
    if (matches.length > 1) {
      throw new CliError(
        `'${base}' could mean ${matches.map((entry) => entry.id).join(' or ')}. Give the full name.`,
      );
    }
    model = matches[0];
  }
  if (!model) {
    const available = models.map((entry) => entry.id);
    throw new CliError(
      `The model '${requested}' does not exist. ${available.length > 0 ? `Available: ${available.join(', ')}.` : 'No models are installed yet: "lodge pull OWNER/REPO" downloads one.'}`,
    );
  }
  const variant = tag === null || tag === 'latest' ? null : tag;
  if (revision === null && variant !== null && !model.variants.some((entry) => entry.name === variant)) {
    throw new CliError(
      `${model.id} has no variant '${variant}'. Its variants: ${model.variants.map((entry) => entry.name).join(', ')}.`,
    );
  }
  const name = variant === null ? model.id : `${model.id}:${variant}`;
  return { model, variant, name: revision === null ? name : `${name}@${revision}` };
}

/** {@link matchModel} against the running server's library. */
export async function resolveModel(client: CoreClient, requested: string): Promise<ResolvedName> {
  const { models } = await client.call('models');
  return matchModel(models, requested);
}
