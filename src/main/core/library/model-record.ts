import { z } from 'zod';
import {
  ModelFileSchema,
  ModelPresetSchema,
  ModelSourceSchema,
  type ModelFile,
  type ModelPreset,
  type ModelSource,
} from '../../../shared/contract/library';
import { TENSOR_TYPES, type ModelTask, type TensorInfo } from '../../../shared/engine';

/** The ONNX variants a Hugging Face export may ship, by file-name suffix. */
export const VARIANTS = [
  'fp32',
  'fp16',
  'q4',
  'q4f16',
  'quantized',
  'int8',
  'uint8',
  'bnb4',
  'q8',
  'bf16',
] as const;

/** One of {@link VARIANTS}. */
export type VariantName = (typeof VARIANTS)[number];

/** One ONNX file of a model, with the bytes it and its external data take. */
export interface ModelVariant {
  readonly name: VariantName;
  readonly file: string;
  readonly bytes: number;
}

/** The sampling fields a model's generation_config.json may set. */
export interface GenerationDefaults {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
}

/** What a model folder holds, as read from disk. */
export interface FolderInfo {
  readonly id: string;
  readonly dir: string;
  readonly format: 'hf-onnx' | 'onnx';
  readonly task: ModelTask;
  readonly architecture: string | null;
  readonly variants: readonly ModelVariant[];
  readonly contextLength: number | null;
  readonly hasChatTemplate: boolean;
  /** Sampling defaults from generation_config.json, used where a request leaves a field out. */
  readonly generationDefaults: GenerationDefaults;
  /** The chat template's source, for Ollama's show. */
  readonly chatTemplate: string | null;
  /** When the folder last changed (ms since the epoch). */
  readonly modifiedAt: number;
  /** The graph's declared inputs and outputs (of the first variant), when the file could be read. */
  readonly signature: {
    readonly inputs: readonly TensorInfo[];
    readonly outputs: readonly TensorInfo[];
    readonly parameterCount?: number;
  } | null;
}

/** What the library keeps about a model beyond its folder: origin, state, and the user's settings. */
export interface KeptModelState {
  readonly source: ModelSource;
  readonly status: 'ready' | 'missing';
  readonly parameterCount: number | null;
  readonly files: readonly ModelFile[];
  readonly alias: string | null;
  readonly tags: readonly string[];
  readonly preset: ModelPreset;
  readonly addedAt: string;
  readonly lastUsedAt: string | null;
}

/**
 * A model in the library, the central domain type: what its folder holds, and what the library
 * keeps about it. The disk reader (`model-folder.ts`) makes the first half, the `models` table
 * (`db/model-repository.ts`) keeps the second, and the store joins them.
 */
export interface ModelRecord extends FolderInfo, KeptModelState {
  /** The sampling defaults requests fall back on: generation_config.json, overridden by the preset. */
  readonly samplingDefaults: GenerationDefaults;
}

const TensorInfoSchema = z.object({
  name: z.string(),
  type: z.enum([...TENSOR_TYPES, 'unknown']),
  shape: z.array(z.union([z.number(), z.string()])),
});

/** {@link GenerationDefaults} as stored. */
const GenerationDefaultsSchema = z.object({
  temperature: z.number().optional(),
  topP: z.number().optional(),
  topK: z.number().optional(),
  minP: z.number().optional(),
  repetitionPenalty: z.number().optional(),
});

/** {@link FolderInfo} as the `models.info` column stores it. */
export const FolderInfoSchema = z.object({
  id: z.string(),
  dir: z.string(),
  format: z.enum(['hf-onnx', 'onnx']),
  task: z.enum([
    'text-generation',
    'embeddings',
    'tensors',
    'text-to-image',
    'image-text-to-text',
    'speech-to-text',
  ]),
  architecture: z.string().nullable(),
  variants: z.array(z.object({ name: z.enum(VARIANTS), file: z.string(), bytes: z.number() })),
  contextLength: z.number().nullable(),
  hasChatTemplate: z.boolean(),
  generationDefaults: GenerationDefaultsSchema,
  chatTemplate: z.string().nullable(),
  modifiedAt: z.number(),
  signature: z
    .object({
      inputs: z.array(TensorInfoSchema),
      outputs: z.array(TensorInfoSchema),
      parameterCount: z.number().optional(),
    })
    .nullable(),
}) satisfies z.ZodType<FolderInfo>;

/** The schemas of the JSON columns of the `models` table, each checked on read. */
export const MODEL_COLUMNS = {
  source: ModelSourceSchema,
  info: FolderInfoSchema,
  files: z.array(ModelFileSchema),
  tags: z.array(z.string()),
  preset: ModelPresetSchema,
} as const;
