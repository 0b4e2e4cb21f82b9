import { AppErrorBodySchema, type ErrorCode } from '../../shared/errors';
import {
  appRoutes,
  routePath,
  type AppRouteName,
  type RouteInput,
  type RouteOutput,
} from '../../shared/routes';
import type { DesktopBridge } from '../../shared/desktop-bridge';

/** An error answered by the core (or the network failing to reach it). */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network',
    message: string,
  ) {
    super(message);
  }
}

/** Where stored credentials live in the browser. */
const API_KEY_STORAGE = 'lodge.apiKey';

/** The desktop bridge where the desktop preload put one, else null (a plain browser). */
export function desktopBridge(): DesktopBridge | null {
  return (globalThis as { lodge?: DesktopBridge }).lodge ?? null;
}

/**
 * The renderer's only way to the core: typed calls over the shared route table, each answer
 * validated against its schema (the core is trusted, but a stale UI against a newer core should
 * fail loudly, not render garbage).
 */
export class ApiClient {
  readonly base: string;
  #apiKey: string | null;

  constructor(
    base?: string,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> = localStorage,
  ) {
    this.base = (base ?? desktopBridge()?.apiBase ?? location.origin).replace(/\/$/, '');
    this.#apiKey = storage.getItem(API_KEY_STORAGE);
  }

  /** Whether a key is stored for this UI. */
  get hasApiKey(): boolean {
    return this.#apiKey !== null;
  }

  /** Stores (or with null, forgets) the API key sent as a bearer token. */
  setApiKey(key: string | null): void {
    this.#apiKey = key;
    if (key === null) this.storage.removeItem(API_KEY_STORAGE);
    else this.storage.setItem(API_KEY_STORAGE, key);
  }

  /** A streamed POST to any API route (the chat playground uses OpenAI's SSE), with the API key. */
  async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
    };
    if (this.#apiKey !== null) headers.authorization = `Bearer ${this.#apiKey}`;
    return fetch(this.base + path, { method: 'POST', headers, body: JSON.stringify(body), signal });
  }

  /** A streamed GET (Server-Sent Events), with the API key. */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#apiKey !== null) headers.authorization = `Bearer ${this.#apiKey}`;
    const response = await fetch(this.base + path, { headers, signal });
    if (!response.ok) throw new ApiError(response.status, 'internal', `Lodge answered ${response.status}.`);
    return response;
  }

  /** Calls one app route; rejects with an {@link ApiError} for any non-2xx answer. */
  async call<N extends AppRouteName>(
    name: N,
    input?: RouteInput<N>,
    signal?: AbortSignal,
  ): Promise<RouteOutput<N>> {
    const spec = appRoutes[name];
    const { params, query, body } = (input ?? {}) as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
    };
    const url = new URL(this.base + routePath(spec.path, params));
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#apiKey !== null) headers.authorization = `Bearer ${this.#apiKey}`;

    let response: Response;
    try {
      response = await fetch(url, {
        method: spec.method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal ?? null,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'network', `Cannot reach Lodge at ${this.base}.`);
    }
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const parsed = AppErrorBodySchema.safeParse(payload);
      if (parsed.success)
        throw new ApiError(response.status, parsed.data.error.code, parsed.data.error.message);
      throw new ApiError(
        response.status,
        'internal',
        `Lodge answered ${response.status} ${response.statusText}.`,
      );
    }
    return spec.response.parse(payload) as RouteOutput<N>;
  }
}
