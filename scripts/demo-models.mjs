// `npm run demo-models -- DIR`: bundles test/fixtures/demo-main.ts with Vite into
// .cache/demo-models and runs it under the project's Node: it writes small random-weight models of
// every kind Lodge serves into DIR (a models folder: DIR/demo/<name>).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'vite';

const root = join(import.meta.dirname, '..');
const outDir = join(root, '.cache/demo-models');
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  // onnx-proto is CommonJS with named exports Node's ESM loader cannot see: let Vite bundle it.
  ssr: { noExternal: ['onnx-proto', 'protobufjs'] },
  build: {
    ssr: join(root, 'test/fixtures/demo-main.ts'),
    outDir,
    emptyOutDir: true,
    target: 'node22',
    minify: false,
  },
});
const run = spawnSync(process.execPath, [join(outDir, 'demo-main.js'), ...process.argv.slice(2)], {
  cwd: process.cwd(),
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
