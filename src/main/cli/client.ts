import { RouteError, routeRequest, routeResult } from '../../shared/call-route';
import type { AppRouteName, RouteInput, RouteOutput } from '../../shared/routes';
import { DEFAULT_PORT } from '../../shared/contract/settings';

/** A failure the CLI reports in one line and exits with: 1, or 130 when the user pressed Ctrl+C. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
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

  /** Calls one app route, with the server's error message on failure; `signal` abandons it. */
  async call<N extends AppRouteName>(
    name: N,
    input?: RouteInput<N>,
    signal?: AbortSignal,
  ): Promise<RouteOutput<N>> {
    const { url, init } = routeRequest(this.base, name, input, {});
    try {
      return await routeResult(name, await this.fetch(url, signal ? { ...init, signal } : init));
    } catch (error) {
      if (error instanceof RouteError) throw new CliError(error.message);
      throw error;
    }
  }

  /** A raw request to the server (streams), with the API key and a clear error when it is not running. */
  async fetch(url: URL | string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.apiKey) headers.set('authorization', `Bearer ${this.apiKey}`);
    try {
      return await fetch(url, { ...init, headers });
    } catch (error) {
      // An abort is the caller's own doing (Ctrl+C), not a server that went away.
      if (init.signal?.aborted) throw error;
      throw new CliError(
        `Lodge is not running at ${this.base}. Start it with "lodge serve", or open the app.`,
      );
    }
  }
}
