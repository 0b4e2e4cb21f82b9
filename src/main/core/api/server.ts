import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppInfo } from '../../../shared/contract/system';
import type { ConversationRepository } from '../db/conversation-repository';
import type { RequestLogRepository } from '../db/request-log-repository';
import type { ResponseRepository } from '../db/response-repository';
import type { Engine } from '../engine/engine';
import { LodgeError } from '../errors';
import type { DownloadManager } from '../hub/download-manager';
import { Gallery } from '../gallery/gallery';
import type { HubClient } from '../hub/hub-client';
import type { ModelCatalog } from '../library/model-catalog';
import type { InferenceLog } from '../metrics/inference-log';
import type { MetricsHistory } from '../metrics/metrics-history';
import type { ModelAliases } from '../remote/model-aliases';
import type { RemoteEngines } from '../remote/remote-engines';
import { PrometheusMetrics } from '../metrics/prometheus';
import type { LogRing } from '../logging/log-ring';
import type { Logger } from '../logging/logger';
import { dataPaths } from '../paths';
import type { SettingsService } from '../settings-service';
import { registerAnthropicRoutes } from './anthropic/routes';
import { registerEngineRoutes } from './app/engine-routes';
import { registerConversationRoutes } from './app/conversation-routes';
import { registerEventStream } from './app/events';
import { registerDemoRoutes } from './app/demo-routes';
import { registerExportRoutes } from './app/export-routes';
import { registerHubRoutes } from './app/hub-routes';
import { registerImageRoutes } from './app/image-routes';
import { registerLibraryRoutes } from './app/library-routes';
import { registerMonitorRoutes } from './app/monitor-routes';
import { registerRemoteRoutes } from './app/remote-routes';
import { registerAppRoutes } from './app/routes';
import { answerClientError, registerErrorHandling, sendError, toLodgeError } from './error-handler';
import { registerJsonBodyParser } from './json-body';
import { registerKserveRoutes } from './kserve/routes';
import { registerOllamaRoutes } from './ollama/routes';
import { registerOpenAiRoutes } from './openai/routes';
import { registerRemoteImages } from './remote-images';
import { registerResponsesRoutes } from './responses/routes';
import { registerOpenApi, registerOpenApiRoute } from './openapi';
import { registerRequestLog } from './request-log';
import { registerSecurity, SecurityPolicy } from './security';
import { enterHops, HOP_HEADER } from '../remote/hop-count';
import { registerWebUi } from './web-ui';

/** Default JSON body limit; routes that take tensors raise their own. */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

/** What the HTTP server is built from. */
export interface HttpServerDeps {
  readonly engine: Engine;
  readonly catalog: ModelCatalog;
  readonly hub: HubClient;
  readonly conversations: ConversationRepository;
  /** The Responses API's stored responses. */
  readonly responses: ResponseRepository;
  readonly downloads: DownloadManager;
  readonly dirs: { readonly dataDir: string; readonly cacheDir: string };
  readonly inferences: InferenceLog;
  readonly logger: Logger;
  readonly settings: SettingsService;
  readonly logs: LogRing;
  readonly requests: RequestLogRepository;
  /** The Monitor's last hour; it counts each request the request log records. */
  readonly history: MetricsHistory;
  /** Remote OpenAI-compatible engines and the model aliases that route over them. */
  readonly remotes: RemoteEngines;
  readonly aliases: ModelAliases;
  readonly rendererDir: string | null;
  readonly info: () => AppInfo;
  readonly startedAt: number;
  readonly bodyLimit?: number;
  /** The demo-model writer (`demo-models.js` beside the runner); none: the demo route refuses. */
  readonly demoScript?: string;
  /** Where each served request's line goes (the server's terminal); none when not given. */
  readonly requestLines?: (line: string) => void;
}

