import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { appRoutes, type AppRouteName, type RouteOutput } from '../../../shared/routes';

/** What a contract handler receives: the validated query and body of its route. */
export interface ContractInput {
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
  readonly request: FastifyRequest;
}

/**
 * Registers the handler for one route of the shared app contract, with that route's schemas for
 * validation, response serialization and the OpenAPI document.
 */
export function contractRoute<N extends AppRouteName>(
  app: FastifyInstance,
  name: N,
  handler: (input: ContractInput) => RouteOutput<N> | Promise<RouteOutput<N>>,
): void {
  const spec = appRoutes[name];
  app.withTypeProvider<ZodTypeProvider>().route({
    method: spec.method,
    url: spec.path,
    schema: {
      operationId: name,
      tags: ['app'],
      ...('params' in spec ? { params: spec.params } : {}),
      ...('query' in spec ? { querystring: spec.query } : {}),
      ...('body' in spec ? { body: spec.body } : {}),
      response: { 200: spec.response },
    },
    handler: (request) =>
      handler({ params: request.params, query: request.query, body: request.body, request }),
  });
}
