import type { FastifyReply, FastifyRequest } from 'fastify';

/** An open streamed response: write chunks, end it, and learn when the client left. */
export interface ResponseStream {
  write(chunk: string): void;
  end(): void;
  /** Aborted when the client disconnects before the stream ended. */
  readonly signal: AbortSignal;
}

/**
 * An abort signal for a request that fires when the client disconnects before the response is
 * complete: it stops the generation and frees the runner.
 */
export function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.once('aborted', () => controller.abort());
  return controller.signal;
}

/**
 * Takes over the response for streaming (SSE or NDJSON): status 200 and headers are sent now, so
 * call this only once the request is known to be good.
 */
export function openStream(
  request: FastifyRequest,
  reply: FastifyReply,
  contentType: string,
  signal: AbortSignal,
): ResponseStream {
  reply.hijack();
  const headers: Record<string, string> = {
    'content-type': contentType,
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': String(request.id),
    // Anthropic's SDKs read the id from `request-id` (message._request_id).
    'request-id': String(request.id),
    'x-content-type-options': 'nosniff',
  };
  // Hijacked replies skip Fastify's hooks; keep the CORS headers the security hook set.
  for (const name of ['access-control-allow-origin', 'vary', 'access-control-expose-headers']) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  reply.raw.writeHead(200, headers);
  return {
    write: (chunk) => {
      if (!reply.raw.writableEnded) reply.raw.write(chunk);
    },
    end: () => {
      if (!reply.raw.writableEnded) reply.raw.end();
    },
    signal,
  };
}

/** Reads the first item of a stream, so that failures before any output are ordinary HTTP errors. */
export async function firstOf<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
  return iterator.next();
}
