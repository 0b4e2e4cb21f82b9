import type { FastifyInstance } from 'fastify';
import type { RequestLogRepository } from '../../db/request-log-repository';
import type { MetricsHistory } from '../../metrics/metrics-history';
import { contractRoute } from '../contract-route';

/** What the Monitor reads beyond the live figures: its last hour, and the requests that failed. */
export function registerMonitorRoutes(
  app: FastifyInstance,
  history: MetricsHistory,
  requests: RequestLogRepository,
): void {
  contractRoute(app, 'metricsHistory', ({ query }) => history.history(query.since));
  contractRoute(app, 'requestErrors', ({ query }) => ({ requests: requests.failed(query.limit) }));
}
