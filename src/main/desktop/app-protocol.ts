import { relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { net, protocol } from 'electron';

/** The renderer's origin: `app://lodge`. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'lodge';

/** Must run before `app.ready`: makes `app://` a standard, secure scheme that can use fetch. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/**
 * Serves `app://lodge/*` from the built renderer folder only, with a CSP that allows scripts from
 * the app itself and connections to the core's loopback origin, nothing more.
 */
export function handleAppProtocol(rendererDir: string, coreOrigin: () => string): void {
  const root = resolve(rendererDir);
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return new Response('Not found', { status: 404 });
    const pathname = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = resolve(root, `.${pathname}`);
    const inside = relative(root, file);
    if (inside.startsWith('..') || inside.includes(`..${sep}`) || resolve(file) === root) {
      return new Response('Not found', { status: 404 });
    }
    const response = await net.fetch(pathToFileURL(file).href);
    if (!pathname.endsWith('.html')) return response;
    const headers = new Headers(response.headers);
    headers.set('content-security-policy', desktopCsp(coreOrigin()));
    return new Response(response.body, { status: response.status, headers });
  });
}

function desktopCsp(coreOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ${coreOrigin}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
