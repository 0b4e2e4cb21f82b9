import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestLogRepository } from '../db/request-log-repository';
import { familyOf } from './families';

/** What a request used of a model, noted by the handler that served it. */
export interface RequestUsage {
  /** The model as the client named it. */
  readonly model: string;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request used of a model, for the request line; null when it used none. */
    usage: RequestUsage | null;
  }
}

/** Notes the model and tokens a request used, for its line in the server's terminal. */
export function noteUsage(request: FastifyRequest, usage: RequestUsage): void {
  request.usage = usage;
}

/** One served request, as the terminal shows it. */
export interface RequestLine {
  readonly time: Date;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly usage: RequestUsage | null;
}

/**
 * A request as one terminal line, in the manner of Ollama's server log:
 * `2026/12/02 - 00:50:01 | 200 |   84.2ms | POST /v1/chat/completions | test/tiny-lm | 12 → 6 tokens`.
 * Local time, fixed-width status and duration so the columns line up.
 */
export function formatRequestLine(line: RequestLine): string {
  const { time } = line;
  const two = (value: number) => String(value).padStart(2, '0');
  const stamp = `${time.getFullYear()}/${two(time.getMonth() + 1)}/${two(time.getDate())} - ${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}`;
  const duration =
    line.durationMs >= 1000 ? `${(line.durationMs / 1000).toFixed(2)}s` : `${line.durationMs.toFixed(1)}ms`;
  const parts = [stamp, String(line.status), duration.padStart(8), `${line.method} ${line.path}`];
  const { usage } = line;
  if (usage) {
    parts.push(usage.model);
    if (usage.promptTokens !== undefined)
      parts.push(
        usage.completionTokens !== undefined
          ? `${usage.promptTokens} → ${usage.completionTokens} tokens`
          : `${usage.promptTokens} tokens`,
      );
  }
  return parts.join(' | ');
}

/**
 * Records each API request in the request log once its response is sent, and hands its line to
 * `print` (the server's terminal) when given. Left out: preflights, the web UI's files, health
 * probes and the UI's own reads of `/app`, which would drown the rest.
 */
export function registerRequestLog(
  app: FastifyInstance,
  log: RequestLogRepository,
  print?: (line: string) => void,
): void {
  app.decorateRequest('usage', null);
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const family = familyOf(path);
    if (request.method === 'OPTIONS' || path === '/health' || path === '/' || path.startsWith('/assets/'))
      return;
    if (family === 'app' && request.method === 'GET') return;
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    const time = new Date();
    print?.(
      formatRequestLine({
        time,
        method: request.method,
        path: path.slice(0, 512),
        status: reply.statusCode,
        durationMs,
        usage: request.usage,
      }),
    );
    try {
      log.append({
        time: time.toISOString(),
        method: request.method,
        path: path.slice(0, 512),
        status: reply.statusCode,
        durationMs,
        family,
        requestId: String(request.id),
      });
    } catch (error) {
      // The request was served; a failed log write (disk full, say) must not turn into an error reply.
      request.log.warn({ err: error }, 'could not record the request in the request log');
    }
  });
}
