import { z } from 'zod';

/** `POST /app/models/:owner/:name/export`: write a Triton model repository and a KServe manifest. */
export const ExportModelSchema = z.object({
  /** The repository folder (absolute) on the machine Lodge runs on; the model's folder goes inside. */
  dir: z.string().min(1).max(4096),
  /** The Triton model name; by default the id with `/` and other unsafe characters as `_`. */
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/,
      'letters, digits, "_" and "-", starting with a letter or digit',
    )
    .optional(),
  /** The variant to export (`fp32`, `q4`…); by default the model's first. */
  variant: z.string().min(1).max(32).optional(),
  /** Where Triton runs the instances, and how many. */
  instanceKind: z.enum(['cpu', 'gpu']).default('cpu'),
  instanceCount: z.number().int().min(1).max(64).default(1),
  /** The batch bound for a batchable graph (ignored for one that is not). */
  maxBatchSize: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .optional(),
  /** Replace the model's folder when the repository already holds one of that name. */
  overwrite: z.boolean().default(false),
});

/** One file written into a version folder, and whether it is a hard link to the library's copy. */
export const ExportedFileSchema = z.object({
  name: z.string(),
  bytes: z.number(),
  how: z.enum(['linked', 'copied']),
});

/** What an export wrote. */
export const ExportResultSchema = z.object({
  model: z.string(),
  name: z.string(),
  repository: z.string(),
  modelDir: z.string(),
  configFile: z.string(),
  manifestFile: z.string(),
  /** The config.pbtxt text written. */
  config: z.string(),
  maxBatchSize: z.number(),
  versions: z.array(
    z.object({ version: z.number(), variant: z.string(), files: z.array(ExportedFileSchema) }),
  ),
  /** Older revisions left out of the versions, and why (a graph whose inputs or outputs differ). */
  skipped: z.array(z.object({ model: z.string(), reason: z.string() })),
});

/** Parsed form of {@link ExportModelSchema}. */
export type ExportModelRequest = z.output<typeof ExportModelSchema>;

/** Parsed form of {@link ExportResultSchema}. */
export type ExportResult = z.infer<typeof ExportResultSchema>;
