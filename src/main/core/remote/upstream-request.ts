import { request as httpRequest, type IncomingMessage } from 'node:http';
import { HOP_HEADER, nextHops } from './hop-count';
import { request as httpsRequest } from 'node:https';

/** How long connecting to a remote engine may take. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** How long a remote engine may stay silent (no header, no body byte) once connected. */
export const IDLE_TIMEOUT_MS = 120_000;

/** How many same-origin redirects a GET follows. */
const MAX_REDIRECTS = 3;

/** Why a call to a remote engine failed, in words a user can act on, and whether it got an answer. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    /**
     * `unreachable`: no connection, or it was cut before any answer (safe to retry or fail over);
     * `timeout`: connected, then silent; `refused`: the answer is one Lodge will not use (a
     * redirect to another origin, a body over its bound, a broken stream); `aborted`: the caller left.
     */
    readonly kind: 'unreachable' | 'timeout' | 'refused' | 'aborted',
    message: string,
  ) {
    super(message);
  }
}

/** One HTTP call to a remote engine. */
export interface UpstreamCall {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
}

/** The answer's head, with its body still to read (as a stream of chunks). */
export interface UpstreamResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: IncomingMessage;
}

/**
 * Sends one request to a remote engine the user added, over node:http(s): a connect timeout, an
 * idle timeout on every wait after it, the caller's signal cutting the connection, and redirects
 * followed only to the same origin (GET only); a redirect anywhere else is refused, so an endpoint
 * cannot point Lodge at an address the user never added. Resolves once the status and headers arrived.
 */
export async function upstreamRequest(call: UpstreamCall, redirects = 0): Promise<UpstreamResponse> {
  const response = await sendOnce(call);
  if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
  response.body.resume();
  const location = response.body.headers.location;
  const target = location === undefined ? null : safeUrl(location, call.url);
  if (target === null || target.origin !== call.url.origin) {
    throw new UpstreamError(
      'refused',
      `${call.url.host} redirected to ${target?.origin ?? 'an unreadable address'}; Lodge only follows redirects on the same origin.`,
    );
  }
  if (call.method !== 'GET' || redirects >= MAX_REDIRECTS)
    throw new UpstreamError('refused', `${call.url.host} answered with a redirect Lodge does not follow.`);
  return upstreamRequest({ ...call, url: target }, redirects + 1);
}

function safeUrl(location: string, base: URL): URL | null {
  try {
    return new URL(location, base);
  } catch {
    return null;
  }
}

function sendOnce(call: UpstreamCall): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    if (call.signal?.aborted) {
      reject(new UpstreamError('aborted', 'The request was cancelled.'));
      return;
    }
    const send = call.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = call.body === undefined ? undefined : Buffer.from(call.body);
    const request = send(call.url, {
      method: call.method,
      headers: {
        ...call.headers,
        [HOP_HEADER]: nextHops(),
        ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
      },
    });
    const host = call.url.host;
    let connected = false;
    let answered = false;
    const fail = (error: UpstreamError) => {
      request.destroy(error);
    };
    const connectTimer = setTimeout(
      () =>
        fail(
          new UpstreamError(
            'unreachable',
            `could not connect to ${host} within ${(call.connectTimeoutMs ?? CONNECT_TIMEOUT_MS) / 1000} s`,
          ),
        ),
      call.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    );
    request.on('socket', (socket) => {
      const onConnect = () => {
        connected = true;
        clearTimeout(connectTimer);
      };
      if (socket.connecting) socket.once('connect', onConnect);
      else onConnect();
    });
    const onAbort = () => fail(new UpstreamError('aborted', 'The request was cancelled.'));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    request.setTimeout(call.idleTimeoutMs ?? IDLE_TIMEOUT_MS, () =>
      fail(
        new UpstreamError(
          'timeout',
          `${host} sent nothing for ${(call.idleTimeoutMs ?? IDLE_TIMEOUT_MS) / 1000} s`,
        ),
      ),
    );
    request.on('close', () => {
      clearTimeout(connectTimer);
      call.signal?.removeEventListener('abort', onAbort);
    });
    request.on('error', (error) => {
      clearTimeout(connectTimer);
      if (answered) return;
      reject(toUpstreamError(error, host, connected));
    });
    request.on('response', (message) => {
      answered = true;
      // Errors on the body (a reset, the idle timeout, the caller's abort) surface where it is read.
      request.on('error', (error) => message.destroy(toUpstreamError(error, host, true)));
      const type = message.headers['content-type'];
      resolve({
        status: message.statusCode ?? 502,
        contentType: typeof type === 'string' ? type : '',
        body: message,
      });
    });
    request.end(body);
  });
}

/** A socket error as an {@link UpstreamError}: what went wrong, said without a stack. */
function toUpstreamError(error: Error, host: string, connected: boolean): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ECONNREFUSED: `${host} refused the connection (nothing listens there)`,
    ENOTFOUND: `${host} has no address (the name does not resolve)`,
    EAI_AGAIN: `${host} could not be resolved right now`,
    EHOSTUNREACH: `${host} cannot be reached from this machine`,
    ENETUNREACH: `${host} cannot be reached from this machine (no route)`,
    ECONNRESET: `${host} closed the connection before it answered`,
    EPIPE: `${host} closed the connection before it answered`,
  };
  const message =
    (code ? words[code] : undefined) ?? `the connection to ${host} failed${code ? ` (${code})` : ''}`;
  return new UpstreamError(
    connected && code !== 'ECONNRESET' && code !== 'EPIPE' ? 'refused' : 'unreachable',
    message,
  );
}

/**
 * Reads a whole body, at most `limit` bytes; a longer one is cut off and refused, so a remote
 * engine cannot make Lodge hold an unbounded answer.
 */
export async function readBounded(body: IncomingMessage, limit: number, host: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const piece = chunk as Buffer;
      size += piece.length;
      if (size > limit) {
        body.destroy();
        throw new UpstreamError('refused', `${host} sent an answer over ${Math.round(limit / 1048576)} MiB.`);
      }
      chunks.push(piece);
    }
  } catch (error) {
    throw asUpstream(error, host);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Any error met while reading an answer, as an {@link UpstreamError}. */
export function asUpstream(error: unknown, host: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof Error) return toUpstreamError(error, host, true);
  return new UpstreamError('refused', `the answer from ${host} could not be read`);
}
