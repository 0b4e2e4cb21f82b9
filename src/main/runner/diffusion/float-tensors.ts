import type { TensorType } from '../../../shared/engine';
import { float32ToHalfBits, halfBits, halfToFloat32 } from '../onnx/float16';
import { tensor, type OrtTensor } from '../onnx/session';

/** A float tensor in the element type a graph input declares (float32 or float16). */
export function floatTensor(
  type: TensorType | 'unknown',
  data: Float32Array,
  dims: readonly number[],
): OrtTensor {
  if (type === 'float16') return tensor('float16', Uint16Array.from(data, halfBitsOf), dims);
  return tensor('float32', data, dims);
}

/** A graph's float output (float32 or float16) read as float32. */
export function floatsOf(output: OrtTensor): Float32Array {
  if (output.type === 'float16') return halfToFloat32(halfBits(output.data as ArrayBufferView));
  return output.data as Float32Array;
}

/** The binary16 bits of `value`, rounded to nearest even; beyond ±65504 it saturates. */
export function halfBitsOf(value: number): number {
  return float32ToHalfBits(Math.max(-65504, Math.min(65504, value)));
}
