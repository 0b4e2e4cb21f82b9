import { join } from 'node:path';
import { startLodge, type Lodge } from '../../src/main/core/app';
import type { Flags } from '../../src/main/core/config';
import { tempDir } from './temp-dir';

/** A core started for a test: its base URL, and a dispose that also removes its data dir. */
export interface TestCore {
  readonly lodge: Lodge;
  readonly url: string;
  readonly dataDir: string;
  /** Stops the core; keeps the data dir (for restart tests) when `keepData` is true. */
  dispose(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * Starts a real core on an ephemeral loopback port in a temp data dir, isolated from the
 * developer's own LODGE_* environment.
 */
export async function startTestCore(
  options: { flags?: Flags; env?: NodeJS.ProcessEnv; dataDir?: string; withUi?: boolean } = {},
): Promise<TestCore> {
  const dir = options.dataDir === undefined ? tempDir() : { path: options.dataDir, remove: () => undefined };
  const lodge = await startLodge({
    flags: { port: 0, dataDir: dir.path, logLevel: 'warn', ...options.flags },
    env: options.env ?? {},
    rendererDir: options.withUi ? join(import.meta.dirname, '../../out/renderer') : null,
  });
  return {
    lodge,
    url: lodge.url,
    dataDir: dir.path,
    async dispose({ keepData = false } = {}) {
      await lodge.dispose();
      if (!keepData) dir.remove();
    },
  };
}
