import { z } from 'zod';
import {
  ConversationDetailSchema,
  ConversationParamsSchema,
  ConversationSchema,
  CreateConversationSchema,
  ReplaceMessagesSchema,
  UpdateConversationSchema,
} from './contract/conversations';
import { ExportModelSchema, ExportResultSchema } from './contract/export';
import { HealthSchema } from './contract/health';
import {
  DeleteImageResultSchema,
  DemoModelsResultSchema,
  GalleryListSchema,
  ImageParamsSchema,
} from './contract/images';
import { MetricsHistoryQuerySchema, MetricsHistorySchema } from './contract/metrics';
import {
  DownloadListSchema,
  DownloadParamsSchema,
  DownloadSchema,
  HubRepoSchema,
  HubSearchQuerySchema,
  HubSearchSchema,
  StartDownloadSchema,
} from './contract/hub';
import {
  DeleteModelResultSchema,
  DiskUsageSchema,
  ImportModelSchema,
  ModelParamsSchema,
  UpdateModelSchema,
} from './contract/library';
import {
  InferenceListSchema,
  ModelDetailSchema,
  InferenceQuerySchema,
  LoadModelSchema,
  ModelListSchema,
  RescanResultSchema,
  RunningListSchema,
  RunningModelSchema,
  UnloadModelSchema,
  UnloadResultSchema,
} from './contract/models';
import {
  AddEngineSchema,
  AliasParamsSchema,
  CreateAliasSchema,
  EngineParamsSchema,
  ModelAliasListSchema,
  ModelAliasSchema,
  RemoteEngineListSchema,
  RemoteEngineSchema,
  RemovedSchema,
  SaveAliasSchema,
} from './contract/remote';
import { SettingsPatchSchema, SettingsViewSchema } from './contract/settings';
import { revisionRoutes } from './revision-routes';
import {
  AppInfoSchema,
  LogListSchema,
  LogQuerySchema,
  RequestErrorQuerySchema,
  RequestListSchema,
  RequestQuerySchema,
} from './contract/system';

/** An HTTP method the app API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One route of the app's own API: its method, path and the schemas of what goes in and out. */
export interface RouteSpec {
  readonly method: HttpMethod;
  readonly path: string;
  /** Path parameters (`:owner` in the path), when the route has them. */
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
}

/**
 * The app API contract (`/health`, `/app/*`). The server registers its handlers against these
 * schemas, and the renderer's client and the CLI call through them, so all three agree by construction.
 */
