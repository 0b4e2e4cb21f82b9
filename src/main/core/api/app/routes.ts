import type { FastifyInstance } from 'fastify';
import type { AppInfo } from '../../../../shared/contract/system';
import type { RequestLogRepository } from '../../db/request-log-repository';
import type { LogRing } from '../../logging/log-ring';
import type { SettingsService } from '../../settings-service';
import { LODGE_VERSION } from '../../version';
import { GpuStats } from '../../metrics/gpu-stats';
import { SystemStats } from '../../metrics/system-stats';
import { contractRoute } from '../contract-route';
import type { SecurityPolicy } from '../security';

/** What the app routes read from. */
export interface AppRouteDeps {
  readonly settings: SettingsService;
  readonly logs: LogRing;
  readonly requests: RequestLogRepository;
  readonly info: () => AppInfo;
  readonly startedAt: number;
}

/** `/health` and the `/app/*` routes of the foundation: info, logs, request log, settings. */
export function registerAppRoutes(app: FastifyInstance, deps: AppRouteDeps, policy: SecurityPolicy): void {
  contractRoute(app, 'health', () => ({
    status: 'ok',
    version: LODGE_VERSION,
    uptimeSeconds: (Date.now() - deps.startedAt) / 1000,
  }));
  contractRoute(app, 'info', () => deps.info());
  contractRoute(app, 'logs', ({ query }) => {
    const { level, limit, after } = query;
    return { entries: deps.logs.query(level, limit, after) };
  });
  contractRoute(app, 'requests', ({ query }) => {
    const { limit } = query;
    return { requests: deps.requests.recent(limit) };
  });
  contractRoute(app, 'settings', () => deps.settings.view());
  // NOTE: only a caller that already holds the key (or any local caller when none is set) gets here.
  contractRoute(app, 'apiKey', () => ({ apiKey: deps.settings.values.apiKey }));
  const system = new SystemStats();
  const gpu = new GpuStats();
  contractRoute(app, 'system', async () => {
    const sample = system.sample();
    const { gpus, note } = await gpu.sample();
    return { ...sample, loadAverage: [...sample.loadAverage], gpus: [...gpus], gpuNote: note };
  });
  contractRoute(app, 'updateSettings', ({ body, request }) =>
    deps.settings.update(body, { fromWindow: policy.isOwnOrigin(request.headers.origin) }),
  );
}
