import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CLIENT_CLOSED_STATUS,
  type RequestOutcome,
  type RequestRecord,
} from '../../../shared/contract/system';
import type { RequestLogRepository } from '../db/request-log-repository';
import { familyOf } from './families';

/** What a request used of a model, noted by the handler that served it. */
export interface RequestUsage {
  /** The model as the client named it. */
  readonly model: string;
  readonly promptTokens?: number;
  /** Tokens generated; while a stream runs, those generated so far. */
  readonly completionTokens?: number;
  /** How the generation ended, once it did (`cancelled` when it was stopped before its end). */
  readonly finishReason?: string;
  /** For a model alias or a remote model: which target served, and which failed before it. */
  readonly route?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request used of a model, for the request line; null when it used none. */
    usage: RequestUsage | null;
    /** The stable code of the error the request was answered with (in a stream too); null when none. */
    errorCode: string | null;
  }
}

/** Notes the model and tokens a request used, for its line in the server's terminal. */
export function noteUsage(request: FastifyRequest, usage: RequestUsage): void {
  request.usage = usage;
}

/** Notes the code of the error a request was answered with, for its row in the request log. */
export function noteError(request: FastifyRequest, code: string): void {
  request.errorCode = code;
}

/** One served request, as the terminal shows it. */
export interface RequestLine {
  readonly time: Date;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly usage: RequestUsage | null;
  /** How it ended, when not as an ordinary answer (`aborted`, `cancelled`): shown at the end. */
  readonly outcome?: RequestOutcome;
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
  if (line.outcome === 'aborted' || line.outcome === 'cancelled') parts.push(line.outcome);
  return parts.join(' | ');
}

/** Called with each request as the log records it (the Monitor's history counts them). */
export type RequestObserver = (record: Omit<RequestRecord, 'id'>) => void;

/**
 * Records each API request in the request log once its response is sent, or once its client left
 * before it was (an aborted stream never reaches Fastify's onResponse), and hands its line to
 * `print` (the server's terminal) and its record to `observe` when given. Left out: preflights, the
 * web UI's files, health probes and the UI's own reads of `/app` that succeed or that the UI itself
 * stopped, which would drown the rest. Every 4xx/5xx answer is kept, the security hook's included
 * (a refused preflight too).
 */
export function registerRequestLog(
  app: FastifyInstance,
  log: RequestLogRepository,
  print?: (line: string) => void,
  observe?: RequestObserver,
): void {
  app.decorateRequest('usage', null);
  app.decorateRequest('errorCode', null);
  const recorded = new WeakSet<FastifyRequest>();
  const record = (request: FastifyRequest, reply: FastifyReply, status: number, outcome: RequestOutcome) => {
    if (recorded.has(request)) return;
    recorded.add(request);
    const path = request.url.split('?')[0] ?? '/';
    const family = familyOf(path);
    const routine =
      request.method === 'OPTIONS' || path === '/health' || path === '/' || path.startsWith('/assets/');
    if (routine && status < 400) return;
    // The UI's own reads that it stopped (leaving a view) are no failure either.
    const stopped = outcome === 'aborted' || outcome === 'cancelled';
    if (family === 'app' && request.method === 'GET' && (status < 400 || stopped)) return;
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    const time = new Date();
    const { usage } = request;
    print?.(
      formatRequestLine({
        time,
        method: request.method,
        path: path.slice(0, 512),
        status,
        durationMs,
        usage,
        outcome,
      }),
    );
    const entry: Omit<RequestRecord, 'id'> = {
      time: time.toISOString(),
      method: request.method,
      path: path.slice(0, 512),
      status,
      durationMs,
      family,
      requestId: String(request.id),
      outcome,
      errorCode: request.errorCode,
      model: usage?.model.slice(0, 512) ?? null,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      route: usage?.route?.slice(0, 1024) ?? null,
    };
    observe?.(entry);
    try {
      log.append(entry);
    } catch (error) {
      // The request was served; a failed log write (disk full, say) must not turn into an error reply.
      request.log.warn({ err: error }, 'could not record the request in the request log');
    }
  };
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      // Left mid-answer: the stream was cancelled. Left before any answer: the request was aborted.
      if (reply.raw.headersSent) record(request, reply, reply.raw.statusCode, 'cancelled');
      else record(request, reply, CLIENT_CLOSED_STATUS, 'aborted');
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const outcome: RequestOutcome =
      status >= 400 || request.errorCode !== null
        ? 'error'
        : request.usage?.finishReason === 'cancelled'
          ? 'cancelled'
          : 'ok';
    record(request, reply, status, outcome);
  });
}
