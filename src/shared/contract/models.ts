import { z } from 'zod';
import { EXECUTION_PROVIDERS } from '../engine';
import { ModelFileSchema, ModelPresetSchema, ModelSourceSchema } from './library';

const TaskSchema = z.enum([
  'text-generation',
  'embeddings',
  'tensors',
  'text-to-image',
  'image-text-to-text',
  'speech-to-text',
]);

/** A model in the library, as the app API lists it. */
export const ModelSummarySchema = z.object({
  id: z.string(),
  format: z.enum(['hf-onnx', 'onnx']),
  task: TaskSchema,
  architecture: z.string().nullable(),
  variants: z.array(z.object({ name: z.string(), bytes: z.number() })),
  contextLength: z.number().nullable(),
  hasChatTemplate: z.boolean(),
  status: z.enum(['ready', 'missing']),
  source: ModelSourceSchema,
  location: z.string(),
  parameterCount: z.number().nullable(),
  totalBytes: z.number(),
  alias: z.string().nullable(),
  tags: z.array(z.string()),
  preset: ModelPresetSchema,
  addedAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
});

/** Parsed form of {@link ModelSummarySchema}. */
export type ModelSummary = z.infer<typeof ModelSummarySchema>;

/**
 * `GET /app/models`: the models, and those whose stored record this Lodge cannot read (written by
 * a newer Lodge, or edited by hand), by id with why; they are kept untouched, not listed as models.
 */
export const ModelListSchema = z.object({
  models: z.array(ModelSummarySchema),
  unreadable: z.array(z.object({ id: z.string(), reason: z.string() })),
  /** The models of the remote engines (`engine/model`), with their engine's health at its last check. */
  remote: z
    .array(z.object({ id: z.string(), engine: z.string(), status: z.enum(['up', 'down', 'unknown']) }))
    .optional(),
});

/**
 * `POST /app/models/rescan` reply: the library after it was reconciled with the disk, and what that
 * changed: models added (folders dropped into models/), gone missing (their files vanished; the
 * library keeps them, marked missing) and restored (their files are back).
 */
export const RescanResultSchema = ModelListSchema.extend({
  added: z.array(z.string()),
  missing: z.array(z.string()),
  restored: z.array(z.string()),
});

/** Parsed form of {@link RescanResultSchema}. */
export type RescanResult = z.infer<typeof RescanResultSchema>;

/** `GET /app/models/:owner/:name`: the summary, every file with its checksum, and the graph's I/O. */
export const ModelDetailSchema = ModelSummarySchema.extend({
  files: z.array(ModelFileSchema),
  inputs: z.array(
    z.object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.number(), z.string()])) }),
  ),
  outputs: z.array(
    z.object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.number(), z.string()])) }),
  ),
});

/** Parsed form of {@link ModelDetailSchema}. */
export type ModelDetail = z.infer<typeof ModelDetailSchema>;

/** A loaded model: where it runs, what it uses, and when it will be unloaded. */
export const RunningModelSchema = z.object({
  id: z.string(),
  task: TaskSchema,
  variant: z.string(),
  /** The quantization made at load that it runs (the `quantize` setting or preset); null: as exported. */
  quantized: z.enum(['q8', 'q4']).nullable(),
  /** Why a quantization asked for at load is not what runs (it then runs as exported); null otherwise. */
  quantizeNote: z.string().nullable(),
  provider: z.enum(EXECUTION_PROVIDERS),
  skippedProviders: z.array(z.object({ provider: z.enum(EXECUTION_PROVIDERS), reason: z.string() })),
  pid: z.number().nullable(),
  rssBytes: z.number().nullable(),
  estimatedBytes: z.number(),
  loadedAt: z.iso.datetime(),
  loadMs: z.number(),
  lastUsedAt: z.iso.datetime(),
  busy: z.boolean(),
  queueLength: z.number(),
  /** Requests it serves now (generations decoding together). */
  active: z.number(),
  /** Requests it serves at once at most: its `parallel`, or 1 when it cannot batch. */
  parallel: z.number(),
  /** Why a language model runs one generation at a time though more were asked for. */
  batchingNote: z.string().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  contextLength: z.number().nullable(),
});

/** Parsed form of {@link RunningModelSchema}. */
export type RunningModelView = z.infer<typeof RunningModelSchema>;

/** `GET /app/runners`. */
export const RunningListSchema = z.object({ models: z.array(RunningModelSchema) });

/** `POST /app/runners`: load a model; keepAliveSeconds as the setting (negative keeps it loaded). */
export const LoadModelSchema = z.object({
  model: z.string().min(1).max(300),
  keepAliveSeconds: z.number().int().min(-1).optional(),
});

/** `POST /app/runners/unload`. */
export const UnloadModelSchema = z.object({ model: z.string().min(1).max(300) });

/** `POST /app/runners/unload` reply. */
export const UnloadResultSchema = z.object({ model: z.string(), unloaded: z.boolean() });

/** One inference as recorded by the engine. */
export const InferenceRecordSchema = z.object({
  time: z.iso.datetime(),
  model: z.string(),
  task: TaskSchema,
  promptTokens: z.number(),
  cachedTokens: z.number(),
  completionTokens: z.number(),
  queueWaitMs: z.number(),
  timeToFirstTokenMs: z.number().nullable(),
  decodeTokensPerSecond: z.number().nullable(),
  totalMs: z.number(),
  outcome: z.enum(['stop', 'length', 'cancelled', 'error', 'ok']),
});

/** `GET /app/inferences` query and reply. */
export const InferenceQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const InferenceListSchema = z.object({ inferences: z.array(InferenceRecordSchema) });
