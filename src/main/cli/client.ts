import { AppErrorBodySchema } from '../../shared/errors';
import {
  appRoutes,
  routePath,
  type AppRouteName,
  type RouteInput,
  type RouteOutput,
} from '../../shared/routes';
import { DEFAULT_PORT } from '../../shared/contract/settings';

/** A failure the CLI reports in one line and exits with. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** The running server the CLI talks to: LODGE_HOST / LODGE_PORT, with LODGE_API_KEY if set. */
export class CoreClient {
  readonly base: string;

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly apiKey = env.LODGE_API_KEY ?? null,
  ) {
    const host = env.LODGE_HOST && env.LODGE_HOST !== '0.0.0.0' ? env.LODGE_HOST : '127.0.0.1';
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${env.LODGE_PORT ?? DEFAULT_PORT}`;
  }

  /** Calls one app route, with the server's error message on failure. */
  async call<N extends AppRouteName>(name: N, input?: RouteInput<N>): Promise<RouteOutput<N>> {
    const spec = appRoutes[name];
    const { params, query, body } = (input ?? {}) as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
    };
    const url = new URL(this.base + routePath(spec.path, params));
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const response = await this.fetch(url, {
      method: spec.method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const parsed = AppErrorBodySchema.safeParse(payload);
      throw new CliError(parsed.success ? parsed.data.error.message : `Lodge answered ${response.status}.`);
    }
    return spec.response.parse(payload) as RouteOutput<N>;
  }

  /** A raw request to the server (streams), with the API key and a clear error when it is not running. */
  async fetch(url: URL | string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.apiKey) headers.set('authorization', `Bearer ${this.apiKey}`);
    try {
      return await fetch(url, { ...init, headers });
    } catch {
      throw new CliError(
        `Lodge is not running at ${this.base}. Start it with "lodge serve", or open the app.`,
      );
    }
  }
}
