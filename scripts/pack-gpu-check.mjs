// `node scripts/pack-gpu-check.mjs`: packs the GPU check for a bare Linux x86-64 machine with an
// NVIDIA driver and no Node: the pinned Node binary, the built runner and its runtime modules,
// onnxruntime-node's linux-x64 libraries, and the bundled check with the fixture generator, as
// one xz tarball (it must stay under 60 MB). Unpack it and run `./lodge-gpu-check/gpu-check`.
// CUDA's provider libraries are left out (hundreds of MB): copy them in where CUDA is wanted.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const LIMIT_BYTES = 60 * 1024 * 1024;
const root = join(import.meta.dirname, '..');
// The installed package's folder (some export no package.json, so it is not resolved through them).
const packageDir = (name) => realpathSync(join(root, 'node_modules', name));

const bundled = spawnSync(process.execPath, [join(root, 'scripts/gpu-check.mjs'), '--build-only'], {
  stdio: 'inherit',
});
if (bundled.status !== 0) process.exit(bundled.status ?? 1);

const stage = join(root, '.cache/pack');
const name = 'lodge-gpu-check';
const target = join(stage, name);
rmSync(stage, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
const copy = (from, to, filter) =>
  cpSync(from, join(target, to), { recursive: true, dereference: true, filter });

copy(realpathSync(join(packageDir('node'), 'bin/node')), 'node');
copy(join(root, '.cache/gpu-check/gpu-check.js'), 'gpu-check.js');
copy(join(root, '.cache/gpu-check/template-worker.js'), 'template-worker.js');
// The runner as it ships (out/main/runner.js, its chat-template worker, the chunks it shares with the core).
copy(join(root, 'out/main/runner.js'), 'out/main/runner.js');
copy(join(root, 'out/main/template-worker.js'), 'out/main/template-worker.js');
copy(join(root, 'out/main/chunks'), 'out/main/chunks');
// What the runner imports at run time, and nothing of onnxruntime-node's installer.
for (const module of ['@huggingface/tokenizers', '@huggingface/jinja', 'onnxruntime-common'])
  copy(packageDir(module), `node_modules/${module}`);
const ort = packageDir('onnxruntime-node');
copy(join(ort, 'package.json'), 'node_modules/onnxruntime-node/package.json');
copy(join(ort, 'dist'), 'node_modules/onnxruntime-node/dist');
copy(
  join(ort, 'bin/napi-v6/linux/x64'),
  'node_modules/onnxruntime-node/bin/napi-v6/linux/x64',
  (path) => !/providers_(cuda|tensorrt)/.test(path),
);
writeFileSync(
  join(target, 'package.json'),
  `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`,
);
writeFileSync(
  join(target, 'gpu-check'),
  [
    '#!/bin/sh',
    '# The Lodge GPU check: providers that load, greedy tokens against the CPU, decode tok/s.',
    'here=$(cd "$(dirname "$0")" && pwd)',
    'LODGE_REPO_ROOT="$here" exec "$here/node" --no-js-float16array "$here/gpu-check.js" "$@"',
    '',
  ].join('\n'),
);
chmodSync(join(target, 'gpu-check'), 0o755);

const size = (path) =>
  statSync(path).isDirectory()
    ? readdirSync(path).reduce((total, entry) => total + size(join(path, entry)), 0)
    : statSync(path).size;
const archive = join(stage, `${name}-linux-x64.tar.xz`);
const packed = spawnSync('tar', ['-C', stage, '-cJf', archive, name], {
  stdio: 'inherit',
  env: { ...process.env, XZ_OPT: '-9 -T0' },
});
if (packed.status !== 0 || !existsSync(archive)) {
  console.error('tar (with xz) failed; the tarball was not written.');
  process.exit(1);
}
const bytes = statSync(archive).size;
const mb = (value) => `${(value / 1024 / 1024).toFixed(1)} MB`;
console.log(`${archive}: ${mb(bytes)} (unpacked ${mb(size(target))}; limit ${mb(LIMIT_BYTES)})`);
console.log(`Run on the GPU machine: tar -xJf ${name}-linux-x64.tar.xz && ./${name}/gpu-check`);
if (bytes >= LIMIT_BYTES) {
  console.error(`The tarball is over the ${mb(LIMIT_BYTES)} limit.`);
  process.exit(1);
}
