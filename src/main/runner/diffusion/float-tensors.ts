import type { TensorType } from '../../../shared/engine';
import { halfBits, halfToFloat32 } from '../onnx/float16';
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
  if (Number.isNaN(value)) return 0x7e00;
  const f32 = new Float32Array([Math.max(-65504, Math.min(65504, value))]);
  const bits = new Uint32Array(f32.buffer)[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - exponent;
    let half = full >> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}
