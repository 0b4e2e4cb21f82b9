// `npm run gpu-check`: builds the app (the runner is checked as it ships), bundles bench/gpu-check.ts
// with everything it needs but onnxruntime-node into .cache/gpu-check/gpu-check.js, and runs it
// under this Node with the runner's V8 flags. `--build-only` stops after the bundle (for the pack).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'vite';

const root = join(import.meta.dirname, '..');
const built = spawnSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const outDir = join(root, '.cache/gpu-check');
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  // Self-contained but for the native runtime, so the packed check runs without node_modules.
  ssr: { noExternal: true, external: ['onnxruntime-node'] },
  build: {
    ssr: join(root, 'bench/gpu-check.ts'),
    outDir,
    emptyOutDir: true,
    target: 'node22',
    minify: false,
  },
});
// The runner's chat templates render in a worker that must sit beside the bundle that starts it.
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  ssr: { noExternal: true },
  build: {
    ssr: join(root, 'src/main/runner/text/template-worker.ts'),
    outDir,
    emptyOutDir: false,
    target: 'node22',
    minify: false,
  },
});
if (process.argv.includes('--build-only')) process.exit(0);

// NOTE: --no-js-float16array as the runner uses it (fp16 tensors stay Uint16Array).
const run = spawnSync(process.execPath, ['--no-js-float16array', join(outDir, 'gpu-check.js')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LODGE_REPO_ROOT: root },
});
process.exit(run.status ?? 1);