/** The running HTTP server: one Fastify instance serving every API family and the web UI. */
export interface HttpServer {
  readonly fastify: FastifyInstance;
  /** Starts accepting connections; resolves once it does, with the bound address. */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** From now on, every request that arrives is answered `shutting_down` in its family's shape. */
  stopAccepting(): void;
  /**
   * Stops accepting (as {@link stopAccepting}) and listening, lets in-flight
   * requests finish, closes idle connections. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

/** Builds the server: security first, then error handling, OpenAPI, routes and the web UI. */
export async function createHttpServer(deps: HttpServerDeps): Promise<HttpServer> {
  let bound: { host: string; port: number } | null = null;
  const fastify = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Requests are recorded by our own request log (request-log.ts), not as two log lines each.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: () => `req_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    // While closing, requests still arriving on open connections get our own 503 (the hook below).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    // Errors Fastify meets before routing (a malformed percent-encoding in the URL), in the family's shape.
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, toLodgeError(error, request));
    },
    clientErrorHandler: answerClientError,
  });
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);

  const policy = new SecurityPolicy({
    settings: () => deps.settings.values,
    bound: () => bound ?? { host: deps.settings.values.host, port: deps.settings.values.port },
  });
  registerSecurity(fastify, policy);
  // A remote engine that leads back here is refused after a few rounds, not followed forever.
  fastify.addHook('onRequest', (request, _reply, done) => {
    // A callback hook, not an async one: the count must be entered in the context the handler runs in.
    const loop = enterHops(request.headers[HOP_HEADER]);
    if (loop === null) done();
    else done(loop);
  });
  let accepting = true;
  let closing: Promise<void> | null = null;
  fastify.addHook('onRequest', async (_request, reply) => {
    if (accepting) return;
    reply.header('connection', 'close');
    throw new LodgeError('shutting_down', 'Lodge is shutting down and accepts no new requests.', {
      retryAfterSeconds: 5,
    });
  });
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Anthropic's SDKs read the id from `request-id` (message._request_id).
    reply.header('request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  registerErrorHandling(fastify);
  registerJsonBodyParser(fastify);
  registerRequestLog(fastify, deps.requests, deps.requestLines, (record) =>
    deps.history.observeRequest(record),
  );
  const metrics = new PrometheusMetrics(deps.engine, deps.inferences);
  metrics.observe(fastify);
  fastify.addHook('onClose', async () => metrics.dispose());
  await registerOpenApi(fastify);

  registerAppRoutes(fastify, deps, policy);
  registerMonitorRoutes(fastify, deps.history, deps.requests);
  registerEngineRoutes(fastify, deps.engine, deps.inferences);
  registerLibraryRoutes(fastify, deps.catalog, deps.engine, deps.dirs, () => deps.remotes.modelViews());
  registerExportRoutes(fastify, deps.catalog, deps.dirs.dataDir);
  registerHubRoutes(fastify, deps.hub, deps.downloads, deps.catalog, deps.settings);
  registerConversationRoutes(fastify, deps.conversations);
  registerRemoteRoutes(fastify, deps.remotes, deps.aliases);
  registerEventStream(fastify, deps.catalog, deps.inferences, deps.downloads, deps.engine);
  registerRemoteImages(fastify, deps.settings);
  const gallery = new Gallery(join(deps.dirs.dataDir, 'images'));
  registerOpenAiRoutes(fastify, deps.engine, gallery);
  registerImageRoutes(fastify, deps.engine, gallery);
  registerDemoRoutes(fastify, deps.catalog, dataPaths(deps.dirs.dataDir).models, deps.demoScript ?? null);
  registerResponsesRoutes(fastify, deps.engine, deps.responses);
  registerAnthropicRoutes(fastify, deps.engine);
  registerOllamaRoutes(fastify, deps.engine, deps.catalog, deps.downloads);
  registerKserveRoutes(fastify, deps.engine);
  await registerOpenApiRoute(fastify);
  metrics.route(fastify);
  await registerWebUi(fastify, deps.rendererDir);
  await fastify.ready();

  return {
    fastify,
    async listen(host, port) {
      await fastify.listen({ host, port });
      const address = fastify.server.address() as AddressInfo;
      bound = { host, port: address.port };
      return bound;
    },
    stopAccepting() {
      accepting = false;
    },
    close() {
      accepting = false;
      closing ??= fastify.close();
      return closing;
    },
  };
}
