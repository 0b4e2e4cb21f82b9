import { RouteError, routeRequest, routeResult } from '../../shared/call-route';
import type { ErrorCode } from '../../shared/errors';
import type { AppRouteName, RouteInput, RouteOutput } from '../../shared/routes';
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

  /** A multipart POST (an audio upload), with the API key; the caller reads the answer. */
  async postForm(path: string, form: FormData, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#apiKey !== null) headers.authorization = `Bearer ${this.#apiKey}`;
    return fetch(this.base + path, { method: 'POST', headers, body: form, signal: signal ?? null });
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
    const { url, init } = routeRequest(
      this.base,
      name,
      input,
      this.#apiKey === null ? {} : { authorization: `Bearer ${this.#apiKey}` },
    );
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: signal ?? null });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'network', `Cannot reach Lodge at ${this.base}.`);
    }
    try {
      return await routeResult(name, response);
    } catch (error) {
      if (error instanceof RouteError) throw new ApiError(error.status, error.code, error.message);
      throw error;
    }
  }
}
