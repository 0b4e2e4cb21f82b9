import { defineConfig } from 'vitest/config';

// Three suites, cheapest first: unit (pure logic), integration (real SQLite files, a real server
// on a loopback port), e2e (the built CLI as a process, the built UI in Debian Chromium).
// onnxruntime's telemetry client writes outside the tests' temp dirs unless told not to.
const env = { ORT_DISABLE_TELEMETRY: '1' };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', env } },
      {
        test: {
          name: 'integration',
          env,
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // The engine tests fork the built runner, so build first when src/ changed.
          globalSetup: ['test/helpers/build-once.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // A loaded 2-core machine can take seconds to answer what takes milliseconds alone.
          expect: { poll: { timeout: 10_000 } },
        },
      },
      {
        test: {
          name: 'e2e',
          env,
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/build-once.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // A browser step on a loaded 2-core machine can take seconds: wait for it, do not race it.
          expect: { poll: { timeout: 15_000 } },
          // One browser and a few servers at a time is what two cores carry well.
          fileParallelism: false,
        },
      },
    ],
  },
});
