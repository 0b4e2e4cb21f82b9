import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Settings } from '../../../shared/contract/settings';
import { isLoopbackHost } from '../config';
import { LodgeError } from '../errors';
import { sendError } from './error-handler';

/** The desktop window's origin (the `app://` protocol of `src/main/desktop`). */
const DESKTOP_ORIGIN = 'app://lodge';

/** Request headers a browser client may send cross-origin (the openai SDK's own among them). */
const ALLOWED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'content-encoding',
  'accept',
  'user-agent',
  'x-requested-with',
  'openai-beta',
  'openai-organization',
  'openai-project',
  'inference-header-content-length',
  'x-api-key',
  'anthropic-version',
  'anthropic-beta',
  'anthropic-dangerous-direct-browser-access',
];

/**
 * Paths anyone may fetch without the API key: liveness, the web UI's own static files, and the API
 * description with its docs page (a browser cannot send a bearer token when it opens them).
 */
function isPublicPath(method: string, path: string): boolean {
  if (path === '/health') return true;
  if (method !== 'GET' && method !== 'HEAD') return false;
  return (
    path === '/' ||
    path === '/index.html' ||
    path.startsWith('/assets/') ||
    path === '/favicon.svg' ||
    path === '/openapi.json' ||
    path === '/docs' ||
    path.startsWith('/docs/')
  );
}

/** What the policy needs to know about the running server. */
export interface SecurityContext {
  /** The current settings; read on every request so changed origins and keys apply at once. */
  readonly settings: () => Settings;
  /** The address and port the server is bound to. */
  readonly bound: () => { host: string; port: number };
}

/**
 * The security defaults (docs/architecture.md) as pure checks: which Host names, browser origins and credentials
 * a request may carry. Kept free of Fastify so each rule is testable on its own.
 */
export class SecurityPolicy {
  constructor(private readonly context: SecurityContext) {}

  /**
   * Null when `hostHeader` names this server; otherwise why not: a malformed Host is an
   * `invalid_request`, a well-formed foreign one `forbidden`. Guards against DNS rebinding.
   */
  rejectHost(hostHeader: string | undefined): LodgeError | null {
    const header = (hostHeader ?? '').trim();
    // An empty name with a port (":11435") names no host either.
    if (header === '' || /^:\d*$/.test(header))
      return new LodgeError('forbidden', 'The request has no Host header.');
    const name = hostNameOf(header);
    if (name === '') {
      return new LodgeError(
        'invalid_request',
        'The Host header is malformed: send a host name, an IPv4 address or a bracketed IPv6 address, then optionally ":" and a port.',
      );
    }
    if (isLoopbackHost(name)) return null;
    const settings = this.context.settings();
    if (settings.allowedHosts.some((allowed) => allowed.toLowerCase() === name)) return null;
    const bound = this.context.bound().host;
    if (!isLoopbackHost(bound) && this.#ownNames(bound).has(name)) return null;
    return new LodgeError(
      'forbidden',
      `Host "${name}" is not allowed. Add it to allowed hosts (LODGE_ALLOWED_HOSTS) if this is intended.`,
    );
  }

  /**
   * True when `origin` is Lodge's own window: the desktop app, or the web UI this server serves.
   * The one rule for "own origin", used for CORS and for settings only the window may change.
   */
  isOwnOrigin(origin: string | undefined): boolean {
    return origin !== undefined && this.#ownOrigins().has(origin.toLowerCase());
  }

  /** True when a browser request from `origin` may proceed; requests without an Origin always may. */
  allowsOrigin(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    const wanted = origin.toLowerCase();
    if (this.isOwnOrigin(wanted)) return true;
    return this.context.settings().origins.some((pattern) => matchesOrigin(pattern.toLowerCase(), wanted));
  }

  /**
   * True when no API key is set, or the request carries it: as a bearer token in `authorization`,
   * or in `x-api-key` as Anthropic's clients send it.
   */
  authorizes(authorization: string | undefined, apiKeyHeader?: string | string[]): boolean {
    const key = this.context.settings().apiKey;
    if (key === null) return true;
    if (typeof apiKeyHeader === 'string' && constantTimeEquals(apiKeyHeader.trim(), key)) return true;
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    return match?.[1] !== undefined && constantTimeEquals(match[1].trim(), key);
  }

  #ownOrigins(): Set<string> {
    const { host, port } = this.context.bound();
    const origins = new Set([
      DESKTOP_ORIGIN,
      `http://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `http://[::1]:${port}`,
    ]);
    if (!isLoopbackHost(host)) for (const name of this.#ownNames(host)) origins.add(`http://${name}:${port}`);
    return origins;
  }

  #ownNames(bound: string): Set<string> {
    const names = new Set<string>();
    const machine = hostname().toLowerCase();
    names.add(machine);
    names.add(`${machine}.local`);
    const wildcard = bound === '0.0.0.0' || bound === '::' || bound === '[::]';
    if (!wildcard) names.add(isIP(bound) === 6 ? `[${bound.toLowerCase()}]` : bound.toLowerCase());
    else {
      for (const addresses of Object.values(networkInterfaces())) {
        for (const address of addresses ?? [])
          names.add(address.family === 'IPv6' ? `[${address.address}]` : address.address);
      }
    }
    return names;
  }
}

