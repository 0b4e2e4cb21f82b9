import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ModelParamsSchema } from '../../../../shared/contract/library';
import type { RevisionList } from '../../../../shared/contract/revisions';
import type { Engine } from '../../engine/engine';
import type { ModelCatalog } from '../../library/model-catalog';
import { revisionRecordId, shortRevision } from '../../library/revision-id';
import { contractRoute } from '../contract-route';

type Params = z.output<typeof ModelParamsSchema>;

/** A model's revisions as the app API lists them, with which of them a runner has loaded. */
export function revisionList(catalog: ModelCatalog, engine: Engine, id: string): RevisionList {
  const running = new Set(engine.running().map((model) => model.id));
  return {
    model: id,
    revisions: catalog.revisions(id).map((row) => ({
      revision: row.revision,
      short: shortRevision(row.revision),
      active: row.active,
      pinned: row.pinned,
      loaded: running.has(row.active ? id : revisionRecordId(id, row.revision)),
      bytes: row.bytes,
      addedAt: row.addedAt,
      committedAt: row.committedAt,
      source: row.source,
    })),
    diskBytes: catalog.revisionBytes(id),
  };
}

/**
 * `/app/models/:owner/:name/revisions`: list, activate, pin and unpin, delete, prune. Activating
 * unloads the model, so its next request runs the revision now active; deleting a revision a
 * runner has loaded (by `model@revision`) unloads it first; the active one cannot be deleted.
 */
export function registerRevisionRoutes(app: FastifyInstance, catalog: ModelCatalog, engine: Engine): void {
  const idOf = (params: Params) => catalog.get(`${params.owner}/${params.name}`).id;
  // NOTE: a pull or a re-import activates its new revision too; whatever ran the old one is stale.
  catalog.on('activated', (id) => void engine.unload(id).catch(() => false));
  contractRoute(app, 'revisions', ({ params }) => revisionList(catalog, engine, idOf(params)));
  contractRoute(app, 'activateRevision', ({ params }) => {
    const id = idOf(params);
    catalog.activate(id, params.revision);
    return revisionList(catalog, engine, id);
  });
  contractRoute(app, 'pinRevision', ({ params }) => {
    const id = idOf(params);
    catalog.pin(id, params.revision, true);
    return revisionList(catalog, engine, id);
  });
  contractRoute(app, 'unpinRevision', ({ params }) => {
    const id = idOf(params);
    catalog.pin(id, params.revision, false);
    return revisionList(catalog, engine, id);
  });
  contractRoute(app, 'deleteRevision', async ({ params }) => {
    const id = idOf(params);
    const row = catalog.findRevision(id, params.revision);
    if (!row.active) await engine.unload(`${id}@${row.revision}`).catch(() => false);
    catalog.removeRevision(id, row.revision);
    return revisionList(catalog, engine, id);
  });
  contractRoute(app, 'pruneRevisions', async ({ params }) => {
    const id = idOf(params);
    const doomed = catalog.revisions(id).filter((row) => !row.active && !row.pinned);
    for (const row of doomed) await engine.unload(`${id}@${row.revision}`).catch(() => false);
    const deleted = catalog.prune(id).map((row) => row.revision);
    return { ...revisionList(catalog, engine, id), deleted };
  });
}
