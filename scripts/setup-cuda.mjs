// `npm run setup:cuda`: fetches onnxruntime-node's CUDA 12 execution provider libraries, which are
// too large for the npm registry and skipped by default (.npmrc). Needs Linux x64, an NVIDIA GPU
// with a CUDA 12 driver, and internet access.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `The CUDA execution provider is only packaged for Linux x64; this is ${process.platform}/${process.arch}.`,
  );
  process.exit(1);
}
const require = createRequire(import.meta.url);
const installer = join(dirname(require.resolve('onnxruntime-node/package.json')), 'script', 'install.js');
const env = { ...process.env };
// .npmrc's skip reaches scripts as npm_config_*; this one run asks for CUDA explicitly instead.
delete env.npm_config_onnxruntime_node_install;
delete env.npm_config_onnxruntime_node_install_cuda;
env.ONNXRUNTIME_NODE_INSTALL = 'cuda12';
const result = spawnSync(process.execPath, [installer], { stdio: 'inherit', env });
if (result.status !== 0) {
  console.error(
    'Fetching the CUDA execution provider failed; Lodge keeps running on the CPU (and WebGPU where available).',
  );
  process.exit(result.status ?? 1);
}
console.log('CUDA execution provider installed. Restart Lodge to use it.');
