import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { startLodge, type Lodge } from '../../src/main/core/app';
import { installFixture, type FixtureSpec } from '../fixtures/models';
import type { Flags } from '../../src/main/core/config';
import { tempDir } from './temp-dir';

/** The built runner; the integration and e2e suites build before they run. */
export const BUILT_RUNNER = join(import.meta.dirname, '../../out/main/runner.js');

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
  options: {
    flags?: Flags;
    env?: NodeJS.ProcessEnv;
    dataDir?: string;
    withUi?: boolean;
    /** Generated models to put under models/ before the core starts, by id. */
    models?: Readonly<Record<string, FixtureSpec>>;
  } = {},
): Promise<TestCore> {
  const dir = options.dataDir === undefined ? tempDir() : { path: options.dataDir, remove: () => undefined };
  const modelsDir = join(dir.path, 'models');
  mkdirSync(modelsDir, { recursive: true });
  for (const [id, spec] of Object.entries(options.models ?? {})) installFixture(spec, modelsDir, id);
  const lodge = await startLodge({
    flags: { port: 0, dataDir: dir.path, logLevel: 'warn', ...options.flags },
    env: options.env ?? {},
    rendererDir: options.withUi ? join(import.meta.dirname, '../../out/renderer') : null,
    runnerPath: BUILT_RUNNER,
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
