import type { ModelTask, TensorInfo, TensorType } from '../../../shared/engine';
import { LodgeError } from '../errors';

/** Triton's DataType enum names for the ONNX element types Lodge reads from a graph. */
const TRITON_TYPES: Readonly<Record<TensorType, string>> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  uint16: 'TYPE_UINT16',
  uint32: 'TYPE_UINT32',
  uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8',
  int16: 'TYPE_INT16',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  float32: 'TYPE_FP32',
  float64: 'TYPE_FP64',
  string: 'TYPE_STRING',
};

/** The largest batch the exported config lets Triton's dynamic batcher build, for a batchable graph. */
export const DEFAULT_MAX_BATCH_SIZE = 8;

/**
 * One input or output of a Triton config: its name, `TYPE_*` data type, and dims (-1: any size).
 * Triton takes no empty dims, so a scalar is written `dims: [ 1 ]` with `reshape: { shape: [ ] }`.
 */
export interface TritonTensor {
  readonly name: string;
  readonly dataType: string;
  readonly dims: readonly number[];
  readonly reshape?: readonly number[];
}

/** Where Triton runs the model's instances. */
export interface InstanceGroup {
  readonly kind: 'KIND_CPU' | 'KIND_GPU';
  readonly count: number;
}

/** The model configuration Lodge writes as config.pbtxt. */
export interface TritonConfig {
  readonly name: string;
  readonly platform: 'onnxruntime_onnx';
  /** 0: Triton does not batch, and dims are the graph's full shapes. */
  readonly maxBatchSize: number;
  readonly inputs: readonly TritonTensor[];
  readonly outputs: readonly TritonTensor[];
  readonly dynamicBatching: boolean;
  readonly instanceGroup: InstanceGroup;
  /** How many of the highest-numbered versions Triton serves. */
  readonly versionsServed: number;
}

/** What the export was asked for, beyond the graph. */
export interface TritonConfigOptions {
  readonly name: string;
  readonly task: ModelTask;
  readonly instanceGroup: InstanceGroup;
  readonly maxBatchSize?: number;
  readonly versionsServed: number;
}

/**
 * The batch dimension Triton may own: every input and output starts with the same symbolic
 * dimension (`batch`, `batch_size`). A fixed first size, an unnamed one, a scalar, or first
 * dims of different names (`n` beside `m`, which a batch would have to make equal) mean no.
 */
export function sharedBatchDim(tensors: readonly TensorInfo[]): string | null {
  const first = tensors[0]?.shape[0];
  if (typeof first !== 'string' || first === '') return null;
  return tensors.every((tensor) => tensor.shape[0] === first) ? first : null;
}

function tritonType(info: TensorInfo): string {
  if (info.type === 'unknown')
    throw new LodgeError(
      'invalid_request',
      `Tensor "${info.name}" has an element type Triton's ONNX backend cannot be told about; it cannot be exported.`,
    );
  return TRITON_TYPES[info.type];
}

function dimsOf(shape: TensorInfo['shape'], dropFirst: boolean): number[] {
  return shape.slice(dropFirst ? 1 : 0).map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
}

/**
 * Triton's configuration for a graph with this signature. A graph whose inputs and outputs share a
 * symbolic first dimension is batchable: `max_batch_size` is set, dims leave that dimension out,
 * and the dynamic batcher is on. A text-generation graph is never batched by Triton: each request
 * carries its own KV cache, whose past length differs between requests, so its full shapes are
 * kept with `max_batch_size: 0` (generation needs a client-side loop or an LLM backend).
 */
export function tritonConfig(
  signature: { readonly inputs: readonly TensorInfo[]; readonly outputs: readonly TensorInfo[] },
  options: TritonConfigOptions,
): TritonConfig {
  const all = [...signature.inputs, ...signature.outputs];
  const batchable = options.task !== 'text-generation' && sharedBatchDim(all) !== null;
  const maxBatchSize = batchable ? (options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE) : 0;
  const tensor = (info: TensorInfo): TritonTensor => {
    const dims = dimsOf(info.shape, maxBatchSize > 0);
    const base = { name: info.name, dataType: tritonType(info) };
    return dims.length === 0 ? { ...base, dims: [1], reshape: [] } : { ...base, dims };
  };
  return {
    name: options.name,
    platform: 'onnxruntime_onnx',
    maxBatchSize,
    inputs: signature.inputs.map(tensor),
    outputs: signature.outputs.map(tensor),
    dynamicBatching: maxBatchSize > 0,
    instanceGroup: options.instanceGroup,
    versionsServed: options.versionsServed,
  };
}

/** A text-format string literal: quotes and backslashes escaped, control characters as octal. */
function quoted(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function tensorBlock(field: 'input' | 'output', tensors: readonly TritonTensor[]): string[] {
  if (tensors.length === 0) return [];
  const blocks = tensors.map((tensor) => {
    const fields = [
      `name: ${quoted(tensor.name)}`,
      `data_type: ${tensor.dataType}`,
      `dims: [ ${tensor.dims.join(', ')} ]`,
      ...(tensor.reshape ? [`reshape: { shape: [ ${tensor.reshape.join(', ')} ] }`] : []),
    ];
    return `  {\n${fields.map((field) => `    ${field}`).join('\n')}\n  }`;
  });
  return [`${field} [\n${blocks.join(',\n')}\n]`];
}

/**
 * config.pbtxt for {@link TritonConfig}: protobuf text format of Triton's `ModelConfig`, after a
 * header of `#` comment lines saying where it came from.
 */
export function formatTritonConfig(config: TritonConfig, header: readonly string[]): string {
  const lines = [
    ...header.map((line) => `# ${line}`),
    `name: ${quoted(config.name)}`,
    `platform: ${quoted(config.platform)}`,
    `max_batch_size: ${config.maxBatchSize}`,
    `version_policy: { latest: { num_versions: ${config.versionsServed} } }`,
    ...tensorBlock('input', config.inputs),
    ...tensorBlock('output', config.outputs),
    ...(config.dynamicBatching ? ['dynamic_batching { }'] : []),
    `instance_group [\n  {\n    kind: ${config.instanceGroup.kind}\n    count: ${config.instanceGroup.count}\n  }\n]`,
    `default_model_filename: "model.onnx"`,
  ];
  return `${lines.join('\n')}\n`;
}
