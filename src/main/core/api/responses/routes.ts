import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ResponseRepository, StoredResponse } from '../../db/response-repository';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import { createResponse } from './create';
import { CreateResponseRequestSchema, InputItemsQuerySchema, ResponseParamsSchema } from './schemas';

/**
 * The OpenAI Responses API under /v1: create (whole or streamed), retrieve, delete, and list a
 * stored response's input items. Stored responses live in SQLite, so they outlast a restart.
 */
export function registerResponsesRoutes(
  app: FastifyInstance,
  engine: Engine,
  responses: ResponseRepository,
): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['openai'];
  const stored = (id: string): StoredResponse => {
    const found = responses.get(id);
    if (found === null) throw notFound(id);
    return found;
  };
  typed.post('/v1/responses', { schema: { tags, body: CreateResponseRequestSchema } }, (request, reply) =>
    createResponse(engine, responses, request.body, { request, reply }),
  );
  typed.get(
    '/v1/responses/:id',
    { schema: { tags, params: ResponseParamsSchema } },
    (request) => stored(request.params.id).response,
  );
  typed.delete('/v1/responses/:id', { schema: { tags, params: ResponseParamsSchema } }, (request) => {
    if (!responses.delete(request.params.id)) throw notFound(request.params.id);
    return { id: request.params.id, object: 'response', deleted: true };
  });
  typed.get(
    '/v1/responses/:id/input_items',
    { schema: { tags, params: ResponseParamsSchema, querystring: InputItemsQuerySchema } },
    (request) => {
      const { after, limit = 20, order = 'desc' } = request.query;
      const items = [...stored(request.params.id).input];
      if (order === 'desc') items.reverse();
      const start = after === undefined ? 0 : items.findIndex((item) => item.id === after) + 1;
      if (after !== undefined && start === 0) {
        throw new LodgeError('invalid_request', `after: no input item "${after}" in this response.`, {
          param: 'after',
        });
      }
      const data = items.slice(start, start + limit);
      return {
        object: 'list',
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: start + limit < items.length,
      };
    },
  );
}

function notFound(id: string): LodgeError {
  return new LodgeError(
    'not_found',
    `No response with id "${id}": it was made with store: false, deleted, or never made.`,
  );
}
