import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Engine } from '../../engine/engine';
import type { DownloadManager } from '../../hub/download-manager';
import type { ModelCatalog } from '../../library/model-catalog';
import { shorten } from '../openai/embeddings';
import { noteUsage } from '../request-log';
import { clientGone } from '../streaming';
import { chat, generate } from './chat';
import { capabilities, details, psOf, tagOf } from './model-views';
import { pull } from './pull';
import { keepAliveMs, modelName } from './options';
import {
  ChatSchema,
  CopySchema,
  EmbedSchema,
  GenerateSchema,
  LegacyEmbeddingsSchema,
  ModelNameSchema,
} from './schemas';

/**
 * The Ollama API level Lodge speaks. Clients (Open WebUI and others) compare it with the minimum
 * they need, so it names the Ollama release whose API Lodge follows, not Lodge's own version.
 */
export const OLLAMA_API_VERSION = '0.12.0';

/** Parses bodies of any content type as JSON: curl -d sends form encoding, and Ollama accepts it. */
function acceptAnyJson(app: FastifyInstance): void {
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'text/plain'],
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      try {
        done(null, text === '' ? {} : JSON.parse(text));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        done(
          Object.assign(new Error(message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }),
          undefined,
        );
      }
    },
  );
}

/** The Ollama-compatible routes under /api (and `GET /` is served with the web UI). */
export function registerOllamaRoutes(
  app: FastifyInstance,
  engine: Engine,
  catalog: ModelCatalog,
  downloads: DownloadManager,
): void {
  void app.register(async (scope) => {
    acceptAnyJson(scope);
    const typed = scope.withTypeProvider<ZodTypeProvider>();
    const tags = ['ollama'];
    typed.get('/api/version', { schema: { tags } }, () => ({ version: OLLAMA_API_VERSION }));
    typed.get('/api/tags', { schema: { tags } }, () => ({ models: engine.models().map(tagOf) }));
    typed.get('/api/ps', { schema: { tags } }, () => ({
      models: engine.running().map((running) => psOf(engine.resolve(running.id).record, running)),
    }));
    typed.post('/api/show', { schema: { tags, body: ModelNameSchema } }, (request) => {
      const { record } = engine.resolve(modelName(request.body));
      const architecture = record.architecture ?? 'onnx';
      return {
        modelfile: '',
        parameters: '',
        template: record.chatTemplate ?? '',
        system: '',
        license: '',
        details: details(record),
        model_info: {
          'general.architecture': architecture,
          ...(record.contextLength ? { [`${architecture}.context_length`]: record.contextLength } : {}),
        },
        capabilities: capabilities(record),
        modified_at: new Date(record.modifiedAt).toISOString(),
      };
    });
    typed.post('/api/chat', { schema: { tags, body: ChatSchema } }, (request, reply) =>
      chat(engine, request.body, { request, reply }),
    );
    typed.post('/api/generate', { schema: { tags, body: GenerateSchema } }, (request, reply) =>
      generate(engine, request.body, { request, reply }),
    );
    typed.post('/api/embed', { schema: { tags, body: EmbedSchema } }, async (request, reply) => {
      const { body } = request;
      const started = performance.now();
      const inputs = typeof body.input === 'string' ? [body.input] : body.input;
      const keepAlive = keepAliveMs(body.keep_alive);
      const result = await engine.embed(
        modelName(body),
        { inputs, truncate: body.truncate !== false },
        {
          signal: clientGone(request, reply),
          ...(keepAlive !== undefined ? { keepAliveMs: keepAlive } : {}),
        },
      );
      noteUsage(request, { model: modelName(body), promptTokens: result.promptTokens });
      return {
        model: modelName(body),
        embeddings: result.embeddings.map((vector) => [...shorten(vector, body.dimensions)]),
        total_duration: Math.round((performance.now() - started) * 1e6),
        load_duration: 0,
        prompt_eval_count: result.promptTokens,
      };
    });
    typed.post(
      '/api/embeddings',
      { schema: { tags, body: LegacyEmbeddingsSchema } },
      async (request, reply) => {
        const { body } = request;
        const result = await engine.embed(
          modelName(body),
          { inputs: [body.prompt], truncate: true, normalize: false },
          { signal: clientGone(request, reply) },
        );
        noteUsage(request, { model: modelName(body), promptTokens: result.promptTokens });
        return { embedding: [...(result.embeddings[0] ?? [])] };
      },
    );
    typed.post('/api/pull', { schema: { tags, body: ModelNameSchema } }, (request, reply) =>
      pull(downloads, request.body, request, reply),
    );
    typed.delete('/api/delete', { schema: { tags, body: ModelNameSchema } }, async (request, reply) => {
      const { record } = engine.resolve(modelName(request.body));
      await engine.unload(record.id);
      catalog.remove(record.id);
      return reply.code(200).send();
    });
    typed.post('/api/copy', { schema: { tags, body: CopySchema } }, (request, reply) => {
      catalog.copy(request.body.source, request.body.destination);
      return reply.code(200).send();
    });
  });
}
