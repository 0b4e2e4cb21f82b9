import { z } from 'zod';
import { EXECUTION_PROVIDERS, QUANTIZE_MODES } from '../engine';

/**
 * What a model uses when a request leaves a field out: every API applies it (a request's own
 * values always win).
 */
export const ModelPresetSchema = z
  .object({
    systemPrompt: z.string().max(100_000),
    temperature: z.number().min(0).max(5),
    topP: z.number().min(0).max(1),
    topK: z.number().int().min(0),
    minP: z.number().min(0).max(1),
    repetitionPenalty: z.number().min(0.01).max(10),
    maxTokens: z.number().int().min(1),
    keepAliveSeconds: z.number().int().min(-1),
    providers: z.array(z.enum(EXECUTION_PROVIDERS)).min(1),
    variant: z.string().min(1).max(32),
    /** Text generations this model decodes together; overrides the `parallel` setting. */
    parallel: z.number().int().min(1).max(64),
    /** Quantization at load on the CPU; overrides the `quantize` setting. */
    quantize: z.enum(QUANTIZE_MODES),
  })
  .partial()
  .strict();

/** Parsed form of {@link ModelPresetSchema}. */
export type ModelPreset = z.infer<typeof ModelPresetSchema>;

/** Where a model came from. */
export const ModelSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('folder') }),
  z.object({ kind: z.literal('import'), path: z.string(), inPlace: z.boolean() }),
  z.object({ kind: z.literal('hub'), repo: z.string(), revision: z.string() }),
]);

/** Parsed form of {@link ModelSourceSchema}. */
export type ModelSource = z.infer<typeof ModelSourceSchema>;

/** One file of a model, with its checksum once computed. */
export const ModelFileSchema = z.object({
  path: z.string(),
  bytes: z.number(),
  sha256: z.string().nullable(),
});

/** Parsed form of {@link ModelFileSchema}. */
export type ModelFile = z.infer<typeof ModelFileSchema>;

/** `POST /app/models/import`: a model folder or `.onnx` file on this machine, copied in or used where it is. */
export const ImportModelSchema = z.object({
  path: z.string().min(1).max(4096),
  mode: z.enum(['copy', 'in-place']).default('copy'),
  /** The id to give it (`owner/name`); by default `local/<folder or file name>`. */
  id: z.string().min(1).max(201).optional(),
});

/** `PATCH /app/models/:owner/:name`: alias, tags and preset; null clears. */
export const UpdateModelSchema = z
  .object({
    alias: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-"')
      .nullable(),
    tags: z.array(z.string().min(1).max(40)).max(32),
    preset: ModelPresetSchema,
  })
  .partial()
  .strict();

/** The path parameters of one model's routes. */
export const ModelParamsSchema = z.object({ owner: z.string().min(1), name: z.string().min(1) });

/** `GET /app/disk`: what models take and what is left. */
export const DiskUsageSchema = z.object({
  dataDir: z.string(),
  modelsBytes: z.number(),
  cacheBytes: z.number(),
  freeBytes: z.number(),
  totalBytes: z.number(),
});

/** `DELETE /app/models/:owner/:name` reply. */
export const DeleteModelResultSchema = z.object({
  id: z.string(),
  /** False for a model registered in place: its files are the user's, and stay. */
  filesRemoved: z.boolean(),
});
