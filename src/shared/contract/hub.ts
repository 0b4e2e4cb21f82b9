import { z } from 'zod';

/** `GET /app/hub/search` query. */
export const HubSearchQuerySchema = z.object({
  q: z.string().max(200).default(''),
  task: z.enum(['text-generation', 'feature-extraction', 'automatic-speech-recognition']).optional(),
  sort: z.enum(['downloads', 'lastModified']).default('downloads'),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  /** Only repos offering this ONNX variant (fp16, q4, q4f16…). */
  variant: z
    .string()
    .regex(/^[a-z0-9]{1,16}$/, 'a variant name such as q4 or fp16')
    .optional(),
  /** Only repos with a variant (the chosen one, if any) within this size. */
  size: z.enum(['fits', 'under-1gb', 'under-4gb']).optional(),
});

/** One search result. */
export const HubModelSchema = z.object({
  id: z.string(),
  downloads: z.number(),
  likes: z.number(),
  lastModified: z.string().nullable(),
  pipelineTag: z.string().nullable(),
  tags: z.array(z.string()),
  installed: z.boolean(),
  /** The ONNX variants the repo offers, from its file names. */
  variants: z.array(z.string()),
  /** The smallest (matching) variant's bytes, when a size filter made Lodge look them up. */
  bytes: z.number().nullable(),
});

/** `GET /app/hub/search` reply. */
export const HubSearchSchema = z.object({ models: z.array(HubModelSchema) });

/** `GET /app/hub/models/:owner/:name`: what a repo offers and whether it fits this machine. */
export const HubRepoSchema = z.object({
  id: z.string(),
  revision: z.string(),
  gated: z.boolean(),
  format: z.enum(['hf-onnx', 'onnx']).nullable(),
  problem: z.string().nullable(),
  hasTokenizer: z.boolean(),
  hasChatTemplate: z.boolean(),
  variants: z.array(z.object({ name: z.string(), bytes: z.number(), fits: z.boolean() })),
  recommendedVariant: z.string().nullable(),
  memoryBytes: z.number(),
  card: z.string().nullable(),
});

/** `POST /app/downloads`. */
export const StartDownloadSchema = z.object({
  repo: z.string().min(3).max(201),
  revision: z.string().min(1).max(100).optional(),
  variant: z.string().min(1).max(32).optional(),
  id: z.string().min(1).max(201).optional(),
});

/** A download with its progress. */
export const DownloadSchema = z.object({
  id: z.string(),
  repo: z.string(),
  revision: z.string(),
  variant: z.string(),
  modelId: z.string(),
  status: z.enum(['queued', 'downloading', 'paused', 'verifying', 'completed', 'failed', 'cancelled']),
  files: z.array(z.object({ path: z.string(), size: z.number() })),
  totalBytes: z.number(),
  downloadedBytes: z.number(),
  bytesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  currentFile: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Parsed form of {@link DownloadSchema}. */
export type DownloadView = z.infer<typeof DownloadSchema>;

/** `GET /app/downloads`. */
export const DownloadListSchema = z.object({ downloads: z.array(DownloadSchema) });

/** The path parameter of one download's routes. */
export const DownloadParamsSchema = z.object({ id: z.uuid() });
