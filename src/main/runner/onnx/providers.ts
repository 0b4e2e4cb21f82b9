// Which execution providers this machine can offer, checked before a session is attempted.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../../shared/engine';
import { ortErrorText } from './ort-errors';

const resolvePackage = createRequire(import.meta.url).resolve;

/** The folder holding onnxruntime-node's native libraries for this platform. */
export function ortBinaryDir(): string {
  const packageDir = dirname(resolvePackage('onnxruntime-node/package.json'));
  return join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Null when `provider` can be tried here; otherwise why not. A provider that passes this check can
 * still fail at session creation (WebGPU without an adapter, say); the caller records that reason.
 */
export function unavailableReason(provider: ExecutionProvider): string | null {
  const listed = new Set(ort.listSupportedBackends().map((backend) => backend.name));
  switch (provider) {
    case 'cpu':
      return null;
    case 'cuda': {
      if (!listed.has('cuda'))
        return `onnxruntime-node has no CUDA build for ${process.platform}/${process.arch}`;
      const library =
        process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
      if (!existsSync(join(ortBinaryDir(), library)))
        return `the CUDA provider library ${library} is not installed (run npm run setup:cuda on a machine with an NVIDIA GPU)`;
      return null;
    }
    case 'dml':
      return listed.has('dml') ? null : 'DirectML is only available on Windows';
    case 'coreml':
      return listed.has('coreml') ? null : 'Core ML is only available on macOS';
    case 'webgpu':
      if (!listed.has('webgpu'))
        return `onnxruntime-node has no WebGPU build for ${process.platform}/${process.arch}`;
      // NOTE: on Linux, WebGPU (Dawn) runs on Vulkan. Without its loader Dawn can find no adapter, and
      // trying anyway prints Dawn's build-tree paths to the terminal on every load.
      if (process.platform === 'linux' && !hasSharedLibrary('libvulkan.so.1'))
        return 'no GPU adapter found: WebGPU needs a Vulkan driver, and libvulkan.so.1 is not installed';
      return null;
  }
}

/** Folders the Linux dynamic loader searches by default, plus LD_LIBRARY_PATH. */
function librarySearchPath(): string[] {
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir !== '');
  const arch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  return [
    ...fromEnv,
    `/usr/lib/${arch}`,
    `/lib/${arch}`,
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
}

function hasSharedLibrary(name: string): boolean {
  return librarySearchPath().some((dir) => existsSync(join(dir, name)));
}

/**
 * Why creating a session on `provider` failed, in words: onnxruntime's messages start with the
 * source file and function that raised them, which mean nothing to a user.
 */
export function creationFailureReason(provider: ExecutionProvider, message: string): string {
  if (provider === 'webgpu' && /adapter/i.test(message))
    return 'no GPU adapter found (WebGPU found no usable GPU)';
  // "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot
  // open shared object file": the provider is installed, one of the CUDA libraries it needs is not.
  const missing = /(lib[\w+-]+\.so[\w.]*): cannot open shared object file/.exec(message)?.[1];
  if (provider === 'cuda' && missing !== undefined)
    return `the CUDA provider needs ${missing}, which is not installed (install CUDA 12 and cuDNN 9, or put their libraries on LD_LIBRARY_PATH)`;
  if (provider === 'cuda' && /libcu|cudnn|CUDA driver|no CUDA-capable/i.test(message))
    return 'the CUDA libraries or an NVIDIA driver could not be loaded (run npm run setup:cuda; check nvidia-smi)';
  // "/path/file.cc:136 fn(...) condition was false. What went wrong" keeps only what went wrong.
  const words = ortErrorText(message).replace(/^.*? was false\.\s*/, '');
  return words === '' ? 'the provider failed to start' : words;
}

/** The providers onnxruntime-node lists for this platform, as reported to the core. */
export function listedBackends(): string[] {
  return ort.listSupportedBackends().map((backend) => backend.name);
}
