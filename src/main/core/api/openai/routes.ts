import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Engine } from '../../engine/engine';
import type { Gallery } from '../../gallery/gallery';
import type { ModelRecord } from '../../library/model-record';
import { registerAudioRoutes } from './audio-transcriptions';
import { chatCompletions } from './chat';
import { completions } from './completions';
import { embeddings } from './embeddings';
import { imageGenerations, ImageGenerationRequestSchema } from './images';
import { ChatCompletionRequestSchema, CompletionRequestSchema, EmbeddingRequestSchema } from './schemas';

function modelObject(record: ModelRecord) {
  return {
    id: record.id,
    object: 'model',
    created: Math.floor(record.modifiedAt / 1000),
    owned_by: record.id.split('/')[0] ?? 'local',
  };
}

/**
 * The OpenAI-compatible routes, under /v1 and at the bare origin (some clients leave the prefix
 * off): thin translations onto the engine.
 */
export function registerOpenAiRoutes(app: FastifyInstance, engine: Engine, gallery: Gallery): void {
  registerAudioRoutes(app, engine);
  for (const prefix of ['/v1', '']) {
    const typed = app.withTypeProvider<ZodTypeProvider>();
    const hide = prefix === '';
    typed.get(`${prefix}/models`, { schema: { hide, tags: ['openai'] } }, () => ({
      object: 'list',
      data: engine.models().map(modelObject),
    }));
    // Model ids hold a slash; clients percent-encode it (openai-node) or not.
    typed.get<{ Params: { '*': string } }>(
      `${prefix}/models/*`,
      { schema: { hide, tags: ['openai'] } },
      (request) => {
        const id = decodeURIComponent(request.params['*']);
        return modelObject(engine.resolve(id).record);
      },
    );
    typed.post(
      `${prefix}/chat/completions`,
      { schema: { hide, tags: ['openai'], body: ChatCompletionRequestSchema } },
      (request, reply) => chatCompletions(engine, request.body, { request, reply }),
    );
    typed.post(
      `${prefix}/completions`,
      { schema: { hide, tags: ['openai'], body: CompletionRequestSchema } },
      (request, reply) => completions(engine, request.body, { request, reply }),
    );
    typed.post(
      `${prefix}/embeddings`,
      { schema: { hide, tags: ['openai'], body: EmbeddingRequestSchema } },
      (request, reply) => embeddings(engine, request.body, { request, reply }),
    );
    typed.post(
      `${prefix}/images/generations`,
      { schema: { hide, tags: ['openai'], body: ImageGenerationRequestSchema } },
      (request, reply) => imageGenerations(engine, gallery, request.body, { request, reply }),
    );
  }
}
