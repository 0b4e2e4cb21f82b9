import type { FastifyInstance } from 'fastify';
import type { RequestLogRepository } from '../db/request-log-repository';
import { familyOf } from './families';

/**
 * Records each API request in the request log once its response is sent. Left out: preflights,
 * the web UI's files, health probes and the UI's own reads of `/app`, which would drown the rest.
 */
export function registerRequestLog(app: FastifyInstance, log: RequestLogRepository): void {
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const family = familyOf(path);
    if (request.method === 'OPTIONS' || path === '/health' || path === '/' || path.startsWith('/assets/'))
      return;
    if (family === 'app' && request.method === 'GET') return;
    try {
      log.append({
        time: new Date().toISOString(),
        method: request.method,
        path: path.slice(0, 512),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        family,
        requestId: String(request.id),
      });
    } catch (error) {
      // The request was served; a failed log write (disk full, say) must not turn into an error reply.
      request.log.warn({ err: error }, 'could not record the request in the request log');
    }
  });
}
