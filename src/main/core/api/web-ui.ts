import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The web UI's Content-Security-Policy: its own scripts only, and API calls to its own origin. */
export const WEB_UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the built renderer at `/` for browsers. `GET /` also keeps Ollama's liveness contract:
 * clients that do not ask for HTML get `Ollama is running` (as Ollama's own server answers its root).
 */
export async function registerWebUi(app: FastifyInstance, rendererDir: string | null): Promise<void> {
  const built = rendererDir !== null && existsSync(join(rendererDir, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: join(rendererDir, 'assets'),
      prefix: '/assets/',
      decorateReply: true,
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    });
  }

  const sendUi = (reply: FastifyReply) => {
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The Lodge web UI is not built. Run `npm run build`, then reload.');
    }
    return reply
      .header('content-security-policy', WEB_UI_CSP)
      .header('cache-control', 'no-cache')
      .sendFile('index.html', rendererDir);
  };
  const wantsHtml = (request: FastifyRequest) => String(request.headers.accept ?? '').includes('text/html');

  app.get('/', { schema: { hide: true } }, (request, reply) => {
    if (wantsHtml(request)) return sendUi(reply);
    return reply.type('text/plain; charset=utf-8').send('Ollama is running');
  });
  app.get('/index.html', { schema: { hide: true } }, (_request, reply) => sendUi(reply));
  app.get('/favicon.svg', { schema: { hide: true } }, (_request, reply) =>
    built
      ? reply.header('cache-control', 'max-age=86400').sendFile('favicon.svg', rendererDir)
      : reply.code(404).send(),
  );
}
