import { z } from 'zod';
import { EXECUTION_PROVIDERS, QUANTIZE_MODES } from '../engine';

/** Log levels the core understands, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Default TCP port: one above Ollama's 11434, so both can run side by side. */
export const DEFAULT_PORT = 11435;

/** Default bind address: loopback only (docs/architecture.md, Security defaults). */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * An allowed browser origin: `scheme://host[:port]`, optionally ending in `*` to match any suffix
 * (for example `chrome-extension://*`). Paths, queries and bare `*` are refused.
 */
export const OriginPatternSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[a-z][a-z0-9+.-]*:\/\/[^/\s?#]+$/i, 'expected scheme://host[:port], optionally ending in *');

/** A host name or IP literal that may appear in the `Host` header, without a port. */
export const HostNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+|[0-9a-f:]+)$/i, 'expected a host name or IP address');

/**
 * The settings a user can change and persist (the `settings` table). Each is also settable by
 * environment variable and command-line flag, which win over the stored value.
 */
export const SettingsSchema = z.object({
  host: z.string().trim().min(1).max(253),
  port: z.number().int().min(0).max(65535),
  apiKey: z.string().min(8).max(512).nullable(),
  origins: z.array(OriginPatternSchema).max(64),
  allowedHosts: z.array(HostNameSchema).max(64),
  logLevel: z.enum(LOG_LEVELS),
  /** Execution providers to try, in order; CPU is always the last resort. */
  providers: z.array(z.enum(EXECUTION_PROVIDERS)).min(1).max(EXECUTION_PROVIDERS.length),
  /** Threads per model; 0 uses the number of physical cores. */
  threads: z.number().int().min(0).max(256),
  /** Seconds a model stays loaded after its last request; 0 unloads at once, negative never. */
  keepAliveSeconds: z
    .number()
    .int()
    .min(-1)
    .max(7 * 24 * 3600),
  /** Models loaded at once; the least recently used idle one is unloaded to make room. */
  maxLoadedModels: z.number().int().min(1).max(32),
  /** Memory models may take, in MiB; null uses 80% of this machine's memory. */
  memoryBudgetMb: z.number().int().min(64).nullable(),
  /** Requests that may wait for one model; one more is answered 429 with Retry-After. */
  maxQueue: z.number().int().min(1).max(10_000),
  /** Text generations one model decodes together (continuous batching); 1 runs one at a time. */
  parallel: z.number().int().min(1).max(64),
  /** Quantize language models' fp32 weights at load for the CPU's integer kernels (see QuantizeMode). */
  quantize: z.enum(QUANTIZE_MODES),
  /** The Hugging Face hub to search and download from. */
  hubEndpoint: z.url({ protocol: /^https?$/ }),
  /** A Hugging Face access token, for gated and private repos; never sent back by the API. */
  hubToken: z.string().min(1).max(512).nullable(),
  /** Fetch http(s) image URLs that chat requests carry (public addresses only, bounded); off: only data URLs. */
  allowRemoteImages: z.boolean(),
});

/** Parsed form of {@link SettingsSchema}. */
export type Settings = z.infer<typeof SettingsSchema>;

/** One of the persisted setting names. */
export type SettingKey = keyof Settings;

/** Every setting name, in display order. */
export const SETTING_KEYS = Object.keys(SettingsSchema.shape) as [SettingKey, ...SettingKey[]];

/** Where the effective value of a setting came from, lowest precedence first. */
export const SETTING_SOURCES = ['default', 'settings', 'env', 'flag'] as const;

/** One of {@link SETTING_SOURCES}. */
export type SettingSource = (typeof SETTING_SOURCES)[number];

/** `PATCH /app/settings`: any subset of the settings; `null` clears a stored value back to its default. */
export const SettingsPatchSchema = z
  .object({
    host: SettingsSchema.shape.host.nullable(),
    port: SettingsSchema.shape.port.nullable(),
    apiKey: SettingsSchema.shape.apiKey,
    origins: SettingsSchema.shape.origins.nullable(),
    allowedHosts: SettingsSchema.shape.allowedHosts.nullable(),
    logLevel: SettingsSchema.shape.logLevel.nullable(),
    providers: SettingsSchema.shape.providers.nullable(),
    threads: SettingsSchema.shape.threads.nullable(),
    keepAliveSeconds: SettingsSchema.shape.keepAliveSeconds.nullable(),
    maxLoadedModels: SettingsSchema.shape.maxLoadedModels.nullable(),
    memoryBudgetMb: SettingsSchema.shape.memoryBudgetMb,
    maxQueue: SettingsSchema.shape.maxQueue.nullable(),
    parallel: SettingsSchema.shape.parallel.nullable(),
    quantize: SettingsSchema.shape.quantize.nullable(),
    hubEndpoint: SettingsSchema.shape.hubEndpoint.nullable(),
    hubToken: SettingsSchema.shape.hubToken,
    allowRemoteImages: SettingsSchema.shape.allowRemoteImages.nullable(),
  })
  .partial()
  .strict();

/** Parsed form of {@link SettingsPatchSchema}. */
export type SettingsPatch = z.infer<typeof SettingsPatchSchema>;

/**
 * `GET /app/settings`: the effective value of every setting with its source. The API key itself is
 * never sent back; only whether one is set.
 */
export const SettingsViewSchema = z.object({
  values: SettingsSchema.omit({ apiKey: true, hubToken: true }).extend({
    apiKeySet: z.boolean(),
    hubTokenSet: z.boolean(),
  }),
  sources: z.record(z.enum(SETTING_KEYS), z.enum(SETTING_SOURCES)),
  /** Settings whose stored value differs from what the running server uses until it restarts. */
  restartRequired: z.array(z.enum(['host', 'port'])),
});

/** Parsed form of {@link SettingsViewSchema}. */
export type SettingsView = z.infer<typeof SettingsViewSchema>;
