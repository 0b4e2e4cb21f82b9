// `npm run setup:cuda`: fetches onnxruntime-node's CUDA 12 execution provider libraries, which are
// too large for the npm registry and skipped by default (.npmrc). Needs Linux x64, an NVIDIA GPU
// with a CUDA 12 driver, and internet access.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Folders the Linux loader searches by default, plus LD_LIBRARY_PATH. */
const LIBRARY_DIRS = [
  ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir !== ''),
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/lib64',
  '/usr/local/cuda/lib64',
  '/usr/local/cuda-12/lib64',
  '/usr/lib/wsl/lib',
];
const found = (name) => LIBRARY_DIRS.some((dir) => existsSync(join(dir, name)));

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `The CUDA execution provider is only packaged for Linux x64; this is ${process.platform}/${process.arch}.`,
  );
  process.exit(1);
}
if (!found('libcuda.so.1')) {
  console.error(
    'No NVIDIA driver found (libcuda.so.1 is not installed): the CUDA execution provider needs an NVIDIA GPU and its driver. Lodge keeps running on the CPU.',
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
// The provider links against CUDA 12 and cuDNN 9 at run time; say now which of them are missing.
const runtime = [
  'libcudart.so.12',
  'libcublas.so.12',
  'libcublasLt.so.12',
  'libcufft.so.11',
  'libcudnn.so.9',
];
const absent = runtime.filter((name) => !found(name));
if (absent.length > 0) {
  console.error(
    `CUDA execution provider installed, but it also needs ${absent.join(', ')}, which this machine does not have: install CUDA 12 and cuDNN 9 (or put their libraries on LD_LIBRARY_PATH). Until then Lodge skips CUDA and says why.`,
  );
  process.exit(1);
}
console.log('CUDA execution provider installed. Restart Lodge to use it.');
