import { describe, expect, it } from 'vitest';
import type { TensorInfo } from '../../../../src/shared/engine';
import { isLodgeError } from '../../../../src/main/core/errors';
import {
  formatTritonConfig,
  sharedBatchDim,
  tritonConfig,
  type TritonConfigOptions,
} from '../../../../src/main/core/export/triton-config';
import { parseTritonConfig } from '../../../../src/main/core/export/triton-schema';
import { kubernetesName, tritonModelName } from '../../../../src/main/core/export/triton-name';

const options: TritonConfigOptions = {
  name: 'm',
  task: 'tensors',
  instanceGroup: { kind: 'KIND_CPU', count: 1 },
  versionsServed: 1,
};

const tensor = (name: string, type: TensorInfo['type'], shape: (number | string)[]): TensorInfo => ({
  name,
  type,
  shape,
});

describe('Triton config from a graph signature', () => {
  it('batches a graph whose tensors share a symbolic first dim, dims without it', () => {
    const config = tritonConfig(
      {
        inputs: [tensor('input_ids', 'int64', ['batch', 'seq']), tensor('mask', 'int64', ['batch', 'seq'])],
        outputs: [tensor('hidden', 'float32', ['batch', 'seq', 32])],
      },
      { ...options, task: 'embeddings' },
    );
    expect(config.maxBatchSize).toBe(8);
    expect(config.dynamicBatching).toBe(true);
    expect(config.inputs).toEqual([
      { name: 'input_ids', dataType: 'TYPE_INT64', dims: [-1] },
      { name: 'mask', dataType: 'TYPE_INT64', dims: [-1] },
    ]);
    expect(config.outputs).toEqual([{ name: 'hidden', dataType: 'TYPE_FP32', dims: [-1, 32] }]);
    const bounded = tritonConfig(
      { inputs: [tensor('a', 'float32', ['b', 2])], outputs: [] },
      {
        ...options,
        maxBatchSize: 64,
      },
    );
    expect(bounded.maxBatchSize).toBe(64);
  });

  it('does not batch a fixed, unnamed or differently named first dim, and keeps full shapes', () => {
    expect(sharedBatchDim([tensor('a', 'float32', [1, 4])])).toBeNull();
    expect(sharedBatchDim([tensor('a', 'float32', [-1, 4])])).toBeNull();
    expect(sharedBatchDim([tensor('a', 'float32', ['n']), tensor('b', 'float32', ['m'])])).toBeNull();
    expect(sharedBatchDim([tensor('a', 'float32', [])])).toBeNull();
    const config = tritonConfig(
      { inputs: [tensor('x', 'float32', ['batch', 4]), tensor('n', 'int32', [2, 2])], outputs: [] },
      options,
    );
    expect(config.maxBatchSize).toBe(0);
    expect(config.dynamicBatching).toBe(false);
    expect(config.inputs.map((input) => input.dims)).toEqual([
      [-1, 4],
      [2, 2],
    ]);
  });

  it('never batches a text-generation graph, whose requests carry their own KV cache', () => {
    const config = tritonConfig(
      {
        inputs: [
          tensor('input_ids', 'int64', ['batch', 'seq']),
          tensor('past.0.key', 'float32', ['batch', 2, 'past', 16]),
        ],
        outputs: [tensor('logits', 'float32', ['batch', 'seq', 300])],
      },
      { ...options, task: 'text-generation' },
    );
    expect(config.maxBatchSize).toBe(0);
    expect(config.inputs[1]?.dims).toEqual([-1, 2, -1, 16]);
  });

  it('writes a scalar as dims [1] reshaped to []', () => {
    const config = tritonConfig({ inputs: [tensor('s', 'float64', [])], outputs: [] }, options);
    expect(config.inputs).toEqual([{ name: 's', dataType: 'TYPE_FP64', dims: [1], reshape: [] }]);
  });

  it('refuses a tensor of an element type Triton cannot be told about', () => {
    let caught: unknown;
    try {
      tritonConfig({ inputs: [tensor('c', 'unknown', [2])], outputs: [] }, options);
    } catch (error) {
      caught = error;
    }
    expect(isLodgeError(caught) && caught.code).toBe('invalid_request');
  });

  it('formats text that parses against the ModelConfig schema to the same config', () => {
    const config = tritonConfig(
      {
        inputs: [tensor('x "quoted"\\', 'float16', ['batch', 4]), tensor('s', 'string', ['batch'])],
        outputs: [tensor('y', 'bool', ['batch', 4])],
      },
      { ...options, instanceGroup: { kind: 'KIND_GPU', count: 2 } },
    );
    const parsed = parseTritonConfig(formatTritonConfig(config, ['a header line']));
    expect(parsed).toEqual({
      name: 'm',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      version_policy: { latest: { num_versions: 1 } },
      input: [
        { name: 'x "quoted"\\', data_type: 'TYPE_FP16', dims: [4] },
        { name: 's', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } },
      ],
      output: [{ name: 'y', data_type: 'TYPE_BOOL', dims: [4] }],
      dynamic_batching: {},
      instance_group: [{ kind: 'KIND_GPU', count: 2 }],
      default_model_filename: 'model.onnx',
    });
  });
});

describe('export names', () => {
  it('makes a Triton model name of an id', () => {
    expect(tritonModelName('onnx-community/Qwen2.5-0.5B')).toBe('onnx-community_Qwen2_5-0_5B');
    expect(tritonModelName('_x/y')).toBe('x_y');
    expect(tritonModelName('__')).toBe('model');
  });

  it('makes a DNS-1035 label of a model name', () => {
    expect(kubernetesName('onnx-community_Qwen2_5-0_5B')).toBe('onnx-community-qwen2-5-0-5b');
    expect(kubernetesName('0abc')).toBe('abc');
    expect(kubernetesName('a'.repeat(80))).toHaveLength(63);
    expect(kubernetesName('123')).toBe('lodge-model');
  });
});
