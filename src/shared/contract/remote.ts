import { z } from 'zod';

/** How a remote engine answered its last check. */
export const EngineHealthSchema = z.object({
  /** `unknown` until the first check ends. */
  status: z.enum(['up', 'down', 'unknown']),
  checkedAt: z.iso.datetime().nullable(),
  /** How long its model list took to arrive, at the last check that succeeded. */
  latencyMs: z.number().nonnegative().nullable(),
  /** Why it is down, in words; null when it is up. */
  error: z.string().nullable(),
});

/** Parsed form of {@link EngineHealthSchema}. */
export type EngineHealth = z.infer<typeof EngineHealthSchema>;

/** A remote engine as the API shows it: never its key, only whether it has one. */
export const RemoteEngineSchema = z.object({
  name: z.string(),
  baseUrl: z.string(),
  hasKey: z.boolean(),
  addedAt: z.iso.datetime(),
  health: EngineHealthSchema,
  /** Its models as Lodge names them (`name/model`), from the last check that succeeded. */
  models: z.array(z.string()),
});

/** Parsed form of {@link RemoteEngineSchema}. */
export type RemoteEngine = z.infer<typeof RemoteEngineSchema>;

/** `GET /app/engines` reply. */
export const RemoteEngineListSchema = z.object({ engines: z.array(RemoteEngineSchema) });

/** `POST /app/engines` body: adds an engine, or changes the one of that name. */
export const AddEngineSchema = z
  .object({
    name: z.string().max(40),
    /** The server's OpenAI base URL (`http://host:port/v1`; the origin alone gets `/v1`). */
    baseUrl: z.string().max(2048).optional(),
    /** The same as `baseUrl`, for clients that call it `url`. */
    url: z.string().max(2048).optional(),
    /** Absent keeps the stored key (none for a new engine); null removes it. */
    apiKey: z.string().max(4096).nullable().optional(),
  })
  .refine((body) => body.baseUrl !== undefined || body.url !== undefined, {
    message: 'baseUrl is required: the OpenAI-compatible server to add, e.g. http://127.0.0.1:8000/v1.',
    path: ['baseUrl'],
  });

/** `/app/engines/:name` path parameters. */
export const EngineParamsSchema = z.object({ name: z.string().max(40) });

/** `DELETE /app/engines/:name` reply. */
export const RemovedSchema = z.object({ name: z.string(), removed: z.boolean() });

/** A model alias: a name that routes to the first of its targets that answers. */
export const ModelAliasSchema = z.object({
  name: z.string(),
  /** Local model ids and remote `name/model` names, in the order they are tried. */
  targets: z.array(z.string()),
  updatedAt: z.iso.datetime(),
});

/** Parsed form of {@link ModelAliasSchema}. */
export type ModelAlias = z.infer<typeof ModelAliasSchema>;

/** `GET /app/aliases` reply. */
export const ModelAliasListSchema = z.object({ aliases: z.array(ModelAliasSchema) });

/** `PUT /app/aliases/:name` body. */
export const SaveAliasSchema = z.object({
  targets: z.array(z.string().min(1).max(256)).min(1).max(8),
});

/** `POST /app/aliases` body: the alias's name beside its targets. */
export const CreateAliasSchema = SaveAliasSchema.extend({ name: z.string().min(1).max(128) });

/** `/app/aliases/:name` path parameters. */
export const AliasParamsSchema = z.object({ name: z.string().min(1).max(128) });