export const appRoutes = {
  health: { method: 'GET', path: '/health', response: HealthSchema },
  info: { method: 'GET', path: '/app/info', response: AppInfoSchema },
  logs: { method: 'GET', path: '/app/logs', query: LogQuerySchema, response: LogListSchema },
  requests: { method: 'GET', path: '/app/requests', query: RequestQuerySchema, response: RequestListSchema },
  /** The requests that failed, newest first: every 4xx/5xx answer and every error sent inside a stream. */
  requestErrors: {
    method: 'GET',
    path: '/app/requests/errors',
    query: RequestErrorQuerySchema,
    response: RequestListSchema,
  },
  /** The Monitor's last hour: samples of this run and per-minute aggregates kept across restarts. */
  metricsHistory: {
    method: 'GET',
    path: '/app/metrics/history',
    query: MetricsHistoryQuerySchema,
    response: MetricsHistorySchema,
  },
  settings: { method: 'GET', path: '/app/settings', response: SettingsViewSchema },
  updateSettings: {
    method: 'PATCH',
    path: '/app/settings',
    body: SettingsPatchSchema,
    response: SettingsViewSchema,
  },
  models: { method: 'GET', path: '/app/models', response: ModelListSchema },
  model: {
    method: 'GET',
    path: '/app/models/:owner/:name',
    params: ModelParamsSchema,
    response: ModelDetailSchema,
  },
  importModel: {
    method: 'POST',
    path: '/app/models/import',
    body: ImportModelSchema,
    response: ModelDetailSchema,
  },
  updateModel: {
    method: 'PATCH',
    path: '/app/models/:owner/:name',
    params: ModelParamsSchema,
    body: UpdateModelSchema,
    response: ModelDetailSchema,
  },
  deleteModel: {
    method: 'DELETE',
    path: '/app/models/:owner/:name',
    params: ModelParamsSchema,
    response: DeleteModelResultSchema,
  },
  /** Writes the model as a Triton model repository (and a KServe InferenceService) into a folder. */
  exportModel: {
    method: 'POST',
    path: '/app/models/:owner/:name/export',
    params: ModelParamsSchema,
    body: ExportModelSchema,
    response: ExportResultSchema,
  },
  refreshModels: { method: 'POST', path: '/app/models/refresh', response: ModelListSchema },
  /** Reconciles the library with the disk now, and says what that changed. */
  rescanModels: { method: 'POST', path: '/app/models/rescan', response: RescanResultSchema },
  disk: { method: 'GET', path: '/app/disk', response: DiskUsageSchema },
  ...revisionRoutes,
  conversations: {
    method: 'GET',
    path: '/app/conversations',
    response: z.object({ conversations: z.array(ConversationSchema) }),
  },
  createConversation: {
    method: 'POST',
    path: '/app/conversations',
    body: CreateConversationSchema,
    response: ConversationDetailSchema,
  },
  conversation: {
    method: 'GET',
    path: '/app/conversations/:id',
    params: ConversationParamsSchema,
    response: ConversationDetailSchema,
  },
  updateConversation: {
    method: 'PATCH',
    path: '/app/conversations/:id',
    params: ConversationParamsSchema,
    body: UpdateConversationSchema,
    response: ConversationDetailSchema,
  },
  replaceMessages: {
    method: 'PUT',
    path: '/app/conversations/:id/messages',
    params: ConversationParamsSchema,
    body: ReplaceMessagesSchema,
    response: ConversationDetailSchema,
  },
  deleteConversation: {
    method: 'DELETE',
    path: '/app/conversations/:id',
    params: ConversationParamsSchema,
    response: z.object({ deleted: z.boolean() }),
  },
  apiKey: {
    method: 'GET',
    path: '/app/settings/api-key',
    response: z.object({ apiKey: z.string().nullable() }),
  },
  system: {
    method: 'GET',
    path: '/app/system',
    response: z.object({
      time: z.iso.datetime(),
      cpuPercent: z.number(),
      memoryUsedBytes: z.number(),
      memoryTotalBytes: z.number(),
      coreRssBytes: z.number(),
      loadAverage: z.array(z.number()),
      gpus: z.array(
        z.object({
          index: z.number(),
          name: z.string(),
          utilizationPercent: z.number().nullable(),
          memoryUsedBytes: z.number().nullable(),
          memoryTotalBytes: z.number().nullable(),
        }),
      ),
      /** Why there are no GPU figures, when there are none. */
      gpuNote: z.string().nullable(),
    }),
  },
  hubSearch: {
    method: 'GET',
    path: '/app/hub/search',
    query: HubSearchQuerySchema,
    response: HubSearchSchema,
  },
  hubRepo: {
    method: 'GET',
    path: '/app/hub/models/:owner/:name',
    params: ModelParamsSchema,
    response: HubRepoSchema,
  },
  downloads: { method: 'GET', path: '/app/downloads', response: DownloadListSchema },
  startDownload: {
    method: 'POST',
    path: '/app/downloads',
    body: StartDownloadSchema,
    response: DownloadSchema,
  },
  pauseDownload: {
    method: 'POST',
    path: '/app/downloads/:id/pause',
    params: DownloadParamsSchema,
    response: DownloadSchema,
  },
  resumeDownload: {
    method: 'POST',
    path: '/app/downloads/:id/resume',
    params: DownloadParamsSchema,
    response: DownloadSchema,
  },
  cancelDownload: {
    method: 'POST',
    path: '/app/downloads/:id/cancel',
    params: DownloadParamsSchema,
    response: DownloadSchema,
  },
  runners: { method: 'GET', path: '/app/runners', response: RunningListSchema },
  loadModel: { method: 'POST', path: '/app/runners', body: LoadModelSchema, response: RunningModelSchema },
  unloadModel: {
    method: 'POST',
    path: '/app/runners/unload',
    body: UnloadModelSchema,
    response: UnloadResultSchema,
  },
  /** The generated images kept in the data directory, newest first. */
  images: { method: 'GET', path: '/app/images', response: GalleryListSchema },
  deleteImage: {
    method: 'DELETE',
    path: '/app/images/:id',
    params: ImageParamsSchema,
    response: DeleteImageResultSchema,
  },
  /** Writes the demo models (random weights, one of every kind) into models/ and rescans. */
  addDemoModels: { method: 'POST', path: '/app/models/demo', response: DemoModelsResultSchema },
  inferences: {
    method: 'GET',
    path: '/app/inferences',
    query: InferenceQuerySchema,
    response: InferenceListSchema,
  },
  /** Remote OpenAI-compatible engines, with their health and models. */
  engines: { method: 'GET', path: '/app/engines', response: RemoteEngineListSchema },
  /** Adds a remote engine (or changes one), then checks it. */
  addEngine: { method: 'POST', path: '/app/engines', body: AddEngineSchema, response: RemoteEngineSchema },
  /** Checks a remote engine now: its model list, and how long that took. */
  checkEngine: {
    method: 'POST',
    path: '/app/engines/:name/check',
    params: EngineParamsSchema,
    response: RemoteEngineSchema,
  },
  removeEngine: {
    method: 'DELETE',
    path: '/app/engines/:name',
    params: EngineParamsSchema,
    response: RemovedSchema,
  },
  aliases: { method: 'GET', path: '/app/aliases', response: ModelAliasListSchema },
  /** Adds an alias or replaces its targets, its name in the body. */
  createAlias: { method: 'POST', path: '/app/aliases', body: CreateAliasSchema, response: ModelAliasSchema },
  saveAlias: {
    method: 'PUT',
    path: '/app/aliases/:name',
    params: AliasParamsSchema,
    body: SaveAliasSchema,
    response: ModelAliasSchema,
  },
  removeAlias: {
    method: 'DELETE',
    path: '/app/aliases/:name',
    params: AliasParamsSchema,
    response: RemovedSchema,
  },
} as const satisfies Record<string, RouteSpec>;

/** The name of one app route. */
export type AppRouteName = keyof typeof appRoutes;

type Spec<N extends AppRouteName> = (typeof appRoutes)[N];

/** What a caller passes to an app route: its path parameters, query and body, where it has them. */
export type RouteInput<N extends AppRouteName> = (Spec<N> extends { params: z.ZodType }
  ? { params: z.input<Spec<N>['params']> }
  : unknown) &
  (Spec<N> extends { query: z.ZodType } ? { query?: z.input<Spec<N>['query']> } : unknown) &
  (Spec<N> extends { body: z.ZodType } ? { body: z.input<Spec<N>['body']> } : unknown);

/** A route's path with its parameters filled in (each percent-encoded). */
export function routePath(path: string, params: Readonly<Record<string, string>> = {}): string {
  return path.replace(/:([A-Za-z]+)/g, (_match, name: string) => encodeURIComponent(params[name] ?? ''));
}

/** What an app route answers. */
export type RouteOutput<N extends AppRouteName> = z.output<Spec<N>['response']>;
