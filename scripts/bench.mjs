// `npm run bench`: builds the app (the runner is benchmarked as it ships), bundles bench/engine.ts
// with Vite into .cache/bench, and runs it under the project's Node with the runner's V8 flags.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'vite';

const root = join(import.meta.dirname, '..');
const built = spawnSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const outDir = join(root, '.cache/bench');
/** The tables that run llama.cpp in the bench's own process. */
const LLAMA_TABLES = new Set(['llama', 'llama-peer', 'ort-knobs']);
// engine: the runner against its peers; llama: against llama.cpp on the same weights, at f32, 8 and
// 4 bits; ort-knobs: what each onnxruntime option and MatMul rewrite buys; grammar: the cost of
// constrained decoding per token; concurrency: continuous batching of concurrent streams.
// LODGE_BENCH_TABLES=llama,concurrency runs only those.
const tables = process.env.LODGE_BENCH_TABLES?.split(',') ?? [
  'engine',
  'llama',
  'ort-knobs',
  'grammar',
  'concurrency',
];
for (const name of tables) {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    // onnx-proto is CommonJS with named exports Node's ESM loader cannot see: let Vite bundle it.
    ssr: { noExternal: ['onnx-proto', 'protobufjs'] },
    build: {
      ssr: join(root, `bench/${name}.ts`),
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
    build: {
      ssr: join(root, 'src/main/runner/text/template-worker.ts'),
      outDir,
      emptyOutDir: false,
      target: 'node22',
      minify: false,
    },
  });
  // NOTE: --no-js-float16array as the runner uses it, so the bare loop and transformers.js run the
  // same way; --expose-gc lets measureAll collect each contender's garbage before the next runs.
  const run = spawnSync(
    process.execPath,
    ['--no-js-float16array', '--expose-gc', join(outDir, `${name}.js`)],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        LODGE_REPO_ROOT: root,
        // node-llama-cpp runs each llama_decode on a libuv worker: with libuv's default 4 workers the
        // calls hop between threads and llama.cpp at 2 threads ran 3-4x slower than at 1 (measured).
        // One worker keeps its calls on one thread; bench/llama-cpp.ts keeps it from the children.
        ...(LLAMA_TABLES.has(name) ? { UV_THREADPOOL_SIZE: '1' } : {}),
      },
    },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
}
