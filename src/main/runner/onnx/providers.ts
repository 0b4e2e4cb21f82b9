// Which execution providers this machine can offer, checked before a session is attempted.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../../shared/engine';

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
      if (!existsSync(join(ortBinaryDir(), library))) {
        return 'the CUDA execution provider is not installed (run `npm run setup:cuda` on a machine with an NVIDIA GPU)';
      }
      return null;
    }
    case 'dml':
      return listed.has('dml') ? null : 'DirectML is only available on Windows';
    case 'coreml':
      return listed.has('coreml') ? null : 'Core ML is only available on macOS';
    case 'webgpu':
      return listed.has('webgpu')
        ? null
        : `onnxruntime-node has no WebGPU build for ${process.platform}/${process.arch}`;
  }
}

/** The providers onnxruntime-node lists for this platform, as reported to the core. */
export function listedBackends(): string[] {
  return ort.listSupportedBackends().map((backend) => backend.name);
}
