import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Every place Lodge keeps state, all under one data directory shared by the app and the CLI. */
export interface DataPaths {
  readonly root: string;
  readonly database: string;
  readonly models: string;
  readonly downloads: string;
  readonly cache: string;
  readonly logs: string;
}

/** The default data directory: `~/.lodge`. */
export function defaultDataDir(): string {
  return join(homedir(), '.lodge');
}

/** The data directory's layout (docs/architecture.md, Data) under `root`. Pure: creates nothing. */
export function dataPaths(root: string): DataPaths {
  const absolute = resolve(root);
  return {
    root: absolute,
    database: join(absolute, 'lodge.db'),
    models: join(absolute, 'models'),
    downloads: join(absolute, 'downloads'),
    cache: join(absolute, 'cache'),
    logs: join(absolute, 'logs'),
  };
}

/** Creates the data directory and its folders where missing (owner-only permissions on new ones). */
export function ensureDataDirs(paths: DataPaths): void {
  for (const dir of [paths.root, paths.models, paths.downloads, paths.cache, paths.logs]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}
