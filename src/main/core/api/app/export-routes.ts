import type { FastifyInstance } from 'fastify';
import { exportToTriton } from '../../export/triton-export';
import type { ModelCatalog } from '../../library/model-catalog';
import { contractRoute } from '../contract-route';

/** `POST /app/models/:owner/:name/export`: the model as a Triton model repository and a KServe manifest. */
export function registerExportRoutes(app: FastifyInstance, catalog: ModelCatalog, dataDir: string): void {
  contractRoute(app, 'exportModel', ({ params, body }) =>
    exportToTriton(catalog.get(`${params.owner}/${params.name}`), body, { dataDir }),
  );
}
