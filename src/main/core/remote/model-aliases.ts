import type { ModelAlias } from '../../../shared/contract/remote';
import type { ModelAliasRepository } from '../db/model-alias-repository';
import { LodgeError } from '../errors';

/** What an alias name may be: a model name without a slash (a slash names a remote engine's model). */
const ALIAS_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** How a name would resolve without aliases: whether it is a local model, a remote one, or neither. */
export type NameKind = (name: string) => 'local' | 'remote' | 'unknown';

/**
 * Model aliases: names that route a request to the first of an ordered list of targets that
 * answers (local model ids and remote `engine/model` names), kept in SQLite. An alias never points
 * at another alias, and never shadows a local model's name (the local model would win anyway).
 */
export class ModelAliases {
  constructor(
    private readonly repository: ModelAliasRepository,
    private readonly kindOf: NameKind,
  ) {}

  /** Every alias, by name. */
  list(): ModelAlias[] {
    return this.repository.list().map((alias) => ({ ...alias, targets: [...alias.targets] }));
  }

  /** The targets of the alias by that name, in order; null when there is none. */
  targetsOf(name: string): readonly string[] | null {
    return this.repository.list().find((alias) => alias.name === name)?.targets ?? null;
  }

  /** Adds an alias or replaces its targets, each checked to be a model Lodge knows now. */
  save(name: string, targets: readonly string[]): ModelAlias {
    if (!ALIAS_NAME.test(name))
      throw new LodgeError(
        'invalid_request',
        'An alias name is 1 to 128 letters, digits, dots, dashes, underscores or colons, without a slash.',
        { param: 'name' },
      );
    if (this.kindOf(name) === 'local')
      throw new LodgeError('conflict', `'${name}' already names a local model; choose another alias name.`);
    const seen = new Set<string>();
    targets.forEach((raw, index) => {
      const target = raw.trim();
      if (target === name || this.targetsOf(target) !== null)
        throw new LodgeError('invalid_request', `targets[${index}]: an alias cannot point at an alias.`, {
          param: 'targets',
        });
      if (seen.has(target))
        throw new LodgeError('invalid_request', `targets[${index}]: '${target}' is listed twice.`, {
          param: 'targets',
        });
      seen.add(target);
      if (this.kindOf(target) === 'unknown')
        throw new LodgeError(
          'invalid_request',
          `targets[${index}]: '${target.slice(0, 256)}' is neither a local model nor a model of a remote engine.`,
          { param: 'targets' },
        );
    });
    const alias = { name, targets: [...seen], updatedAt: new Date().toISOString() };
    this.repository.save(alias);
    return alias;
  }

  /** Removes an alias; false when there was none. */
  remove(name: string): boolean {
    return this.repository.remove(name);
  }
}
