import type { FastifyInstance } from 'fastify';
import { exportToTriton } from '../../export/triton-export';
import type { ModelCatalog } from '../../library/model-catalog';
import { revisionRecord } from '../../library/revision-record';
import { contractRoute } from '../contract-route';

/** `POST /app/models/:owner/:name/export`: the model as a Triton model repository and a KServe manifest. */
export function registerExportRoutes(app: FastifyInstance, catalog: ModelCatalog, dataDir: string): void {
  contractRoute(app, 'exportModel', ({ params, body }) => {
    const record = catalog.get(`${params.owner}/${params.name}`);
    // Each kept revision is one numbered version; one whose files are gone is left out.
    const older = catalog.revisions(record.id).flatMap((row) => {
      if (row.active) return [];
      try {
        return [revisionRecord(record, row)];
      } catch {
        return [];
      }
    });
    return exportToTriton(record, body, { dataDir, older });
  });
}
