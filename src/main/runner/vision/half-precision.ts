// Float tensors in the element type a graph declares: fp16 variants take and give raw binary16
// bits (runners run without Float16Array), fp32 ones Float32Array; Lodge computes in float32.
import { float32ToHalf, halfBits, halfToFloat32 } from '../onnx/float16';
import { tensor, type OrtTensor } from '../onnx/session';
import { RunnerError } from '../runner-error';

/** The float element types a vision-language graph may declare for its features, embeddings and cache. */
export type FloatType = 'float32' | 'float16';

/** A tensor of `values` in `type`: as they are for float32, converted to binary16 bits for float16. */
export function floatTensor(type: FloatType, values: Float32Array, dims: readonly number[]): OrtTensor {
  return type === 'float16'
    ? tensor('float16', float32ToHalf(values), dims)
    : tensor('float32', values, dims);
}

/** The values of a float32 or float16 output as float32 (a float32 output's own data, not a copy). */
export function floatValues(output: OrtTensor): Float32Array {
  if (output.type === 'float32') return output.data as Float32Array;
  if (output.type === 'float16') return halfToFloat32(halfBits(output.data as Uint16Array));
  throw new RunnerError('internal', `The graph returned ${output.type} where it declared a float tensor.`);
}

/** The last `count` values of a float32 or float16 output (a logits row), in a fresh Float32Array. */
export function lastValues(output: OrtTensor, count: number): Float32Array {
  if (output.type === 'float16') {
    const bits = halfBits(output.data as Uint16Array);
    return halfToFloat32(bits.subarray(bits.length - count));
  }
  const values = floatValues(output);
  return values.slice(values.length - count);
}
