import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ModelParamsSchema } from '../../../../shared/contract/library';
import type { RouteOutput } from '../../../../shared/routes';
import type { Engine } from '../../engine/engine';
import type { ModelCatalog } from '../../library/model-catalog';
import { contractRoute } from '../contract-route';
import { modelDetail, modelSummary } from './engine-routes';
import { registerRevisionRoutes } from './revision-routes';

type Params = z.output<typeof ModelParamsSchema>;

/** The library on the app API: list, detail, import, alias/tags/preset, delete, rescan, disk usage. */
export function registerLibraryRoutes(
  app: FastifyInstance,
  catalog: ModelCatalog,
  engine: Engine,
  dirs: { dataDir: string; cacheDir: string },
  remote: () => RouteOutput<'models'>['remote'] = () => [],
): void {
  const idOf = (params: Params) => `${params.owner}/${params.name}`;
  const list = () => ({
    models: catalog.entries().map(modelSummary),
    unreadable: catalog.unreadable(),
    remote: remote(),
  });
  contractRoute(app, 'models', list);
  contractRoute(app, 'model', ({ params }) => modelDetail(catalog.get(idOf(params))));
  contractRoute(app, 'importModel', async ({ body }) => modelDetail(await catalog.import(body)));
  contractRoute(app, 'updateModel', ({ params, body }) => modelDetail(catalog.update(idOf(params), body)));
  contractRoute(app, 'deleteModel', async ({ params }) => {
    const id = catalog.get(idOf(params)).id;
    await engine.unload(id).catch(() => false);
    return { id, ...catalog.remove(id) };
  });
  contractRoute(app, 'refreshModels', () => {
    catalog.refresh();
    return list();
  });
  contractRoute(app, 'rescanModels', () => ({ ...catalog.rescan(), ...list() }));
  contractRoute(app, 'disk', () => ({ dataDir: dirs.dataDir, ...catalog.diskUsage(dirs.cacheDir) }));
  registerRevisionRoutes(app, catalog, engine);
}
