import { parseArgs } from 'node:util';
import type { Flags } from './config';
import { ConfigError } from './config';

/** The server flags shared by `lodge serve` and the core process: `--host --port --data-dir --api-key …`. */
export const SERVER_FLAG_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'api-key': { type: 'string' },
  origins: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
} as const;

/** Turns parsed flag values into {@link Flags}, with a clear error for a malformed port. */
export function toFlags(values: Record<string, string | boolean | string[] | boolean[] | undefined>): Flags {
  const flags: { -readonly [K in keyof Flags]: Flags[K] } = {};
  const text = (name: string) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  if (text('host') !== undefined) flags.host = text('host');
  const port = text('port');
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) throw new ConfigError(`Invalid flag --port: "${port}" is not a port number.`);
    flags.port = Number(port);
  }
  if (text('data-dir') !== undefined) flags.dataDir = text('data-dir');
  if (text('api-key') !== undefined) flags.apiKey = text('api-key');
  if (text('log-level') !== undefined) flags.logLevel = text('log-level');
  const origins = values.origins;
  if (Array.isArray(origins)) {
    flags.origins = origins
      .flatMap((entry) => String(entry).split(','))
      .map((entry) => entry.trim())
      .filter(Boolean);
  }
  return flags;
}

/** Parses server flags from `argv` (strict: an unknown flag is an error). */
export function parseServerFlags(argv: readonly string[]): Flags {
  const { values } = parseArgs({
    args: [...argv],
    options: SERVER_FLAG_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  return toFlags(values);
}