/** Registers the policy as the first hook of every request, before routing and body parsing. */
export function registerSecurity(app: FastifyInstance, policy: SecurityPolicy): void {
  app.addHook('onRequest', async (request, reply) => {
    const hostProblem = policy.rejectHost(request.headers.host);
    if (hostProblem !== null) return sendError(request, reply, hostProblem);

    const origin = request.headers.origin;
    if (!policy.allowsOrigin(origin)) {
      return sendError(
        request,
        reply,
        new LodgeError(
          'forbidden',
          `Origin "${origin}" is not allowed. Add it to allowed origins (LODGE_ORIGINS) to call Lodge from that page.`,
        ),
      );
    }
    if (origin !== undefined) applyCors(request, reply, origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      return reply.code(204).send();
    }

    const path = request.url.split('?')[0] ?? '/';
    if (
      !isPublicPath(request.method, path) &&
      !policy.authorizes(request.headers.authorization, request.headers['x-api-key'])
    ) {
      return sendError(
        request,
        reply,
        new LodgeError(
          'unauthorized',
          'This Lodge requires an API key: send "Authorization: Bearer <key>" (or "x-api-key: <key>").',
        ),
      );
    }
    return undefined;
  });
}

function applyCors(request: FastifyRequest, reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin);
  reply.header('vary', 'Origin');
  reply.header('access-control-expose-headers', 'x-request-id, inference-header-content-length, retry-after');
  if (request.method !== 'OPTIONS') return;
  reply.header('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  const requested = String(request.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((header) => header.trim().toLowerCase())
    .filter((header) => header.length > 0);
  const allowed = requested.filter(
    (header) => ALLOWED_REQUEST_HEADERS.includes(header) || header.startsWith('x-stainless-'),
  );
  reply.header(
    'access-control-allow-headers',
    [...new Set([...ALLOWED_REQUEST_HEADERS, ...allowed])].join(', '),
  );
  reply.header('access-control-max-age', '600');
  // Chrome's Private Network Access preflight: only answered for origins already allowed above.
  if (request.headers['access-control-request-private-network'] === 'true') {
    reply.header('access-control-allow-private-network', 'true');
  }
}

// One DNS label: letters, digits, hyphens inside, underscores as some local resolvers allow.
const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_HEADER = new RegExp(`^(?:(${LABEL}(?:\\.${LABEL})*)|\\[([0-9a-f:.]+)\\])(?::(\\d{1,5}))?$`);

/**
 * The host name of a Host header, lower-cased, without its port (IPv6 keeps its brackets); empty
 * when the header is malformed. Strict on purpose: a host name (or IPv4 address) or a bracketed
 * IPv6 address, then an optional numeric port, and nothing else, so that `localhost:1@evil` or
 * `[::1].evil` cannot pass for a loopback name.
 */
export function hostNameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.length > 300) return '';
  const match = HOST_HEADER.exec(value);
  if (match === null) return '';
  const [, name, ipv6, port] = match;
  if (port !== undefined && Number(port) > 65535) return '';
  if (ipv6 !== undefined) return isIP(ipv6) === 6 ? `[${ipv6}]` : '';
  return name !== undefined && name.length <= 253 ? name : '';
}

function matchesOrigin(pattern: string, origin: string): boolean {
  return pattern.endsWith('*') ? origin.startsWith(pattern.slice(0, -1)) : pattern === origin;
}

function constantTimeEquals(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about the key.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
