import { AppErrorBodySchema, type ErrorCode } from './errors';
import { appRoutes, routePath, type AppRouteName, type RouteInput, type RouteOutput } from './routes';

/** An error answered by the core to a contract call. */
export class RouteError extends Error {
  override readonly name = 'RouteError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'internal',
    message: string,
  ) {
    super(message);
  }
}

/** The URL and fetch options of one contract call (the renderer and the CLI share them). */
export function routeRequest<N extends AppRouteName>(
  base: string,
  name: N,
  input: RouteInput<N> | undefined,
  headers: Record<string, string>,
): { url: URL; init: RequestInit } {
  const spec = appRoutes[name];
  const { params, query, body } = (input ?? {}) as {
    params?: Record<string, string>;
    query?: Record<string, unknown>;
    body?: unknown;
  };
  const url = new URL(base + routePath(spec.path, params));
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const allHeaders: Record<string, string> = { accept: 'application/json', ...headers };
  if (body !== undefined) allHeaders['content-type'] = 'application/json';
  return {
    url,
    init: {
      method: spec.method,
      headers: allHeaders,
      body: body === undefined ? null : JSON.stringify(body),
    },
  };
}

/** The reply of a contract call, validated against its schema; a non-2xx reply throws a {@link RouteError}. */
export async function routeResult<N extends AppRouteName>(
  name: N,
  response: Response,
): Promise<RouteOutput<N>> {
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const parsed = AppErrorBodySchema.safeParse(payload);
    if (parsed.success)
      throw new RouteError(response.status, parsed.data.error.code, parsed.data.error.message);
    throw new RouteError(
      response.status,
      'internal',
      `Lodge answered ${response.status} ${response.statusText}.`,
    );
  }
  return appRoutes[name].response.parse(payload) as RouteOutput<N>;
}
