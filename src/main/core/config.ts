import { isIP } from 'node:net';
import { z } from 'zod';
import { EXECUTION_PROVIDERS, QUANTIZE_MODES } from '../../shared/engine';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  LOG_LEVELS,
  SettingsSchema,
  type SettingKey,
  type Settings,
  type SettingSource,
} from '../../shared/contract/settings';
import { defaultDataDir } from './paths';

/** Values given on the command line (`lodge serve --port …`); absent ones fall through. */
export interface Flags {
  readonly host?: string;
  readonly port?: number;
  readonly dataDir?: string;
  readonly apiKey?: string;
  readonly origins?: readonly string[];
  readonly logLevel?: string;
}

/** The effective settings and where each one came from. */
export interface ResolvedConfig {
  readonly values: Settings;
  readonly sources: Readonly<Record<SettingKey, SettingSource>>;
  /** Stored values that were ignored, each with the reason. */
  readonly warnings: readonly string[];
}

/** A configuration that cannot start: the message says which value is wrong and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Every setting's default value. */
export const DEFAULT_SETTINGS: Settings = {
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  apiKey: null,
  origins: [],
  allowedHosts: [],
  logLevel: 'info',
  providers: [...EXECUTION_PROVIDERS],
  threads: 0,
  keepAliveSeconds: 300,
  maxLoadedModels: 3,
  memoryBudgetMb: null,
  maxQueue: 64,
  parallel: 4,
  quantize: 'off',
  hubEndpoint: 'https://huggingface.co',
  hubToken: null,
  allowRemoteImages: false,
};

const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as SettingKey[];

const ENV_NAMES: Readonly<Record<SettingKey, string>> = {
  host: 'LODGE_HOST',
  port: 'LODGE_PORT',
  apiKey: 'LODGE_API_KEY',
  origins: 'LODGE_ORIGINS',
  allowedHosts: 'LODGE_ALLOWED_HOSTS',
  logLevel: 'LODGE_LOG_LEVEL',
  providers: 'LODGE_PROVIDERS',
  threads: 'LODGE_THREADS',
  keepAliveSeconds: 'LODGE_KEEP_ALIVE',
  maxLoadedModels: 'LODGE_MAX_LOADED_MODELS',
  memoryBudgetMb: 'LODGE_MEMORY_BUDGET_MB',
  maxQueue: 'LODGE_MAX_QUEUE',
  parallel: 'LODGE_PARALLEL',
  quantize: 'LODGE_QUANTIZE',
  // The names the Hugging Face tools use, so an existing setup carries over.
  hubEndpoint: 'HF_ENDPOINT',
  hubToken: 'HF_TOKEN',
  allowRemoteImages: 'LODGE_ALLOW_REMOTE_IMAGES',
};

/** The environment variable that sets each setting, for messages and the README. */
export function envNameOf(key: SettingKey): string {
  return ENV_NAMES[key];
}

/** The data directory: `--data-dir`, else `LODGE_HOME`, else `~/.lodge`. */
export function resolveDataDir(flags: Flags, env: NodeJS.ProcessEnv): string {
  return flags.dataDir ?? nonEmpty(env.LODGE_HOME) ?? defaultDataDir();
}

/**
 * Merges defaults < stored settings < environment < flags, validating each layer against the
 * shared schema. A bad flag or environment value is the user's explicit intent, so it stops
 * startup with a {@link ConfigError}; a bad stored value is ignored with a warning.
 */
export function resolveConfig(
  stored: ReadonlyMap<string, unknown>,
  env: NodeJS.ProcessEnv,
  flags: Flags,
): ResolvedConfig {
  const values: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  const sources = Object.fromEntries(SETTING_KEYS.map((key) => [key, 'default'])) as Record<
    SettingKey,
    SettingSource
  >;
  const warnings: string[] = [];

  for (const key of SETTING_KEYS) {
    if (!stored.has(key)) continue;
    const parsed = SettingsSchema.shape[key].safeParse(stored.get(key));
    if (parsed.success) {
      values[key] = parsed.data;
      sources[key] = 'settings';
    } else {
      warnings.push(`Ignored the stored setting "${key}": ${z.prettifyError(parsed.error)}`);
    }
  }
  for (const key of SETTING_KEYS) {
    const raw = nonEmpty(env[ENV_NAMES[key]]);
    if (raw === undefined) continue;
    values[key] = parseExplicit(key, fromEnvString(key, raw), `environment variable ${ENV_NAMES[key]}`);
    sources[key] = 'env';
  }
  const flagValues: Partial<Record<SettingKey, unknown>> = {
    host: flags.host,
    port: flags.port,
    apiKey: flags.apiKey,
    origins: flags.origins,
    logLevel: flags.logLevel,
  };
  for (const key of SETTING_KEYS) {
    const raw = flagValues[key];
    if (raw === undefined) continue;
    values[key] = parseExplicit(key, raw, `flag --${kebab(key)}`);
    sources[key] = 'flag';
  }
  const settings = SettingsSchema.parse(values);
  assertSafeBind(settings);
  return { values: settings, sources, warnings };
}

/**
 * Refuses to serve beyond this machine without an API key (docs/architecture.md, Security defaults): an open
 * model server on a LAN lets anyone run, download or delete models.
 */
export function assertSafeBind(settings: Pick<Settings, 'host' | 'apiKey'>): void {
  if (!isLoopbackHost(settings.host) && settings.apiKey === null) {
    throw new ConfigError(
      `Refusing to listen on ${settings.host} without an API key: anyone on the network could use it. ` +
        'Set one with --api-key or LODGE_API_KEY, or bind 127.0.0.1.',
    );
  }
}

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
}

function parseExplicit(key: SettingKey, raw: unknown, where: string): unknown {
  const parsed = SettingsSchema.shape[key].safeParse(raw);
  if (!parsed.success) {
    const hint =
      key === 'logLevel'
        ? ` (one of ${LOG_LEVELS.join(', ')})`
        : key === 'quantize'
          ? ` (one of ${QUANTIZE_MODES.join(', ')})`
          : '';
    throw new ConfigError(`Invalid ${where}${hint}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function fromEnvString(key: SettingKey, raw: string): unknown {
  switch (key) {
    case 'port':
    case 'threads':
    case 'maxLoadedModels':
    case 'memoryBudgetMb':
    case 'keepAliveSeconds':
    case 'maxQueue':
    case 'parallel':
      return /^-?\d+$/.test(raw) ? Number(raw) : raw;
    case 'origins':
    case 'allowedHosts':
    case 'providers':
      return raw
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0);
    case 'allowRemoteImages':
      return /^(true|1|yes|on)$/i.test(raw) ? true : /^(false|0|no|off)$/i.test(raw) ? false : raw;
    default:
      return raw;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
