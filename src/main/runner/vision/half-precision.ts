// Float tensors in the element type a graph declares: fp16 variants take and give raw binary16
// bits (runners run without Float16Array), fp32 ones Float32Array; Lodge computes in float32.
import { halfBits, halfToFloat32 } from '../onnx/float16';
import { tensor, type OrtTensor } from '../onnx/session';
import { RunnerError } from '../runner-error';

/** The float element types a vision-language graph may declare for its features, embeddings and cache. */
export type FloatType = 'float32' | 'float16';

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The binary16 bits of one float32 value, rounded to nearest even; beyond ±65504 it is ±Infinity. */
function halfOf(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0x80 + 15) return mantissa === 0 ? sign | 0x7c00 : 0x7e00;
  if (exponent >= 0x1f) return sign | 0x7c00;
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
  // A carry out of the mantissa rounds into the exponent, up to Infinity: the bit layout allows it.
  let half = (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** `values` as binary16 bits, rounded to nearest even. */
export function float32ToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) out[index] = halfOf(values[index] as number);
  return out;
}

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
