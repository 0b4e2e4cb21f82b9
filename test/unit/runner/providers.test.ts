import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  creationFailureReason,
  ortBinaryDir,
  unavailableReason,
} from '../../../src/main/runner/onnx/providers';

// What onnxruntime-node 1.30 throws when WebGPU finds no adapter: its own source path first.
const NO_ADAPTER =
  '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n';

describe('why a provider was skipped, in words', () => {
  it('says WebGPU found no adapter, without onnxruntime’s source path', () => {
    const reason = creationFailureReason('webgpu', NO_ADAPTER);
    expect(reason).toBe('no GPU adapter found (WebGPU found no usable GPU)');
  });

  it('keeps only what went wrong from any other onnxruntime message', () => {
    const reason = creationFailureReason(
      'dml',
      '/onnxruntime_src/onnxruntime/core/session/inference_session.cc:2212 onnxruntime::InferenceSession::Initialize() status.IsOK() was false. The device was removed.',
    );
    expect(reason).toBe('The device was removed.');
    expect(reason).not.toMatch(/onnxruntime_src|\.cc:/);
  });

  it('names the CUDA library the CUDA provider could not load', () => {
    const reason = creationFailureReason(
      'cuda',
      '/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1862 onnxruntime::TryGetProviderInfo_CUDA() [ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory',
    );
    expect(reason).toBe(
      'the CUDA provider needs libcublasLt.so.12, which is not installed (install CUDA 12 and cuDNN 9, or put their libraries on LD_LIBRARY_PATH)',
    );
  });

  it.runIf(
    !existsSync(join(ortBinaryDir(), 'libonnxruntime_providers_cuda.so')) && process.platform === 'linux',
  )('names the missing CUDA library and the command that installs it', () => {
    expect(unavailableReason('cuda')).toBe(
      'the CUDA provider library libonnxruntime_providers_cuda.so is not installed (run npm run setup:cuda on a machine with an NVIDIA GPU)',
    );
  });

  it.runIf(
    process.platform === 'linux' &&
      !existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1') &&
      !process.env.LD_LIBRARY_PATH,
  )(
    'skips WebGPU without trying it where Linux has no Vulkan loader (Dawn would print its build paths)',
    () => {
      expect(unavailableReason('webgpu')).toBe(
        'no GPU adapter found: WebGPU needs a Vulkan driver, and libvulkan.so.1 is not installed',
      );
    },
  );
});
