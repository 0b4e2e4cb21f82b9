import { isAbsolute, resolve } from 'node:path';
import { CliError, type CoreClient } from './client';
import { ago, fromNow, size, table } from './format';
import type { Output } from './output';
import { resolveModel } from './resolve-model';
import { removeRevision } from './revisions';

/**
 * `lodge ls`: the library, most recently used first as the server lists it, then the models whose
 * record this Lodge cannot read (with why, on stderr).
 */
export async function list(client: CoreClient, output: Output): Promise<void> {
  const { models, unreadable } = await client.call('models');
  output.out(
    `${table(
      ['NAME', 'TASK', 'VARIANTS', 'SIZE', 'STATUS', 'ADDED', 'LAST USED'],
      [
        ...models.map((model) => [
          model.alias ? `${model.id} (${model.alias})` : model.id,
          model.task,
          model.variants.map((variant) => variant.name).join(','),
          size(model.totalBytes),
          model.status,
          ago(model.addedAt),
          ago(model.lastUsedAt),
        ]),
        ...unreadable.map((model) => [model.id, '-', '-', '-', 'unreadable', '-', '-']),
      ],
    )}\n`,
  );
  for (const model of unreadable)
    output.err(`${model.id} cannot be read by this Lodge: ${model.reason}. It was left untouched.\n`);
}

/**
 * `lodge ps`: loaded models, where each runs (and any quantization made at load), with the requests
 * each serves now (of its most) and those queued.
 */
export async function running(client: CoreClient, output: Output): Promise<void> {
  const { models } = await client.call('runners');
  output.out(
    `${table(
      ['NAME', 'PROVIDER', 'MEMORY', 'UNTIL', 'ACTIVE', 'QUEUED'],
      models.map((model) => [
        model.id,
        model.quantized === null ? model.provider : `${model.provider} (${model.quantized} at load)`,
        size(model.rssBytes ?? model.estimatedBytes),
        model.busy ? 'busy' : model.expiresAt === null ? 'forever' : fromNow(model.expiresAt),
        `${model.active}/${model.parallel}`,
        String(model.queueLength),
      ]),
    )}\n`,
  );
}

/** `lodge import PATH [--in-place] [--id owner/name]`. */
export async function importModel(
  client: CoreClient,
  output: Output,
  path: string,
  options: { inPlace: boolean; id?: string | undefined },
): Promise<void> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  output.err(`importing ${absolute}…\n`);
  const model = await client.call('importModel', {
    body: {
      path: absolute,
      mode: options.inPlace ? 'in-place' : 'copy',
      ...(options.id ? { id: options.id } : {}),
    },
  });
  output.out(`imported ${model.id} (${model.task}, ${size(model.totalBytes)})\n`);
}

/** `lodge rm MODEL`: by id, alias or bare name, as `lodge run` finds it; `MODEL@REV` deletes one revision. */
export async function remove(client: CoreClient, output: Output, name: string): Promise<void> {
  if (name.includes('@')) return removeRevision(client, output, name);
  const { model, variant } = await resolveModel(client, name);
  if (variant !== null)
    throw new CliError(`lodge rm deletes a whole model, every variant; name it without ':${variant}'.`);
  const [owner = '', modelName = ''] = model.id.split('/', 2);
  const result = await client.call('deleteModel', { params: { owner, name: modelName } });
  output.out(
    result.filesRemoved
      ? `deleted ${result.id}\n`
      : `removed ${result.id} from the library; its files stay where they are\n`,
  );
}
