import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Engine } from '../../engine/engine';
import { countTokens } from './count-tokens';
import { createMessage } from './message';
import { CountTokensRequestSchema, MessagesRequestSchema } from './schemas';

/**
 * Anthropic's Messages API under /v1/messages (Claude Code and the Anthropic SDKs): the key comes
 * as `x-api-key` or a bearer token, and `anthropic-version` is accepted and not needed.
 */
export function registerAnthropicRoutes(app: FastifyInstance, engine: Engine): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.post(
    '/v1/messages',
    { schema: { tags: ['anthropic'], body: MessagesRequestSchema } },
    (request, reply) => createMessage(engine, request.body, { request, reply }),
  );
  typed.post(
    '/v1/messages/count_tokens',
    { schema: { tags: ['anthropic'], body: CountTokensRequestSchema } },
    (request, reply) => countTokens(engine, request.body, { request, reply }),
  );
}
