import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        // NOTE: one bundle per process. `index` is the Electron shell; `core` and `runner` are plain
        // Node entries (forked or run headless); `cli` is the `lodge` command; `template-worker` is
        // the runner's chat-template sandbox.
        input: {
          index: resolve(import.meta.dirname, 'src/main/index.ts'),
          core: resolve(import.meta.dirname, 'src/main/core/main.ts'),
          runner: resolve(import.meta.dirname, 'src/main/runner/main.ts'),
          // The runner renders chat templates in a worker thread it can stop (text/template-sandbox.ts).
          'template-worker': resolve(import.meta.dirname, 'src/main/runner/text/template-worker.ts'),
          cli: resolve(import.meta.dirname, 'src/main/cli.ts'),
          // POST /app/models/demo forks it to write the demo models (random weights) into models/.
          'demo-models': resolve(import.meta.dirname, 'test/fixtures/demo-main.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        // NOTE: a sandboxed preload cannot be ESM; it must be one CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(import.meta.dirname, 'src/renderer'),
    plugins: [svelte({ configFile: resolve(import.meta.dirname, 'svelte.config.js') })],
    build: {
      rollupOptions: { input: resolve(import.meta.dirname, 'src/renderer/index.html') },
    },
  },
});
