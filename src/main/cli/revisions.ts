import type { RevisionList } from '../../shared/contract/revisions';
import { CliError, type CoreClient } from './client';
import { ago, size, table } from './format';
import type { Output } from './output';
import { resolveModel } from './resolve-model';

/** The path parameters of a model id. */
function paramsOf(id: string): { owner: string; name: string } {
  const [owner = '', name = ''] = id.split('/', 2);
  return { owner, name };
}

/** What a revision is, in the STATE column: active, pinned, loaded, or nothing. */
function state(revision: RevisionList['revisions'][number]): string {
  const marks = [
    revision.active ? 'active' : null,
    revision.pinned ? 'pinned' : null,
    revision.loaded ? 'loaded' : null,
  ];
  return marks.filter((mark) => mark !== null).join(',') || '-';
}

/** `lodge ls --all`: every revision of every model, `owner/name@abc1234`, with its state, size and date. */
export async function listRevisions(client: CoreClient, output: Output): Promise<void> {
  const { models } = await client.call('models');
  const rows: string[][] = [];
  for (const model of models) {
    const { revisions } = await client.call('revisions', { params: paramsOf(model.id) });
    if (revisions.length === 0)
      rows.push([model.id, model.task, '-', size(model.totalBytes), ago(model.addedAt)]);
    for (const revision of revisions)
      rows.push([
        `${model.id}@${revision.short}`,
        model.task,
        state(revision),
        size(revision.bytes),
        ago(revision.addedAt),
      ]);
  }
  output.out(`${table(['NAME', 'TASK', 'STATE', 'SIZE', 'ADDED'], rows)}\n`);
}

/**
 * `lodge rm MODEL@REVISION`: deletes one revision and its files (those another revision shares
 * stay). The server refuses the active one and a pinned one, and says why.
 */
export async function removeRevision(client: CoreClient, output: Output, requested: string): Promise<void> {
  const at = requested.indexOf('@');
  const revision = requested.slice(at + 1);
  const { model, variant } = await resolveModel(client, requested.slice(0, at));
  if (variant !== null)
    throw new CliError(`lodge rm deletes a whole revision, every variant; name it without ':${variant}'.`);
  if (revision === '') throw new CliError(`Name the revision after the @, like ${model.id}@abc1234.`);
  const before = await client.call('revisions', { params: paramsOf(model.id) });
  const doomed = before.revisions.find((entry) => entry.revision.startsWith(revision.toLowerCase()));
  const after = await client.call('deleteRevision', { params: { ...paramsOf(model.id), revision } });
  output.out(
    `deleted revision ${doomed?.short ?? revision} of ${model.id}; ${after.revisions.length} kept (${size(after.diskBytes)} on disk)\n`,
  );
}

/** What a finished pull of `revision` says about the revisions its model now keeps. */
export async function pulledRevision(client: CoreClient, modelId: string, revision: string): Promise<string> {
  const { revisions } = await client.call('revisions', { params: paramsOf(modelId) });
  const others = revisions.filter((entry) => entry.revision !== revision).map((entry) => entry.short);
  return others.length === 0
    ? `revision ${revision.slice(0, 7)}`
    : `new revision ${revision.slice(0, 7)} kept beside ${others.join(', ')}`;
}
