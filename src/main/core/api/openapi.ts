import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { LODGE_VERSION } from '../version';

/**
 * Collects every route's zod schemas into an OpenAPI 3 document. Must be registered before the
 * routes, since it records them as they are added.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lodge',
        version: LODGE_VERSION,
        description:
          'Lodge hosts AI models on this machine. OpenAI-compatible routes live under /v1 ' +
          '(Anthropic Messages at /v1/messages), ' +
          "Ollama-compatible under /api, KServe v2 under /v2, and the app's own API under /app.",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
}

/** `GET /openapi.json`, and `/docs`: the document rendered by Swagger UI (its assets ship in the package). */
export async function registerOpenApiRoute(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { url: '/openapi.json', deepLinking: true },
  });
}
